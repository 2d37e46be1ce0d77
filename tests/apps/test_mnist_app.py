"""apps.mnist: model wrapper, resumable stream, seeded/resumable training, CLI, evaluate, predict, export.

All runs are tiny (a few hundred mnist-5k digits, 1-2 epochs of 4 steps): they check behaviour,
not accuracy (the accuracy targets are in bench/mnist_bench.py and docs/benchmarks.md).
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from apps.mnist import cli, pipeline
from apps.mnist.model import build_classifier, input_size_for
from apps.mnist.train import TrainConfig, get_strategy, read_history, train
from kerasnets.data import load_dataset, write_idx
from kerasnets.data import mnist as mnist_module

TINY = dict(dataset="mnist-5k", train_limit=256, test_limit=100, batch_size=64, epochs=2, checkpoint_every=1,
            tensorboard=False, verbose=0, learning_rate=3e-3)


def test_classifier_pads_normalises_and_uses_the_registry():
    model = build_classifier("lenet5", mean=0.1, std=0.3, model_kwargs={"form": "modern"})
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["images", "pad_input", "normalize"] and "c1" in names and names[-1] == "predictions"
    assert model.get_layer("c1").input.shape[1:] == (32, 32, 1)  # LeNet-5's 32x32 field
    assert input_size_for("resnet20") == input_size_for("densenet_bc_100") == 32  # CIFAR nets: no resizing
    x = np.zeros((1, 28, 28, 1), np.float32)
    np.testing.assert_allclose(model.get_layer("normalize")(x).numpy().min(), -0.1 / 0.3, rtol=1e-5)


def test_mixed_precision_classifier_outputs_float32():
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_classifier("lenet5", float32_output=True)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.get_layer("c1").compute_dtype == "float16"
    assert model.layers[-1].name == "probabilities" and model.output.dtype == "float32"
    out = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert out.dtype == np.float32 and np.allclose(out.sum(axis=1), 1.0, atol=1e-3)


def test_too_large_model_is_refused():
    with pytest.raises(ValueError, match=r"at most 64x64 pixels; alexnet needs .* Received: model='alexnet'"):
        build_classifier("alexnet")


def test_stream_is_a_function_of_seed_and_step():
    data = load_dataset("mnist-5k")
    x, y = data.x_train[:300], data.y_train[:300]
    aug = pipeline.AugmentConfig(rotation=10, scale=0.1, shift=2)
    full = list(pipeline.train_stream(x, y, batch_size=64, epochs=2, seed=3, augment=aug))
    assert len(full) == 2 * (300 // 64)
    tail = list(pipeline.train_stream(x, y, batch_size=64, epochs=2, seed=3, augment=aug, start_step=5))
    assert len(tail) == len(full) - 5
    for (a_img, a_lab), (b_img, b_lab) in zip(full[5:], tail):
        np.testing.assert_array_equal(a_img.numpy(), b_img.numpy())
        np.testing.assert_array_equal(a_lab.numpy(), b_lab.numpy())
    images, labels = full[0]
    assert images.shape == (64, 28, 28, 1) and labels.shape == (64, 10)
    np.testing.assert_allclose(labels.numpy().sum(axis=1), 1.0)
    plain = list(pipeline.train_stream(x, y, batch_size=64, epochs=1, seed=3))[0][0].numpy()
    assert not np.array_equal(plain, images.numpy())  # augmentation changed the pixels
    assert abs(plain.mean() - images.numpy().mean()) < 8  # ... but only slightly (light augmentation)
    other_seed = list(pipeline.train_stream(x, y, batch_size=64, epochs=1, seed=4))[0][1].numpy()
    assert not np.array_equal(other_seed, labels.numpy())


class _Interrupt(Exception):
    pass


class _RaiseAt(__import__("keras").callbacks.Callback):
    """Simulates a crash mid-epoch: raises after batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise _Interrupt(f"simulated crash at epoch {self.epoch} batch {batch}")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("mnist_ref"))
    return train(TrainConfig(run_dir=run_dir, **TINY))


