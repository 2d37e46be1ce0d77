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
    assert input_size_for("resnet20") == 32
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
    with pytest.warns(UserWarning, match="unreadable"):
        resumed = train(TrainConfig(run_dir=run_dir, **{**TINY, "tensorboard": True}))
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
    assert err.startswith("error: Dataset 'fashion_mnist' was not found")
    assert "apt-get install dataset-fashion-mnist" in err and "--data-dir" in err and "Traceback" not in err
    assert cli.main(["predict", "--run-dir", str(tmp_path / "absent"), "x.png"]) == 2
    assert "model.keras" in capsys.readouterr().err


def test_help_lists_every_command_and_flag(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--jit-compile", "--strategy", "--label-smoothing", "--precision", "--checkpoint-every",
                 "--data-dir", "--seed", "--model"):
        assert flag in text
    flat = " ".join(text.split())
    assert "(default: None)" not in flat and "(default: mnist-5k) (default: mnist-5k)" not in flat
    assert "global batch size (default: 128)" in flat  # defaults that mean something are still shown
