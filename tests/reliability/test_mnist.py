"""Reliability corpus of the MNIST app: bad flags, bad IDX files, run folders that must not lose work.

In-process ``apps.mnist.cli.main(argv)`` calls (``run_cli``), tiny data; each case asserts the exit
status, that the message names the offending flag/value/file, and that no traceback is printed.
"""

import gzip
import json
import os
import struct

import numpy as np
import pytest

from apps.mnist import cli
from apps.mnist.train import RunLock, TrainConfig, train
from kerasnets.data import load_dataset, write_idx

TINY = ["--train-limit", "128", "--test-limit", "64", "--batch-size", "64", "--epochs", "1", "--no-tensorboard",
        "--no-validate", "--verbose", "0"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("mnist_rel") / "run")
    train(TrainConfig(run_dir=run_dir, dataset="mnist-5k", train_limit=128, test_limit=64, batch_size=64, epochs=1,
                      tensorboard=False, validate=False, verbose=0))
    return run_dir


# --------------------------------------------------------------- flags: rejected while parsing, before any work

BAD_TRAIN_FLAGS = [
    (["--learning-rate", "inf"], "--learning-rate", "inf"),
    (["--learning-rate", "nan"], "--learning-rate", "nan"),
    (["--learning-rate", "0"], "--learning-rate", "'0'"),
    (["--learning-rate=-1e-3"], "--learning-rate", "-1e-3"),
    (["--weight-decay=-inf"], "--weight-decay", "-inf"),
    (["--weight-decay", "nan"], "--weight-decay", "nan"),
    (["--epochs", "0"], "--epochs", "'0'"),
    (["--epochs", "2.5"], "--epochs", "2.5"),
    (["--batch-size=-1"], "--batch-size", "-1"),
    (["--label-smoothing", "1"], "--label-smoothing", "'1'"),
    (["--label-smoothing", "nan"], "--label-smoothing", "nan"),
    (["--scale", "1.5"], "--scale", "1.5"),
    (["--rotation", "inf"], "--rotation", "inf"),
    (["--shift=-2"], "--shift", "-2"),
    (["--warmup-epochs", "nan"], "--warmup-epochs", "nan"),
    (["--seed=-1"], "--seed", "-1"),
    (["--checkpoint-every", "0"], "--checkpoint-every", "'0'"),
    (["--train-limit", "0"], "--train-limit", "'0'"),
    (["--folder-limit=-3"], "--folder-limit", "-3"),
    (["--dataset", "cifar100"], "--dataset", "cifar100"),
    (["--jit-compile", "maybe"], "--jit-compile", "maybe"),
    (["--precision", "float8"], "--precision", "float8"),
    (["--pipeline", "torch"], "--pipeline", "torch"),
    (["--model-option", "=3"], "--model-option", "=3"),
]


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("argv, flag, value", BAD_TRAIN_FLAGS, ids=[" ".join(c[0]) for c in BAD_TRAIN_FLAGS])
def test_bad_train_flag(run_cli, assert_clean_error, tmp_path, argv, flag, value):
    status, out, err = run_cli(cli.main, ["train", "--run-dir", str(tmp_path / "r"), *argv])
    assert_clean_error(status, err, names=(flag, value))
    assert not (tmp_path / "r").exists()  # refused before anything was written


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("argv, flag", [(["predict", "x.png", "--top-k", "0"], "--top-k"),
                                        (["predict", "x.png", "--top-k=-2"], "--top-k"),
                                        (["export", "--export-dir", "e", "--top-k", "0"], "--top-k"),
                                        (["export", "--export-dir", "e", "--version", "0"], "--version"),
                                        (["evaluate", "--test-limit=-5"], "--test-limit"),
                                        (["evaluate", "--dataset", "nope"], "--dataset")])
def test_bad_flags_of_the_other_commands(run_cli, assert_clean_error, tmp_path, argv, flag):
    status, out, err = run_cli(cli.main, [argv[0], "--run-dir", str(tmp_path), *argv[1:]])
    assert_clean_error(status, err, names=(flag,))


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("kind", ["empty", "file", "missing-parent-file", "read-only"])
def test_unwritable_run_dir_is_refused_before_training(run_cli, assert_clean_error, tmp_path, kind):
    if kind == "empty":
        run_dir = ""
    elif kind == "file":
        run_dir = str(tmp_path / "afile")
        open(run_dir, "w").close()
    elif kind == "missing-parent-file":
        open(tmp_path / "afile", "w").close()
        run_dir = str(tmp_path / "afile" / "run")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o500)
        run_dir = str(tmp_path / "ro" / "run")
    status, out, err = run_cli(cli.main, ["train", "--run-dir", run_dir, *TINY])
    assert_clean_error(status, err, names=("--run-dir", repr(run_dir)))


