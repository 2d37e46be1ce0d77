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

# One name per family in the default suite (GoogLeNet for the Inception family: the cheapest, and
# its file's auxiliary heads are skipped); every name under -m slow (the VGGs alone write 0.5 GB
# files each).
_QUICK = {
    "timm/resnet18.tv_in1k",
    "timm/resnext50_32x4d.tv_in1k",
    "timm/densenet121.tv_in1k",
    "torchvision/densenet121",
    "torchvision/googlenet",
}


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

    entry, path = _write_cache(name, tmp_path)
    _, logits, stage, stage_layer = _fixture(name)
    monkeypatch.setenv("KERASNETS_WEIGHTS_DIR", str(tmp_path))
    if entry.file_format == "pth":
        # A local file loads into the architecture the caller builds (options given by hand).
        model = kerasnets.get_model(entry.model, classifier_activation=None, weights=str(path), **entry.options)
    else:
        # The public path: the name finds the cached file and selects the builder options itself
        # (for ResNet-50 the v1.5 stride: with the paper's v1 layout the outputs would differ).
        model = kerasnets.get_model(entry.model, classifier_activation=None, weights=name)
    probe = keras.Model(model.input, [model.output, model.get_layer(stage_layer).output])
    x = synthetic_input(name, (2, 3, entry.input_size, entry.input_size)).transpose(0, 2, 3, 1)
    out, mid = probe.predict(x, verbose=0)
    _close(mid[0, ..., :8], stage, f"{name} {stage_layer}")
    _close(out, logits, f"{name} logits")


def test_every_name_has_a_fixture():
    missing = [n for n in PRETRAINED if not (FIXTURES / "weights" / (n.replace("/", "__") + ".npz")).is_file()]
    assert not missing, f"run tests/fixtures/make_weight_fixtures.py for {missing}"


# ------------------------------------------------------------------ wrong files, clear errors


@pytest.fixture(scope="module")
def resnet18_state():
    keys, *_ = _fixture("timm/resnet18.tv_in1k")
    return synthetic_state(keys, "timm/resnet18.tv_in1k")


@pytest.fixture(scope="module")
def resnet18_model():
    import kerasnets

    return kerasnets.resnet18(classifier_activation=None)


def _save(state, tmp_path, name="w.safetensors"):
    from safetensors.numpy import save_file

    path = tmp_path / name
    save_file(dict(state), str(path))
    return path


def test_timm_inception_v4_unit_order_is_the_builders_layout():
    from kerasnets.models.inception.inception_v4 import CONFIGS
    from kerasnets.pretrained.convert import TIMM_INCEPTION_V4_FEATURES

    assert TIMM_INCEPTION_V4_FEATURES == tuple(name for name, _ in CONFIGS["inception_v4"].layout())


def test_a_file_for_another_model_is_refused_naming_the_layer(resnet18_state, tmp_path):
    import kerasnets
    from kerasnets.pretrained import load_pretrained

    path = _save(resnet18_state, tmp_path)
    with pytest.raises(ValueError, match=r"no tensors for layer `conv2_block3_1_conv`"):  # resnet34 has more blocks
        load_pretrained(kerasnets.resnet34(), path)


def test_a_missing_key_is_named(resnet18_state, resnet18_model, tmp_path):
    from kerasnets.pretrained import load_pretrained

    state = {k: v for k, v in resnet18_state.items() if not k.startswith("layer3.1.bn2.")}
    with pytest.raises(ValueError, match=r"conv4_block2_2_bn"):
        load_pretrained(resnet18_model, _save(state, tmp_path))


