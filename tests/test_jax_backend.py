"""Every family trains under KERAS_BACKEND=jax with jit_compile=True (the project's GPU path).

The checks run in a subprocess (tests/jax_backend_check.py) because the Keras backend is
fixed at import. Per family (the smallest variant, tests/family_models.py): build, one
forward pass, and a few ``fit`` steps on one batch with XLA; the loss must be finite and
fall below its starting value. Models deeper than ``MAX_FIT_LAYERS`` layers (DenseNet-BC-100 today: its
XLA compile of the train step takes minutes on the 2-core CI box) are built and run forward
in the default suite and trained in the ``slow`` test. The MNIST app's public ``train``
function is also run for a short epoch under JAX when the app is present.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kerasnets
from family_models import CLASSES

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_FIT_LAYERS = 150
STEPS = 4


def _app_train_available():
    try:
        import apps.mnist.train  # noqa: F401
    except ImportError:
        return False
    return True


def _run(tmp_path, *extra):
    out = tmp_path / "jax_report.json"
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu")
    cmd = [sys.executable, os.path.join(HERE, "jax_backend_check.py"), str(out), "--steps", str(STEPS), *extra]
    # The timeout only guards against a hang: the run needs ~2-3 CPU-minutes, far more wall
    # time when the machine is shared.
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jax")
    extra = ["--max-fit-layers", str(MAX_FIT_LAYERS)]
    if _app_train_available():
        extra += ["--mnist-app", str(tmp / "mnist_run")]
    return _run(tmp, *extra)


def _check_training(entry):
    assert "error" not in entry, entry["error"]
    losses = np.array(entry["loss"])
    assert entry["jit_compile"] is True
    assert len(losses) == STEPS and np.isfinite(losses).all()
    # Dropout makes single-batch losses noisy (GoogLeNet, NiN): the loss must fall below its
    # starting value within the steps, not at every step.
    assert losses[1:].min() < losses[0], f"{entry['model']}: loss did not decrease: {losses}"


def test_runs_on_the_jax_backend(report):
    assert report["backend"] == "jax"
    assert sorted(e["family"] for e in report["families"]) == kerasnets.list_families()


@pytest.mark.parametrize("family", kerasnets.list_families())
def test_family_builds_and_trains_with_xla(report, family):
    entry = next(e for e in report["families"] if e["family"] == family)
    assert "error" not in entry, entry["error"]
    assert entry["forward_shape"] == [8, CLASSES]
    np.testing.assert_allclose(entry["forward_row_sums"], 1.0, atol=1e-5)
    if entry["layers"] > MAX_FIT_LAYERS:
        assert "loss" not in entry  # trained in test_deep_families_train_with_xla (slow)
        return
    _check_training(entry)


def test_mnist_app_trains_under_jax(report):
    if "mnist_app" not in report:
        pytest.skip("apps.mnist.train is not present in this checkout")
    app = report["mnist_app"]
    if "skipped" in app:
        pytest.skip(app["skipped"])
    assert "error" not in app, app["error"]
    assert app["jit_compile"] is True
    assert np.isfinite(app["loss"]).all() and 0.0 <= app["test_accuracy"] <= 1.0


@pytest.mark.slow
def test_deep_families_train_with_xla(tmp_path):
    report = _run(tmp_path)
    for entry in report["families"]:
        _check_training(entry)
