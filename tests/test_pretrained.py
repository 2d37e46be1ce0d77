"""Published torchvision/timm weights load exactly: checked without PyTorch and without a download.

``tests/fixtures/make_weight_fixtures.py`` ran each source model (torchvision or timm) with
deterministic synthetic weights and stored its logits and one intermediate stage. Here the same
synthetic weights are regenerated with NumPy, written as the ``.safetensors`` file a download
would have put in the cache, loaded through the public ``weights=`` path, and the kerasnets
outputs are compared with the source model's.
"""

import json
import pathlib
import sys

import numpy as np
import pytest

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(FIXTURES))

from synthetic_weights import synthetic_input, synthetic_state  # noqa: E402

from kerasnets.pretrained import PRETRAINED, cached_path  # noqa: E402

# One name per family in the default suite; every name under -m slow (the VGGs alone write
# 0.5 GB files each).
_QUICK = {"timm/resnet18.tv_in1k", "timm/resnext50_32x4d.tv_in1k", "timm/densenet121.tv_in1k", "torchvision/densenet121"}


def _fixture(name):
    path = FIXTURES / "weights" / (name.replace("/", "__") + ".npz")
    if not path.is_file():
        pytest.fail(f"no fixture for {name}: run tests/fixtures/make_weight_fixtures.py (see its docstring)")
    data = np.load(path)
    return (
        json.loads(str(data["keys"])),
        data["logits"],
        data["stage"],
        str(data["stage_layer"]),
    )


def _write_cache(name, tmp_path):
    from safetensors.numpy import save_file

    entry = PRETRAINED[name]
    keys, *_ = _fixture(name)
    state = synthetic_state(keys, name)
    path = pathlib.Path(cached_path(entry, tmp_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    if entry.file_format == "pth":
        path = path.with_suffix(".safetensors")  # the key layout is what is under test; no torch here
    save_file(state, str(path))
    return entry, path


def _close(actual, expected, what):
    scale = float(np.abs(expected).max())
    err = float(np.abs(actual - expected).max())
    assert err <= 1e-4 * max(scale, 1e-6), f"{what}: max |diff| {err:.3g} vs scale {scale:.3g}"


def _params(names):
    return [pytest.param(n, marks=() if n in _QUICK else pytest.mark.slow) for n in names]


@pytest.mark.parametrize("name", _params(sorted(PRETRAINED)))
def test_published_weights_give_the_source_models_outputs(name, tmp_path, monkeypatch):
    import keras

    import kerasnets
    from kerasnets.pretrained import load_pretrained

    entry, path = _write_cache(name, tmp_path)
    _, logits, stage, stage_layer = _fixture(name)
    model = kerasnets.get_model(entry.model, classifier_activation=None, **entry.options)
    if entry.file_format == "pth":
        load_pretrained(model, path)
    else:
        load_pretrained(model, name, cache_dir=tmp_path)
    probe = keras.Model(model.input, [model.output, model.get_layer(stage_layer).output])
    x = synthetic_input(name, (2, 3, entry.input_size, entry.input_size)).transpose(0, 2, 3, 1)
    out, mid = probe.predict(x, verbose=0)
    _close(mid[0, ..., :8], stage, f"{name} {stage_layer}")
    _close(out, logits, f"{name} logits")


def test_every_name_has_a_fixture():
    missing = [n for n in PRETRAINED if not (FIXTURES / "weights" / (n.replace("/", "__") + ".npz")).is_file()]
    assert not missing, f"run tests/fixtures/make_weight_fixtures.py for {missing}"
