"""The JAX backend (the project's GPU path): the MNIST app trains under it; deep families train with XLA.

Every family is built, counted and trained with ``jit_compile=True`` under ``KERAS_BACKEND=jax``
with TensorFlow blocked in tests/test_no_tensorflow.py. Here, in subprocesses
(tests/jax_backend_check.py) because the Keras backend is fixed at import: the MNIST app's public
``train`` function runs a short epoch under JAX (TensorFlow importable: the app's input pipeline
still uses ``tf.data`` where it is installed), and the ``slow`` test trains every family with XLA,
the deep ones included (DenseNet-BC-100: its XLA compile of the train step takes minutes on the
2-core CI box), with TensorFlow blocked.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
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
    # The timeout only guards against a hang: the runs need a few CPU-minutes, far more wall
    # time when the machine is shared.
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """One JAX process for the quick checks: the MNIST app's short epoch and the augmentation stacks."""
    tmp_path = tmp_path_factory.mktemp("jax_quick")
    extra = ["--mnist-app", str(tmp_path / "mnist_run")] if _app_train_available() else []
    return _run(tmp_path, "--no-families", "--augmentations", *extra)


def _check_training(entry):
    assert "error" not in entry, entry["error"]
    losses = np.array(entry["loss"])
    assert entry["jit_compile"] is True
    assert len(losses) == STEPS and np.isfinite(losses).all()
    # Dropout makes single-batch losses noisy (GoogLeNet, NiN): the loss must fall below its
    # starting value within the steps, not at every step.
    assert losses[1:].min() < losses[0], f"{entry['model']}: loss did not decrease: {losses}"


def test_mnist_app_trains_under_jax(quick_report):
    if not _app_train_available():
        pytest.skip("apps.mnist.train is not present in this checkout")
    report = quick_report
    assert report["backend"] == "jax"
    app = report["mnist_app"]
    if "skipped" in app:
        pytest.skip(app["skipped"])
    assert "error" not in app, app["error"]
    assert app["jit_compile"] is True
    assert np.isfinite(app["loss"]).all() and 0.0 <= app["test_accuracy"] <= 1.0


@pytest.mark.parametrize("stack", ["alexnet", "vgg", "cifar"])
def test_paper_augmentation_fits_in_front_of_a_model_under_jax(quick_report, stack):
    # The crop keeps its output size at inference, which the JAX trainer traces while building.
    entry = quick_report["augmentations"][stack]
    assert "error" not in entry, entry["error"]
    assert np.isfinite(entry["loss"]).all() and entry["predict_shape"] == [4, 10]


@pytest.mark.slow
def test_deep_families_train_with_xla(tmp_path):
    report = _run(tmp_path, "--block-tensorflow")
    assert report["tensorflow_modules_loaded"] == []
    for entry in report["families"]:
        _check_training(entry)
