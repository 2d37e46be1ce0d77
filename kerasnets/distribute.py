"""Scale-out with ``tf.distribute`` (TensorFlow backend only).

Keras 3 on TensorFlow trains under a ``tf.distribute`` strategy when the model
is built and compiled inside ``strategy.scope()``; ``model.fit`` then splits
each global batch across the replicas and all-reduces the gradients, so every
replica ends each step with the same weights.

- ``"default"``: no distribution (the current default strategy).
- ``"mirrored"``: ``tf.distribute.MirroredStrategy``, one replica per local GPU
  (or the CPU when there is none).
- ``"multiworker"``: ``tf.distribute.MultiWorkerMirroredStrategy``, one process
  per machine, configured by the ``TF_CONFIG`` environment variable
  (`make_tf_config`), gradients all-reduced over gRPC (ring) or NCCL.

Every worker runs the same script. Only the chief (worker 0) should keep
checkpoints and exports; other workers still take part in saving (the save
may need collectives) but write to a scratch path (`worker_filepath`).
See docs/scaling.md for running on a cluster, and ``keras.distribution`` for
the JAX backend.

Examples:
    >>> from kerasnets.distribute import get_strategy
    >>> strategy = get_strategy("default")
    >>> strategy.num_replicas_in_sync
    1
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from typing import Any

from kerasnets.checks import check_choice, check_positive_int

__all__ = [
    "STRATEGIES",
    "NoDistribution",
    "get_strategy",
    "make_tf_config",
    "read_tf_config",
    "is_chief",
    "worker_filepath",
    "shard_by_data",
    "check_workers_agree",
    "fit",
    "evaluate",
]

STRATEGIES = ("default", "mirrored", "multiworker")
_COMMUNICATION = ("auto", "ring", "nccl")


class NoDistribution:
    """The ``"default"`` strategy under a backend other than TensorFlow: one replica, a no-op scope.

    It has the parts of ``tf.distribute.Strategy`` that single-process code uses
    (``scope()``, ``num_replicas_in_sync``), so code written for strategies (``apps.mnist``)
    runs unchanged under JAX or PyTorch, in a Python without TensorFlow too. Distribution
    under JAX is ``keras.distribution`` (docs/scaling.md).
    """

    num_replicas_in_sync = 1
    extended = None

    def scope(self):
        """A no-op context manager (``with strategy.scope(): ...``)."""
        return contextlib.nullcontext(self)

    def __repr__(self) -> str:
        return "NoDistribution()"


def _tf_loaded() -> bool:
    # Nothing from TensorFlow (a tf.distribute strategy, a tf.data.Dataset) can exist unless
    # tensorflow has been imported, so the checks below need not import it to say "no".
    return sys.modules.get("tensorflow") is not None


def _tf(*, need_tf_backend: bool = True, feature: str = "kerasnets.distribute (tf.distribute)"):
    import keras

    from kerasnets._tf import require_tensorflow

    if need_tf_backend and keras.backend.backend() != "tensorflow":
        raise ValueError(
            "tf.distribute strategies need the TensorFlow backend; with JAX use "
            "keras.distribution.DataParallel (docs/scaling.md). "
            f"Received: backend={keras.backend.backend()!r}"
        )
    return require_tensorflow(
        feature, alternative="with JAX use keras.distribution.DataParallel (docs/scaling.md)"
    )


def make_tf_config(workers: list[str], index: int, *, task_type: str = "worker") -> str:
    """The ``TF_CONFIG`` JSON for worker ``index`` of a cluster of ``workers``.

    Args:
        workers: ``"host:port"`` of every worker, the chief first.
        index: this worker's position in ``workers``.
        task_type: ``"worker"`` (MultiWorkerMirroredStrategy's only task type).

    Returns:
        The JSON string to put in ``os.environ["TF_CONFIG"]``.

    Examples:
        >>> make_tf_config(["10.0.0.1:12345", "10.0.0.2:12345"], 1)
        '{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, "task": {"type": "worker", "index": 1}}'
    """
    if not isinstance(workers, (list, tuple)) or not workers or not all(
        isinstance(w, str) and ":" in w for w in workers
    ):
        raise ValueError(f"`workers` must be a non-empty list of 'host:port' strings. Received: workers={workers!r}")
    index = check_positive_int("index", index, minimum=0)
    if index >= len(workers):
        raise ValueError(f"`index` must be below the number of workers ({len(workers)}). Received: index={index}")
    check_choice("task_type", task_type, ("worker", "chief"))
    return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": task_type, "index": index}})


def read_tf_config(env: dict | None = None) -> dict:
    """Parse and check ``TF_CONFIG`` (from ``env`` or ``os.environ``).

    Returns:
        The parsed dict (``cluster`` and ``task``).

    Raises:
        ValueError: missing or malformed ``TF_CONFIG``, naming what is wrong.
    """
    env = os.environ if env is None else env
    raw = env.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "strategy='multiworker' needs the TF_CONFIG environment variable, e.g. "
            + make_tf_config(["host0:12345", "host1:12345"], 0)
            + " (kerasnets.distribute.make_tf_config builds it). Received: TF_CONFIG=None"
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"TF_CONFIG must be JSON. Received: TF_CONFIG={raw!r}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(
            'TF_CONFIG must hold {"cluster": {"worker": [...]}, "task": {"type": ..., "index": ...}}. '
            f"Received: TF_CONFIG={raw!r}"
        )
    members = cluster.get(task["type"])
    if not isinstance(members, list) or not (0 <= int(task["index"]) < len(members)):
        raise ValueError(
            f"TF_CONFIG's task {task!r} must name an entry of its cluster {cluster!r}. Received: TF_CONFIG={raw!r}"
        )
    return config


def get_strategy(name: str = "default", *, devices: list[str] | None = None, communication: str = "auto"):
    """A ``tf.distribute`` strategy by name.

    Args:
        name: ``"default"``, ``"mirrored"`` or ``"multiworker"`` (see the module doc).
        devices: for ``"mirrored"``, the devices to mirror on (default: all GPUs, else CPU).
        communication: for ``"multiworker"``, the all-reduce implementation:
            ``"auto"``, ``"ring"`` (gRPC, works on CPU) or ``"nccl"`` (GPUs).

    Returns:
        A ``tf.distribute.Strategy``; build and compile the model in ``strategy.scope()``.
        ``"default"`` under a backend other than TensorFlow returns `NoDistribution`
        (a no-op scope, one replica), which needs no TensorFlow.

    Raises:
        ValueError: unknown name or communication, missing/bad ``TF_CONFIG``, or
            ``"mirrored"``/``"multiworker"`` with a backend other than TensorFlow
            (``"default"``, a no-op scope, works with every backend).

    Examples:
        >>> import kerasnets
        >>> from kerasnets.distribute import get_strategy
        >>> strategy = get_strategy("mirrored")  # doctest: +SKIP
        >>> with strategy.scope():  # doctest: +SKIP
        ...     model = kerasnets.nin_cifar()
        ...     model.compile("sgd", "sparse_categorical_crossentropy")
    """
    check_choice("strategy", name, STRATEGIES)
    check_choice("communication", communication, _COMMUNICATION)
    # The default strategy is a no-op scope, so code written for strategies (apps.mnist)
    # also runs on the JAX backend with it, without TensorFlow; real distribution needs TensorFlow.
    if name == "default":
        import keras

        if keras.backend.backend() != "tensorflow":
            return NoDistribution()
        return _tf(need_tf_backend=False).distribute.get_strategy()
    tf = _tf(feature=f"strategy={name!r} (tf.distribute)")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    read_tf_config()
    implementation = {
        "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
        "ring": tf.distribute.experimental.CommunicationImplementation.RING,
        "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
    }[communication]
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(implementation=implementation)
    )


def _task(strategy: Any) -> tuple[str | None, int | None]:
    resolver = getattr(getattr(strategy, "extended", None), "_cluster_resolver", None)
    if resolver is None:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy: Any = None) -> bool:
    """Whether this process is the chief (worker 0, or the only process).

    Args:
        strategy: the strategy in use (default: the current one).
    """
    if strategy is None:
        if not _tf_loaded():
            return True
        strategy = _tf(need_tf_backend=False).distribute.get_strategy()
    task_type, task_id = _task(strategy)
    if task_type is None:
        return True
    return task_type == "chief" or (task_type == "worker" and task_id == 0)


def worker_filepath(filepath: str | os.PathLike, strategy: Any = None) -> str:
    """Where this worker writes a file every worker must save (checkpoint, export).

    The chief gets ``filepath``; other workers get a scratch path under the
    system temporary directory (``.../worker_<id>/<hash of filepath>/<basename>``),
    which they may delete afterwards. This is the pattern of TensorFlow's
    multi-worker guide; the hash keeps two runs whose folders share a basename
    (``runs/a/run`` and ``runs/b/run``) from sharing a scratch folder.
    """
    filepath = os.fspath(filepath)
    if is_chief(strategy):
        return filepath
    _, task_id = _task(strategy if strategy is not None else _tf().distribute.get_strategy())
    key = hashlib.sha1(os.path.abspath(filepath).encode()).hexdigest()[:12]
    scratch = os.path.join(tempfile.gettempdir(), "kerasnets_workers", f"worker_{task_id}", key)
    os.makedirs(scratch, exist_ok=True)
    return os.path.join(scratch, os.path.basename(filepath.rstrip(os.sep)))


def check_workers_agree(name: str, value: int, strategy: Any = None) -> int:
    """Check that every worker of a multi-worker strategy holds the same integer ``value``.

    Used before resuming: if one worker found a checkpoint at step 500 and another
    none (or an older one), their collective ops would mismatch and hang or crash
    mid-run; this turns that into a clear error at the start. With any other
    strategy it returns ``value`` unchanged.

    Raises:
        ValueError: the workers disagree (the message names ``name`` and the range).
    """
    if strategy is None or not _multi_worker(strategy):
        return value
    tf = _tf()
    local = tf.constant([int(value)], tf.int64)
    values = strategy.gather(strategy.run(lambda: tf.identity(local)), axis=0).numpy()  # one per replica
    low, high = int(values.min()), int(values.max())
    if low != high:
        _, task_id = _task(strategy)
        raise ValueError(
            f"The workers disagree on `{name}`: it ranges from {low} to {high} across workers (this is worker "
            f"{task_id}). Each worker must resume from the same checkpoint step: give every worker a copy of "
            f"the chief's checkpoint (or a shared run folder), or delete the checkpoints to start afresh. "
            f"Received: {name}={value}"
        )
    return value


def shard_by_data(dataset):
    """Set a ``tf.data`` pipeline to shard by element across workers.

    ``MultiWorkerMirroredStrategy`` shards input by file by default, which fails for
    in-memory data (``from_tensor_slices``); sharding by data gives each worker a
    disjoint 1/num_workers of every global batch. Anything that is not a
    ``tf.data.Dataset`` (NumPy arrays, a ``keras.utils.PyDataset`` under JAX) is
    returned unchanged: it is read by one process, so there is nothing to shard.
    """
    if not _tf_loaded():
        return dataset
    # tf.data options only: fine under any Keras backend, but TensorFlow must be importable.
    tf = _tf(need_tf_backend=False, feature="shard_by_data (tf.data)")
    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _multi_worker(strategy) -> bool:
    if isinstance(strategy, NoDistribution) or not _tf_loaded():
        return False
    tf = _tf(need_tf_backend=False)
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def _vector_logs(step):
    """Wrap a train/test step so its scalar logs have shape [1].

    Keras reduces the per-replica logs of a multi-worker step with
    ``strategy.reduce("MEAN", value, axis=0)``, which rejects scalars; a length-1
    vector per replica reduces to the mean over all replicas of all workers.
    """
    tf = _tf()

    def wrapped(data):
        logs = step(data)
        return {k: tf.reshape(v, [1]) if getattr(v, "shape", None) is not None and v.shape.rank == 0 else v
                for k, v in logs.items()}

    return wrapped


def fit(model, dataset, *, strategy: Any = None, **fit_kwargs):
    """``model.fit`` under ``strategy``, working around Keras 3's multi-worker bugs.

    Keras 3 (3.15 and earlier) cannot ``fit`` under a multi-worker
    ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585):

    1. before the first step it all-reduces a whole ``(x, y)`` batch with
       ``strategy.reduce`` to build the model symbolically, which TensorFlow's
       collective ops reject ("Attempt to convert a value (PerReplica...)");
    2. it reduces each step's per-replica loss/metric values with
       ``strategy.reduce("MEAN", v, axis=0)``, which fails on scalars.

    Here the model, its compiled loss/metrics and its optimizer are built from the
    dataset's ``element_spec`` instead, ``fit`` runs inside ``strategy.scope()`` with
    the strategy taken from the scope (so Keras skips the first reduce), and the
    model's train/test steps return their logs as length-1 vectors for the duration of
    the call (so the second reduce averages them over all replicas of all workers).
    Training itself is Keras's own distributed step (``strategy.run`` plus gradient
    all-reduce), so every worker keeps identical weights. Other strategies call
    ``model.fit`` unchanged.

    Args:
        model: a compiled model built inside ``strategy.scope()``.
        dataset: a ``tf.data.Dataset`` of ``(x, y)`` global batches (use
            `shard_by_data` for in-memory data, and ``repeat()`` with
            ``steps_per_epoch``).
        strategy: the strategy the model was built under (default: the model's).
        **fit_kwargs: forwarded to ``model.fit``.

    Returns:
        The ``History`` of ``model.fit``.

    Examples:
        >>> strategy = get_strategy("multiworker")  # doctest: +SKIP
        >>> with strategy.scope():  # doctest: +SKIP
        ...     model = kerasnets.lenet5(); model.compile("sgd", "sparse_categorical_crossentropy")
        >>> fit(model, shard_by_data(ds), strategy=strategy, epochs=2, steps_per_epoch=100)  # doctest: +SKIP
    """
    return _call_under(model, "fit", dataset, strategy, fit_kwargs)


def evaluate(model, dataset, *, strategy: Any = None, **evaluate_kwargs):
    """``model.evaluate`` under ``strategy``, with the same workarounds as `fit`.

    Keras 3's ``evaluate`` hits the same two multi-worker bugs as ``fit``; here the
    metrics are averaged over all replicas of all workers, so every worker gets the
    same figures. Other strategies call ``model.evaluate`` unchanged.

    Args:
        model: a compiled model built inside ``strategy.scope()``.
        dataset: a ``tf.data.Dataset`` of ``(x, y)`` global batches.
        strategy: the strategy the model was built under (default: the model's).
        **evaluate_kwargs: forwarded to ``model.evaluate``.

    Returns:
        What ``model.evaluate`` returns.
    """
    return _call_under(model, "evaluate", dataset, strategy, evaluate_kwargs)


def _call_under(model, method: str, dataset, strategy, kwargs):
    strategy = strategy or getattr(model, "distribute_strategy", None)
    if strategy is None or not _multi_worker(strategy):
        # Single worker (any backend, JAX included): plain Keras.
        return getattr(model, method)(dataset, **kwargs)
    tf = _tf()
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            f"Multi-worker {method} takes a tf.data.Dataset of (x, y) global batches. "
            f"Received: dataset={type(dataset).__name__}"
        )
    with strategy.scope():
        model._symbolic_build(data_batch=dataset.element_spec)
        saved_strategy = model._distribute_strategy
        model._distribute_strategy = None  # Keras then reads the strategy from the scope
        for name in ("train_step", "test_step"):
            object.__setattr__(model, name, _vector_logs(getattr(model, name)))
        model.train_function = model.test_function = None
        try:
            return getattr(model, method)(dataset, **kwargs)
        finally:
            for name in ("train_step", "test_step"):
                model.__dict__.pop(name, None)
            model.train_function = model.test_function = None
            model._distribute_strategy = saved_strategy
