"""The MNIST app's training as real processes: SIGKILL and resume, Ctrl-C, two trainings in one folder.

Each flow starts ``python -m apps.mnist train`` as a subprocess, waits for its first checkpoint, then
interrupts it; the resumed run must end with exactly the weights of an uninterrupted run.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from apps.mnist.evaluate import load_run_model
from apps.mnist.train import TrainConfig, train

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETTINGS = dict(dataset="mnist-5k", train_limit=2560, test_limit=100, batch_size=32, epochs=3, checkpoint_every=3,
                tensorboard=False, validate=False)
ARGS = ["--dataset", "mnist-5k", "--train-limit", "2560", "--test-limit", "100", "--batch-size", "32", "--epochs",
        "3", "--checkpoint-every", "3", "--no-tensorboard", "--no-validate"]


def _start(run_dir):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "apps.mnist", "train", "--run-dir", str(run_dir), *ARGS],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"training ended (status {proc.returncode}) before {path} appeared:\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{path} did not appear in {timeout} s")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return train(TrainConfig(run_dir=str(tmp_path_factory.mktemp("mnist_proc_ref")), verbose=0, **SETTINGS))


def _assert_same_weights(run_dir, reference):
    model = load_run_model(str(run_dir))
    for a, b in zip(model.get_weights(), reference.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_lock_then_sigkill_mid_epoch_then_resume_bit_identical(tmp_path, uninterrupted):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    procs = [_start(run_dir), _start(run_dir)]  # two trainings in the same folder at once
    deadline = time.monotonic() + 300
    while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    loser = next(p for p in procs if p.poll() is not None)
    winner = next(p for p in procs if p is not loser)
    out, err = loser.communicate()
    assert loser.returncode == 2 and "Traceback" not in err, err
    assert f"is in use: process {winner.pid} is training in it" in err
    _wait_for(run_dir / "backup" / "latest.weights.h5", winner)
    winner.send_signal(signal.SIGKILL)
    winner.communicate()
    assert not (run_dir / "model.keras").exists()  # killed mid-run
    resumed = _start(run_dir)
    out, err = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, err
    assert "resumed at step" in out and f"stale lock {run_dir / '.lock'} of process {winner.pid}" in err
    _assert_same_weights(run_dir, uninterrupted)


def test_ctrl_c_prints_one_line_exits_130_and_resumes_bit_identical(tmp_path, uninterrupted):
    run_dir = tmp_path / "run"
    proc = _start(run_dir)
    _wait_for(run_dir / "backup" / "latest.weights.h5", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("python -m apps.mnist: interrupted at epoch ") and last.endswith(
        "; run the same command to resume")
    assert (run_dir / "backup" / "latest.weights.h5").exists() and not (run_dir / "model.keras").exists()
    assert not out.strip()  # progress went to stderr; nothing was printed as a result
    resumed = _start(run_dir)
    out, err = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, err
    assert "resumed at step" in out
    for stream in (out, err):
        assert "\r" not in stream and "\x1b" not in stream  # piped: no control characters
    _assert_same_weights(run_dir, uninterrupted)