# --------------------------------------------------------------- IDX and image inputs


def _idx_cases(tmp_path):
    good = write_idx(tmp_path / "ok-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    raw = open(good, "rb").read()
    cases = {
        "truncated": raw[:-100],
        "bad-magic": b"\x01\x02" + raw[2:],
        "huge-header": struct.pack(">HBB4I", 0, 8, 4, 65536, 65536, 65536, 65536),
        "gzip-truncated": gzip.compress(raw)[:40],
        "wrong-size": open(write_idx(tmp_path / "w-idx3-ubyte", np.zeros((2, 32, 32), np.uint8)), "rb").read(),
    }
    return cases


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("case", ["truncated", "bad-magic", "huge-header", "gzip-truncated", "wrong-size"])
def test_bad_idx_input_to_predict(run_cli, assert_clean_error, finished_run, tmp_path, case):
    path = tmp_path / f"{case}-idx3-ubyte"
    path.write_bytes(_idx_cases(tmp_path)[case])
    status, out, err = run_cli(cli.main, ["predict", "--run-dir", finished_run, str(path)])
    assert_clean_error(status, err, names=(str(path),))


@pytest.mark.reliability("clear error")
def test_unreadable_picture_is_named(run_cli, assert_clean_error, finished_run, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"not a png")
    status, out, err = run_cli(cli.main, ["predict", "--run-dir", finished_run, str(path)])
    assert_clean_error(status, err, names=(str(path),))


@pytest.mark.reliability("clear error")
def test_label_count_mismatch_names_the_flag(run_cli, assert_clean_error, finished_run, tmp_path):
    images = write_idx(tmp_path / "t-images-idx3-ubyte", load_dataset("mnist-5k").x_test[:3])
    labels = write_idx(tmp_path / "t-labels-idx1-ubyte", np.zeros(5, np.uint8))
    status, out, err = run_cli(cli.main, ["predict", "--run-dir", finished_run, images, "--labels", labels])
    assert_clean_error(status, err, names=("--labels", labels, "5"))


@pytest.mark.reliability("correct result")
def test_top_k_above_the_classes_is_clamped_with_a_note(run_cli, finished_run, tmp_path):
    images = write_idx(tmp_path / "t-images-idx3-ubyte", load_dataset("mnist-5k").x_test[:2])
    status, out, err = run_cli(cli.main, ["predict", "--run-dir", finished_run, images, "--top-k", "12", "--json"])
    assert status == 0 and "--top-k 12 is more than the model's 10 classes; using 10" in err
    assert [len(r["top"]) for r in json.loads(out)] == [10, 10]


@pytest.mark.reliability("nothing lost")
def test_predict_output_never_replaces_a_file(run_cli, assert_clean_error, finished_run, tmp_path):
    images = write_idx(tmp_path / "t-images-idx3-ubyte", load_dataset("mnist-5k").x_test[:2])
    target = tmp_path / "mine.csv"
    target.write_text("precious\n")
    status, out, err = run_cli(cli.main, ["predict", "--run-dir", finished_run, images, "--output", str(target)])
    assert_clean_error(status, err, names=("--output", str(target)))
    assert target.read_text() == "precious\n"


# --------------------------------------------------------------- run folders


@pytest.mark.reliability("nothing lost")
def test_finished_run_is_not_trained_over(run_cli, assert_clean_error, finished_run):
    before = {n: os.path.getmtime(os.path.join(finished_run, n)) for n in ("model.keras", "metrics.json", "config.json")}
    status, out, err = run_cli(cli.main, ["train", "--run-dir", finished_run, *TINY])
    assert_clean_error(status, err, names=(finished_run, "finished", "--overwrite"))
    assert {n: os.path.getmtime(os.path.join(finished_run, n)) for n in before} == before


@pytest.mark.reliability("clear error")
def test_second_training_in_a_locked_folder(run_cli, assert_clean_error, tmp_path):
    run_dir = tmp_path / "locked"
    run_dir.mkdir()
    with RunLock(str(run_dir)):  # another training holds it (flock conflicts across open files)
        status, out, err = run_cli(cli.main, ["train", "--run-dir", str(run_dir), *TINY])
    assert_clean_error(status, err, names=("in use", f"process {os.getpid()}", str(run_dir)))
    assert not (run_dir / "config.json").exists()


@pytest.mark.reliability("correct result")
def test_stale_lock_of_a_dead_process_is_noticed_and_taken_over(tmp_path, capsys):
    (tmp_path / ".lock").write_text("999999999\n")  # a pid no process has
    with RunLock(str(tmp_path)) as lock:
        assert lock.stale_pid == 999999999
    assert "stale lock" in capsys.readouterr().err and (tmp_path / ".lock").read_text() == ""


@pytest.mark.reliability("clear error")
def test_folder_dataset_needs_data_dir(run_cli, assert_clean_error, tmp_path):
    status, out, err = run_cli(cli.main, ["train", "--dataset", "folder", "--run-dir", str(tmp_path / "r"), *TINY])
    assert_clean_error(status, err, names=("folder", "data_dir"))


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("layout", ["missing", "no-class-folders", "not-an-image"])
def test_bad_image_folder(run_cli, assert_clean_error, tmp_path, layout):
    root = tmp_path / "images"
    if layout == "no-class-folders":
        root.mkdir()
        (root / "a.txt").write_text("x")
    elif layout == "not-an-image":
        (root / "cat").mkdir(parents=True)
        (root / "cat" / "0.png").write_bytes(b"garbage")
        (root / "dog").mkdir()
        (root / "dog" / "0.png").write_bytes(b"garbage")
    status, out, err = run_cli(cli.main, ["train", "--dataset", "folder", "--data-dir", str(root),
                                          "--run-dir", str(tmp_path / "r"), *TINY])
    assert_clean_error(status, err, names=(str(root),))


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("dataset", ["mnist", "folder"])
def test_missing_data_dir_names_the_flag(run_cli, assert_clean_error, tmp_path, dataset):
    missing = str(tmp_path / "nowhere")
    status, out, err = run_cli(cli.main, ["train", "--dataset", dataset, "--data-dir", missing,
                                          "--run-dir", str(tmp_path / "r"), *TINY])
    assert_clean_error(status, err, names=("--data-dir", repr(missing)))


def test_dataset_choices_match_the_loaders():
    from apps.mnist.data import _FOLDER_ALIASES
    from kerasnets.data.mnist import _ALIASES

    assert set(cli.DATASET_CHOICES) == set(_ALIASES) | set(_FOLDER_ALIASES)


def _modules_after(code):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                         cwd=root, env={**os.environ, "PYTHONPATH": root}, capture_output=True, text=True, timeout=300)
    return set(out.stdout.split())