def test_a_wrong_shape_is_named_with_both_shapes(resnet18_state, resnet18_model, tmp_path):
    from kerasnets.pretrained import load_pretrained

    state = dict(resnet18_state)
    state["layer2.0.conv1.weight"] = np.zeros((128, 64, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"layer2\.0\.conv1.*\(5, 5, 64, 128\).*\(3, 3, 64, 128\)"):
        load_pretrained(resnet18_model, _save(state, tmp_path))


def test_an_unknown_key_is_named(resnet18_state, resnet18_model, tmp_path):
    from kerasnets.pretrained import load_pretrained

    state = dict(resnet18_state, **{"layer5.0.conv1.weight": np.zeros((8, 8, 3, 3), np.float32)})
    with pytest.raises(ValueError, match=r"layer5\.0\.conv1\.weight"):
        load_pretrained(resnet18_model, _save(state, tmp_path))


def test_a_learned_bn_scale_needs_a_model_with_one():
    import keras

    from kerasnets.pretrained.convert import convert_state_dict

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv1a_conv")(inputs)
    model = keras.Model(inputs, keras.layers.BatchNormalization(scale=False, name="conv1a_bn")(x))
    state = {
        "Conv2d_1a_3x3.conv.weight": np.ones((4, 3, 3, 3), np.float32),
        "Conv2d_1a_3x3.bn.bias": np.zeros(4, np.float32),
        "Conv2d_1a_3x3.bn.running_mean": np.zeros(4, np.float32),
        "Conv2d_1a_3x3.bn.running_var": np.ones(4, np.float32),
    }

    def convert(scale):
        file = dict(state, **{"Conv2d_1a_3x3.bn.weight": np.full(4, scale, np.float32)})
        return convert_state_dict(file, model, layout="inception_v3")

    assert len(convert(1.0)["conv1a_bn"]) == 3  # a scale of ones is exact without it
    with pytest.raises(ValueError, match=r"`Conv2d_1a_3x3\.bn\.weight` is a learned batch-norm scale.*bn_scale=True"):
        convert(0.5)


def test_non_finite_values_are_refused(resnet18_state, resnet18_model, tmp_path):
    from kerasnets.pretrained import load_pretrained

    state = dict(resnet18_state)
    bad = state["fc.weight"].copy()
    bad[0, 0] = np.nan
    state["fc.weight"] = bad
    with pytest.raises(ValueError, match=r"non-finite.*predictions"):
        load_pretrained(resnet18_model, _save(state, tmp_path))


def test_a_truncated_file_is_reported(resnet18_state, resnet18_model, tmp_path):
    from kerasnets.pretrained import load_pretrained

    path = _save(resnet18_state, tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"Could not read the safetensors file"):
        load_pretrained(resnet18_model, path)


def test_keys_of_no_known_layout_are_shown(resnet18_model, tmp_path):
    from kerasnets.pretrained import load_pretrained

    path = _save({"encoder.weight": np.zeros((2, 2), np.float32)}, tmp_path)
    with pytest.raises(ValueError, match=r"no layout.*'encoder\.weight'"):
        load_pretrained(resnet18_model, path)


def test_a_pth_file_without_pytorch_says_what_to_install(resnet18_model, tmp_path):
    pytest.importorskip("numpy")
    try:
        import torch  # noqa: F401

        pytest.skip("PyTorch is installed here: the message is for machines without it")
    except ImportError:
        pass
    from kerasnets.pretrained import load_pretrained

    path = tmp_path / "resnet18-f37072fd.pth"
    path.write_bytes(b"not really")
    with pytest.raises(ValueError, match=r"needs PyTorch.*pip install torch"):
        load_pretrained(resnet18_model, path)


def test_offline_the_message_says_what_to_download_and_where(resnet18_model, tmp_path, monkeypatch):
    import keras

    from kerasnets.pretrained import load_pretrained

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    expected = str(tmp_path / "timm" / "resnet18.tv_in1k" / "model.safetensors")
    with pytest.raises(ValueError, match=r"huggingface\.co/timm/resnet18\.tv_in1k/resolve/main/model\.safetensors") as info:
        load_pretrained(resnet18_model, "timm/resnet18.tv_in1k", cache_dir=tmp_path)
    assert expected in str(info.value)


def test_an_unknown_name_suggests_close_ones():
    from kerasnets.pretrained import get_pretrained

    with pytest.raises(ValueError, match=r"timm/resnet50\.tv_in1k"):
        get_pretrained("timm/resnet50.tv_in1")


def test_a_name_for_another_model_or_option_is_refused():
    from kerasnets.pretrained import builder_options

    with pytest.raises(ValueError, match=r"for `resnet50`, not `resnet34`"):
        builder_options("resnet34", "timm/resnet50.tv_in1k", {})
    with pytest.raises(ValueError, match=r"downsample_in_3x3=True.*Received: downsample_in_3x3=False"):
        builder_options("resnet50", "timm/resnet50.tv_in1k", {"downsample_in_3x3": False})
    assert builder_options("resnet50", "timm/resnet50.tv_in1k", {}) == {"downsample_in_3x3": True}


def test_decode_predictions_uses_the_shipped_class_names():
    from kerasnets.pretrained.imagenet import decode_predictions, imagenet_class_names

    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[999] == "toilet tissue"
    preds = np.zeros((2, 1000), np.float32)
    preds[0, 281], preds[0, 285] = 0.7, 0.2
    preds[1, 1] = 1.0
    top = decode_predictions(preds, top=2)
    assert top[0] == [(281, "tabby", pytest.approx(0.7)), (285, "Egyptian cat", pytest.approx(0.2))]
    assert top[1][0][:2] == (1, "goldfish")
    for bad in (0, 1001, 2.5, True):
        with pytest.raises(ValueError, match=r"top"):
            decode_predictions(preds, top=bad)
    with pytest.raises(ValueError, match=r"\(batch, 1000\).*\(1000,\)"):
        decode_predictions(preds[0])
