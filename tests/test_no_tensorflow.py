"""kerasnets works under KERAS_BACKEND=jax in a Python where TensorFlow cannot be imported.

The GPU machine (docs/gpu.md) has JAX but no TensorFlow. These tests reproduce that here: a
subprocess (tests/jax_backend_check.py --block-tensorflow) puts a meta-path finder first on
``sys.meta_path`` that raises ``ImportError`` for ``tensorflow`` and its sub-packages, then imports
kerasnets and, per registered family (the smallest variant at a small size,
tests/family_models.py), builds the model, counts it with ``kerasnets.summary`` and trains it a few
steps with ``jit_compile=True`` (XLA: the project's GPU path). Models deeper than
``MAX_FIT_LAYERS`` layers (DenseNet-BC-100: its XLA compile takes minutes on the 2-core CI box)
run forward here and train in tests/test_jax_backend.py's ``slow`` test. The same process trains
ResNet-20 with the ``resnet_cifar`` recipe (optimiser, schedule, loss and augmentation of
``kerasnets.training``), reads an image folder with ``kerasnets.data``, and checks that the
TensorFlow-only features fail with the clear ``TensorFlowRequiredError``; ``tensorflow`` must
still be absent from ``sys.modules`` at the end. A second test runs ``bench/gpu_suite.py --smoke``
the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kerasnets
from family_models import CLASSES

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
STEPS = 4
MAX_FIT_LAYERS = 150
ENV = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _make_image_folder(root):
    from PIL import Image

    for k, name in enumerate(["cat", "dog"]):
        (root / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((8, 8, 3), 40 * k + i, np.uint8)).save(root / name / f"{i}.png")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no_tf")
    _make_image_folder(tmp / "images")
    out = tmp / "report.json"
    cmd = [sys.executable, os.path.join(HERE, "jax_backend_check.py"), str(out), "--block-tensorflow",
           "--steps", str(STEPS), "--max-fit-layers", str(MAX_FIT_LAYERS), "--library", str(tmp / "images")]
    # The timeout only guards against a hang: the run needs ~3-5 CPU-minutes (XLA compiles), far
    # more wall time when the machine is shared.
    proc = subprocess.run(cmd, env=dict(os.environ, **ENV), capture_output=True, text=True, timeout=3600,
                          cwd=str(tmp))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


def test_tensorflow_is_blocked_and_never_imported(report):
    assert report["tensorflow_blocked"] is True
    assert "blocked" in report["tensorflow_import"]
    assert report["backend"] == "jax"
    assert report["tensorflow_modules_loaded"] == []
    assert sorted(e["family"] for e in report["families"]) == kerasnets.list_families()


@pytest.mark.parametrize("family", kerasnets.list_families())
def test_family_builds_counts_and_trains_without_tensorflow(report, family):
    entry = next(e for e in report["families"] if e["family"] == family)
    assert "error" not in entry, entry["error"]
    assert entry["params"] == entry["keras_params"] > 0
    assert entry["macs"] > 0
    assert entry["forward_shape"] == [8, CLASSES]
    np.testing.assert_allclose(entry["forward_row_sums"], 1.0, atol=1e-5)
    if entry["layers"] > MAX_FIT_LAYERS:
        assert "loss" not in entry  # trained in test_jax_backend.py::test_deep_families_train_with_xla (slow)
        return
    losses = np.array(entry["loss"])
    assert entry["jit_compile"] is True
    assert len(losses) == STEPS and np.isfinite(losses).all()
    # Dropout makes single-batch losses noisy (GoogLeNet, NiN): the loss must fall below its
    # starting value within the steps, not at every step.
    assert losses[1:].min() < losses[0], f"{entry['model']}: loss did not decrease: {losses}"


def test_training_data_and_distribute_without_tensorflow(report):
    lib = report["library"]
    assert "error" not in lib, lib["error"]
    assert lib["recipe"]["optimizer"] == "MomentumSGD" and lib["recipe"]["iterations"] == 3
    assert np.isfinite(lib["recipe"]["loss"]).all()
    assert lib["augment"] == {"shape": [4, 32, 32, 3], "changed": True}
    assert lib["image_folder"] == {"shape": [4, 8, 8, 3], "labels": [0, 0, 1, 1], "names": ["cat", "dog"]}
    assert lib["default_strategy"] == ["NoDistribution", 1, True, True]
    assert "Received: backend='jax'" in lib["mirrored"]
    assert lib["require_tensorflow"].startswith("SavedModel export needs TensorFlow")
    assert "pip install tensorflow" in lib["require_tensorflow"]


def test_gpu_suite_smoke_runs_without_tensorflow(tmp_path):
    """bench/gpu_suite.py --smoke: every part's code path under JAX with TensorFlow blocked."""
    out = tmp_path / "suite.json"
    cifar = os.path.join(os.path.dirname(REPO), "shared", "data", "cifar10", "cifar10-jpeg.tar.gz")
    args = ["--smoke", "--json", str(out)]
    if not os.path.exists(cifar):  # a generated two-split archive stands in for CIFAR-10
        cifar = str(_make_split_archive(tmp_path))
    args += ["--cifar", cifar]
    env = dict(os.environ, **ENV, PYTHONPATH=REPO)
    env.pop("OUT", None)
    suite = os.path.join(REPO, "bench", "gpu_suite.py")
    runner = (
        "import runpy, sys\n"
        f"sys.path.insert(0, {HERE!r})\n"
        "from jax_backend_check import BlockTensorFlow\n"
        "BlockTensorFlow.install()\n"
        f"sys.argv = [{suite!r}, *{args!r}]\n"
        f"runpy.run_path({suite!r}, run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", runner], env=env, capture_output=True, text=True, timeout=1800,
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True and report["device"]["backend"] == "jax"
    assert report["device"]["tensorflow_loaded"] is False
    assert report["matmul"]["flops_per_second"] > 0
    rows = report["throughput"]["rows"]
    assert {(r["source"], r["dtype"]) for r in rows} == {
        (s, d) for s in ("kerasnets", "keras.applications") for d in ("mixed_bfloat16", "float32")}
    for row in rows:
        assert row["images_per_second"] > 0 and row["finite"], row
        assert 0 < row["ceiling_share"] and row["macs_per_image"] > 0, row
    assert all("ratio_to_keras_applications" in r for r in rows if r["source"] == "kerasnets")
    cifar_part = report["cifar"]
    assert 0 <= cifar_part["test_accuracy"] <= 1 and cifar_part["compressed"] is True
    assert cifar_part["iterations_done"] >= 1 and cifar_part["optimizer"] == "MomentumSGD"
    assert cifar_part["augmentation"] == ["pad_random_crop", "random_flip"]
    fashion = report["fashion"]
    # Until the MNIST app has a TensorFlow-free pipeline the part says why it was skipped.
    assert "reached" in fashion or "TensorFlow" in fashion.get("skipped", "") or "not found" in fashion.get("skipped", "")
    table = proc.stdout.strip().splitlines()
    assert table[0].startswith("gpu_suite on ") and "SMOKE" in table[0]
    assert any(line.startswith("ResNet-20 CIFAR-10: ") for line in table)


def _make_split_archive(tmp_path):
    import tarfile

    from PIL import Image
    import numpy as np

    root = tmp_path / "cifar_like"
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (root / split / name).mkdir(parents=True)
            for i in range(8):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / split / name / f"{i}.png")
    archive = tmp_path / "cifar_like.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname=".")
    return archive


def test_require_tensorflow_names_the_feature(monkeypatch):
    from kerasnets import _tf

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now raises ImportError
    with pytest.raises(_tf.TensorFlowRequiredError, match=r"^SavedModel export needs TensorFlow.*pip install tensorflow.*or use X\."):
        _tf.require_tensorflow("SavedModel export", alternative="use X")
    assert _tf.tensorflow_available() is False
    with pytest.raises(TypeError, match="Received: feature=''"):
        _tf.require_tensorflow("")