@pytest.mark.reliability("correct result")
def test_help_and_usage_errors_import_neither_keras_nor_tensorflow():
    if {"keras", "tensorflow"} & _modules_after("import kerasnets.cliargs"):
        pytest.skip("`import kerasnets` itself still imports keras (contract item 8, h-core's lazy kerasnets/__init__)")
    for argv in (["--help"], ["train", "--help"], ["train", "--epochs", "0"]):
        loaded = _modules_after(f"from apps.mnist.cli import main\nmain({argv!r})")
        assert not {"keras", "tensorflow", "jax"} & loaded, argv


@pytest.mark.reliability("nothing lost")
def test_ctrl_c_inside_a_checkpoint_write_then_save_now_keeps_the_state(tmp_path):
    """Ctrl-C can land while a checkpoint is being written, with HDF5 still holding that file open
    (the traceback keeps the writer alive); the save on the way out must then still succeed (in a
    suite run it failed with "unable to truncate a file which is already open")."""
    import h5py
    import keras

    from apps.mnist.train import ResumableBackup

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    backup = ResumableBackup(str(tmp_path / "backup"), save_freq=1)
    backup.set_model(model)
    real_save, held = model.save_weights, []

    def interrupted_save(path, overwrite=True):
        held.append(h5py.File(path, "w"))  # the half-written file, still open
        raise KeyboardInterrupt

    model.save_weights = interrupted_save
    backup._unsaved, backup.saved_step = 1, -1
    with pytest.raises(KeyboardInterrupt):
        backup._save_model()
    model.save_weights = real_save
    assert backup.save_now(model) == backup._step()
    files = sorted(os.listdir(tmp_path / "backup"))
    assert files == ["latest.weights.h5"], files
    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    fresh.load_weights(str(tmp_path / "backup" / "latest.weights.h5"))
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    held[0].close()