def test_same_seed_same_metrics_also_under_a_strategy_scope(reference_run, tmp_path):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():  # train() picks up the surrounding strategy
        again = train(TrainConfig(run_dir=str(tmp_path / "again"), **TINY))
    metrics = json.load(open(tmp_path / "again" / "metrics.json"))
    assert metrics["strategy"] == "MirroredStrategy" and metrics["replicas"] == 1
    assert again.history == reference_run.history
    assert again.test_accuracy == reference_run.test_accuracy
    for a, b in zip(again.model.get_weights(), reference_run.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(reference_run.history) == 2 and reference_run.history[1]["val_accuracy"] is not None


def test_interrupted_run_resumes_and_loses_nothing(reference_run, tmp_path):
    run_dir = str(tmp_path / "interrupted")
    with pytest.raises(_Interrupt):
        train(TrainConfig(run_dir=run_dir, **TINY), callbacks=[_RaiseAt(epoch=1, batch=1)])
    latest = os.path.join(run_dir, "backup", "latest.weights.h5")
    assert os.path.isfile(latest) and not os.path.exists(os.path.join(run_dir, "model.keras"))
    # A kill during a save leaves a truncated file: the previous checkpoint is used instead.
    data = open(latest, "rb").read()
    open(latest, "wb").write(data[: len(data) // 3])
    truncated = open(latest, "rb").read()
    restore_seen = {}

    class _SeeBackup(__import__("keras").callbacks.Callback):
        def on_train_begin(self, logs=None):  # after the restore: the unreadable file is left as it was
            restore_seen["latest"] = open(latest, "rb").read()
            restore_seen["files"] = sorted(os.listdir(os.path.dirname(latest)))

    with pytest.warns(UserWarning, match="unreadable"):
        resumed = train(TrainConfig(run_dir=run_dir, **{**TINY, "tensorboard": True}), callbacks=[_SeeBackup()])
    assert restore_seen["latest"] == truncated and restore_seen["files"] == ["latest.weights.h5", "prev.weights.h5"]
    assert not os.path.exists(latest + ".bkp")
    assert os.listdir(os.path.join(run_dir, "logs", "train"))  # TensorBoard event files
    # 4 steps per epoch; the last good save (the one before the crash at step 6) is step 5:
    # epoch 1 is finished from its 2nd batch, and nothing is lost or repeated.
    assert resumed.resumed_from_step == 5
    for a, b in zip(resumed.model.get_weights(), reference_run.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert resumed.test_accuracy == pytest.approx(reference_run.test_accuracy, abs=0.011)
    assert [int(h["epoch"]) for h in read_history(run_dir)] == [0, 1]
    assert not os.path.exists(os.path.join(run_dir, "backup"))  # cleared after success
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["resumed_from_step"] == 5 and metrics["total_steps"] == 8


def test_steps_per_execution_changes_nothing_and_resumes_across_a_change(reference_run, tmp_path):
    # checkpoint_every=2: two steps per Keras execution (the reference runs one); the crash after the
    # execution that ends at batch 1 of epoch 1 leaves the checkpoint of step 6. The resumed run,
    # with checkpoint_every=4, runs the epoch's last two steps as one execution.
    run_dir = str(tmp_path / "per_execution")
    with pytest.raises(_Interrupt):
        train(TrainConfig(run_dir=run_dir, **{**TINY, "checkpoint_every": 2}), callbacks=[_RaiseAt(epoch=1, batch=1)])
    resumed = train(TrainConfig(run_dir=run_dir, **{**TINY, "checkpoint_every": 4}))
    assert resumed.resumed_from_step == 6 and resumed.model.steps_per_execution == 2
    for a, b in zip(resumed.model.get_weights(), reference_run.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert resumed.history[0] == reference_run.history[0]  # the epoch trained in executions of two steps


def test_strategies():
    assert type(get_strategy("default")).__name__ == "_DefaultDistributionStrategy"
    with pytest.raises(ValueError, match="`strategy` must be one of 'default', 'mirrored', 'multiworker'"):
        get_strategy("tpu")


@pytest.mark.parametrize(
    "field, value, pattern",
    [("jit_compile", "maybe", "`jit_compile` must be one of 'auto', 'on', 'off'"),
     ("epochs", 0, r"`epochs` must be an integer >= 1. Received: epochs=0"),
     ("label_smoothing", 1.5, r"`label_smoothing` must be a number in \[0, 1\)"),
     ("seed", -1, r"`seed` must be an integer >= 0")],
)
def test_config_validation(field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        TrainConfig(**{field: value}).resolved()


def test_cli_evaluate_predict_export(reference_run, tmp_path, capsys):
    run_dir = reference_run.run_dir
    assert cli.main(["evaluate", "--run-dir", run_dir, "--out-dir", str(tmp_path / "ev"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_examples"] == 100
    assert result["accuracy"] == pytest.approx(reference_run.test_accuracy, abs=1e-6)
    assert sum(map(sum, result["confusion_matrix"])) == 100
    assert set(result["per_class_accuracy"]) == {str(i) for i in range(10)}
    for name in ("learning_curves.png", "confusion_matrix.png", "misclassified.png"):
        assert (tmp_path / "ev" / name).stat().st_size > 5000

    data = load_dataset("mnist-5k")
    images, labels = data.x_test[:8], data.y_test[:8]
    idx_images = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    idx_labels = write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    from PIL import Image

    Image.fromarray(255 - images[0]).save(tmp_path / "dark_on_light.png")  # as a photo of ink on paper
    assert cli.main(["predict", "--run-dir", run_dir, str(tmp_path / "dark_on_light.png"), idx_images,
                     "--output", str(tmp_path / "p.csv"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 9 and rows[1]["source"] == idx_images and rows[1]["index"] == 0
    probs = reference_run.model.predict(images[..., None].astype("float32"), verbose=0)
    assert [r["label"] for r in rows[1:]] == probs.argmax(1).tolist()
    assert rows[0]["label"] == rows[1]["label"]  # the inverted PNG is read back as the same digit
    assert len(open(tmp_path / "p.csv").read().splitlines()) == 10
    assert cli.main(["predict", "--run-dir", run_dir, idx_images, "--labels", idx_labels]) == 0
    assert "accuracy against" in capsys.readouterr().out

    path = cli.export_run(run_dir, str(tmp_path / "serving"), version=3)
    assert path == str(tmp_path / "serving" / "3")
    loaded = tf.saved_model.load(path)
    out = loaded.signatures["serving_default"](images=tf.constant(images[..., None]))
    assert out["probabilities"].dtype == tf.float32 and out["probabilities"].shape == (8, 10)
    np.testing.assert_allclose(out["probabilities"].numpy(), probs, atol=1e-5)


def test_cli_offline_without_data_is_a_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(mnist_module, "SYSTEM_DIRS", {"mnist": (str(tmp_path / "no"),),
                                                       "fashion_mnist": (str(tmp_path / "no"),)})
    code = cli.main(["train", "--dataset", "fashion_mnist", "--no-download", "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("python -m apps.mnist: error: Dataset 'fashion_mnist' was not found")
    assert "apt-get install dataset-fashion-mnist" in err and "--data-dir" in err and "Traceback" not in err
    assert cli.main(["predict", "--run-dir", str(tmp_path / "absent"), "x.png"]) == 2
    assert "model.keras" in capsys.readouterr().err


def test_help_lists_every_command_and_flag(capsys):
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--jit-compile", "--strategy", "--label-smoothing", "--precision", "--checkpoint-every",
                 "--data-dir", "--seed", "--model"):
        assert flag in text
    flat = " ".join(text.split())
    assert "(default: None)" not in flat and "(default: mnist-5k) (default: mnist-5k)" not in flat
    assert "global batch size (default: 64 mnist-5k, 128 otherwise)" in flat  # defaults that mean something are still shown
    assert "--overwrite" in text and "--pipeline" in text and "exit status" in text


def test_tf_data_and_numpy_pipelines_give_the_same_batches_and_the_same_training(tmp_path):
    data = load_dataset("mnist-5k")
    x, y = data.x_train[:200], data.y_train[:200]
    aug = pipeline.AugmentConfig(rotation=10, scale=0.1, shift=2, hflip=True)
    kw = dict(batch_size=32, epochs=2, seed=5, augment=aug, start_step=3)
    tf_batches = list(pipeline.train_stream(x, y, pipeline="tf", **kw))
    np_batches = list(pipeline.train_stream(x, y, pipeline="numpy", **kw))
    assert len(tf_batches) == len(np_batches) == 2 * (200 // 32) - 3
    for (a_img, a_lab), (b_img, b_lab) in zip(tf_batches, np_batches):
        np.testing.assert_allclose(a_img.numpy(), b_img, atol=1e-3)
        np.testing.assert_array_equal(a_lab.numpy(), b_lab)
    runs = {kind: train(TrainConfig(run_dir=str(tmp_path / kind), pipeline=kind, **TINY)) for kind in ("tf", "numpy")}
    assert runs["tf"].history == runs["numpy"].history
    for a, b in zip(runs["tf"].model.get_weights(), runs["numpy"].model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert json.load(open(tmp_path / "numpy" / "metrics.json"))["pipeline"] == "numpy"


def test_numpy_affine_is_the_tf_kernel():
    rng = np.random.default_rng(1)
    images = (rng.random((16, 28, 28, 3)) * 255).astype(np.float32)
    transforms = pipeline.augment_transforms(7, 11, 16, pipeline.AugmentConfig(30, 0.3, 6, True), 28, 28)
    np.testing.assert_allclose(pipeline.affine_numpy(images, transforms),
                               pipeline.affine_tf(tf.constant(images), tf.constant(transforms)).numpy(), atol=1e-3)


def _interrupted_run(run_dir, **changes):
    with pytest.raises(_Interrupt):
        train(TrainConfig(run_dir=run_dir, **{**TINY, **changes}), callbacks=[_RaiseAt(epoch=1, batch=1)])
    backup = os.path.join(run_dir, "backup")
    return {name: open(os.path.join(backup, name), "rb").read() for name in sorted(os.listdir(backup))}


def test_resume_with_other_settings_is_refused_listing_each(tmp_path):
    from apps.mnist.train import RunFolderError

    run_dir = str(tmp_path / "run")
    files = _interrupted_run(run_dir)
    config = open(os.path.join(run_dir, "config.json")).read()
    with pytest.raises(RunFolderError) as info:
        train(TrainConfig(run_dir=run_dir, **{**TINY, "batch_size": 32, "seed": 4, "model": "resnet20",
                                              "model_kwargs": {}}))
    text = str(info.value)
    for line in ("batch_size: 64 in the run, 32 asked", "seed: 0 in the run, 4 asked",
                 "model: 'lenet5' in the run, 'resnet20' asked", "--overwrite", "another --run-dir"):
        assert line in text
    assert open(os.path.join(run_dir, "config.json")).read() == config  # written only after the checks
    backup = os.path.join(run_dir, "backup")
    assert {n: open(os.path.join(backup, n), "rb").read() for n in sorted(os.listdir(backup))} == files


def test_checkpoint_of_another_architecture_is_a_clear_error_and_is_kept(tmp_path):
    from apps.mnist.train import RunFolderError

    run_dir = str(tmp_path / "run")
    files = _interrupted_run(run_dir)
    os.remove(os.path.join(run_dir, "config.json"))  # a run of an older version: no settings to compare
    with pytest.raises(RunFolderError, match=r"does not fit the model asked for.*asks for 'lenet5' \(batch_norm=True"):
        train(TrainConfig(run_dir=run_dir, **{**TINY, "model_kwargs": {"form": "modern", "batch_norm": True}}))
    backup = os.path.join(run_dir, "backup")
    assert {n: open(os.path.join(backup, n), "rb").read() for n in sorted(os.listdir(backup))} == files


def test_two_unreadable_checkpoints_are_a_clear_error(tmp_path):
    from apps.mnist.train import RunFolderError

    run_dir = str(tmp_path / "run")
    files = _interrupted_run(run_dir)
    backup = os.path.join(run_dir, "backup")
    for name in files:
        open(os.path.join(backup, name), "wb").write(files[name][:200])
    with pytest.raises(RunFolderError, match="no readable checkpoint .*Nothing was changed"):
        train(TrainConfig(run_dir=run_dir, **TINY))
    assert all(len(open(os.path.join(backup, n), "rb").read()) == 200 for n in files)


def test_overwrite_trains_a_finished_run_again(reference_run, tmp_path):
    import shutil

    from apps.mnist.train import RunFolderError

    run_dir = str(tmp_path / "copy")
    shutil.copytree(reference_run.run_dir, run_dir)
    with pytest.raises(RunFolderError, match="finished training"):
        train(TrainConfig(run_dir=run_dir, **TINY))
    again = train(TrainConfig(run_dir=run_dir, **TINY), overwrite=True)
    assert again.history == reference_run.history  # same seed: the same run, from scratch


def test_image_folder_mode_trains_a_cifar_net_on_a_generated_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 24), ("test", 6)):
        for label, name in enumerate(("blue", "red")):
            folder = tmp_path / "imgs" / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
                pixels[..., 2 - 2 * label] += 150  # red or blue images
                Image.fromarray(pixels).save(folder / f"{i}.png")
    result = train(TrainConfig(dataset="folder", data_dir=str(tmp_path / "imgs"), model="resnet20", model_kwargs={},
                               run_dir=str(tmp_path / "run"), epochs=3, batch_size=16, tensorboard=False, verbose=0,
                               learning_rate=3e-3))
    assert result.model.input_shape == (None, 32, 32, 3)
    assert json.load(open(tmp_path / "run" / "data.json"))["class_names"] == ["blue", "red"]
    assert result.test_accuracy is not None and 0.0 <= result.test_accuracy <= 1.0
    code = cli.main(["evaluate", "--run-dir", str(tmp_path / "run"), "--json"])
    assert code == 0


@pytest.mark.skipif(not os.path.exists("../shared/data/cifar10/cifar10-jpeg.tar.gz"),
                    reason="../shared/data/cifar10/cifar10-jpeg.tar.gz is absent (the shared data folder)")
@pytest.mark.parametrize("model", [
    "nin_cifar",
    # Its first train step takes minutes to trace on the 2-core CPU (docs/apps/mnist.md).
    pytest.param("densenet_bc_100", marks=pytest.mark.slow),
])
def test_image_folder_mode_reads_a_slice_of_the_real_cifar10_archive(tmp_path, model):
    # What the app read is in its run folder's data.json: the archive (19 MB of gzip, ~4 s to scan)
    # is read once, by the training itself.
    result = train(TrainConfig(dataset="folder", data_dir="../shared/data/cifar10/cifar10-jpeg.tar.gz",
                               folder_limit=6, model=model, model_kwargs={}, run_dir=str(tmp_path / "run"),
                               epochs=1, batch_size=20, tensorboard=False, validate=False, verbose=0))
    with open(tmp_path / "run" / "data.json") as f:
        data = json.load(f)
    assert data["train_examples"] == 60 and data["test_examples"] == 60 and data["image_shape"] == [32, 32, 3]
    assert len(data["class_names"]) == 10 and data["class_names"][:3] == ["airplane", "automobile", "bird"]
    assert result.model.output_shape == (None, 10) and result.test_accuracy is not None
    assert np.isfinite([row["loss"] for row in result.history]).all()


def test_help_parses_every_example_with_the_real_parser():
    import shlex

    parser = cli.build_parser()
    examples = [line.split("#")[0].strip() for line in cli._EPILOG.splitlines() if "python -m apps.mnist" in line]
    assert len(examples) >= 6
    for line in examples:
        args = parser.parse_args(shlex.split(line)[3:])
        assert args.command in ("train", "evaluate", "predict", "export")
