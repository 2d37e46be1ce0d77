"""The MNIST app under ``KERAS_BACKEND=jax`` in a process where TensorFlow cannot be imported (issue 17)."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Runs `python -m apps.mnist ARGS` with every `import tensorflow...` failing, as on a machine without it.
_NO_TF = """
import importlib.abc, runpy, sys
class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("No module named 'tensorflow' (blocked by the test)")
sys.meta_path.insert(0, _NoTensorFlow())
sys.argv = ["apps.mnist", *sys.argv[1:]]
runpy.run_module("apps.mnist", run_name="__main__", alter_sys=True)
"""


def _run(*args):
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", _NO_TF, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_train_and_evaluate_under_jax_without_tensorflow(tmp_path):
    run_dir = str(tmp_path / "run")
    trained = _run("train", "--run-dir", run_dir, "--train-limit", "256", "--test-limit", "100", "--batch-size", "64",
                   "--epochs", "2", "--checkpoint-every", "2", "--no-tensorboard")
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith("test accuracy ") and "epoch 2/2" in trained.stderr
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["backend"] == "jax" and metrics["pipeline"] == "numpy" and metrics["strategy"] == "_NoStrategy"
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    evaluated = _run("evaluate", "--run-dir", run_dir, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert result["test_examples"] == 100 and abs(result["accuracy"] - metrics["test_accuracy"]) < 1e-6
    refused = _run("train", "--run-dir", str(tmp_path / "other"), "--strategy", "mirrored", "--train-limit", "64",
                   "--batch-size", "32", "--epochs", "1")
    assert refused.returncode == 2 and "needs the TensorFlow backend" in refused.stderr
    assert "Traceback" not in refused.stderr
