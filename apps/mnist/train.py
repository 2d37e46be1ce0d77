"""Training for the MNIST app: seeded, resumable, distributable.

:func:`train` is the whole ``python -m apps.mnist train`` command as a
function. It can be called inside a ``tf.distribute`` strategy scope (it then
uses that strategy), or picks one from ``config.strategy``.

Resuming: a :class:`ResumableBackup` (a ``keras.callbacks.BackupAndRestore``)
saves weights and optimizer state every ``checkpoint_every`` steps and at each
epoch end into ``<run_dir>/backup``. When :func:`train` starts and finds a
backup, it restores it, reads the global step from the optimizer, finishes
the interrupted epoch from the very next batch (the input stream is a pure
function of seed and step, see :mod:`apps.mnist.pipeline`), then runs the
remaining epochs. Nothing done before the last checkpoint is lost or repeated;
on CPU with ``deterministic=True`` the resumed run ends with the same weights
as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from apps.mnist import pipeline, recipe
from apps.mnist.model import build_classifier
from kerasnets import distribute as _distribute
from kerasnets import xla as _xla
from kerasnets._validation import check_choice, check_fraction, check_positive_int, check_positive_number
from kerasnets.data import load_dataset
from kerasnets.data.mnist import canonical_name

__all__ = ["TrainConfig", "TrainResult", "train", "ResumableBackup", "get_strategy", "resolve_jit_compile",
           "resolve_precision", "read_history"]

STRATEGIES = ("default", "mirrored", "multiworker")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_CHOICES = ("auto", "on", "off")


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run depends on (saved as ``config.json`` in the run directory).

    ``None`` fields take the per-dataset defaults of :data:`apps.mnist.recipe.DEFAULTS`.
    """

    dataset: str = "mnist-5k"
    data_dir: str | None = None
    download: bool = True
    model: str = "lenet5"
    model_kwargs: dict = dataclasses.field(default_factory=lambda: {"form": "modern"})
    epochs: int | None = None
    batch_size: int = 128
    learning_rate: float | None = None
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    rotation: float | None = None
    scale: float | None = None
    shift: float | None = None
    hflip: bool | None = None
    seed: int = 0
    deterministic: bool = True
    jit_compile: str = "auto"
    precision: str = "auto"
    strategy: str = "default"
    run_dir: str = "runs/mnist"
    checkpoint_every: int = 50
    validate: bool = True
    train_limit: int | None = None
    test_limit: int | None = None
    tensorboard: bool = True
    verbose: int | str = "auto"

    def resolved(self) -> "TrainConfig":
        """A copy with the dataset defaults filled in and every field checked."""
        cfg = dataclasses.replace(self, model_kwargs=dict(self.model_kwargs or {}))
        cfg.dataset = canonical_name(cfg.dataset)
        defaults = recipe.DEFAULTS[cfg.dataset]
        for key in ("epochs", "learning_rate", "rotation", "scale", "shift", "hflip"):
            if getattr(cfg, key) is None:
                setattr(cfg, key, defaults[key])
        check_positive_int("epochs", cfg.epochs)
        check_positive_int("batch_size", cfg.batch_size)
        check_positive_number("learning_rate", cfg.learning_rate)
        check_positive_number("weight_decay", cfg.weight_decay, allow_zero=True)
        check_positive_number("warmup_epochs", cfg.warmup_epochs, allow_zero=True)
        check_fraction("label_smoothing", cfg.label_smoothing)
        check_positive_number("rotation", cfg.rotation, allow_zero=True)
        check_fraction("scale", cfg.scale)
        check_positive_number("shift", cfg.shift, allow_zero=True)
        check_choice("jit_compile", cfg.jit_compile, JIT_CHOICES)
        check_choice("precision", cfg.precision, PRECISIONS)
        check_choice("strategy", cfg.strategy, STRATEGIES)
        check_positive_int("checkpoint_every", cfg.checkpoint_every)
        if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, (int, np.integer)) or cfg.seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0. Received: seed={cfg.seed!r}")
        for key in ("train_limit", "test_limit"):
            if getattr(cfg, key) is not None:
                check_positive_int(key, getattr(cfg, key))
        return cfg

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: keras.Model
    config: TrainConfig
    history: list  # one dict per epoch (from history.csv)
    test_accuracy: float | None
    train_seconds: float
    resumed_from_step: int
    run_dir: str


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that saves every ``save_freq`` steps *and* at every epoch end.

    Restoring is done by :func:`train` (:meth:`restore`) before ``fit`` so it can
    resume mid-epoch at the exact step; this callback only saves. The backup is
    kept until :meth:`clear` is called after a successful run.
    """

    def __init__(self, backup_dir: str, save_freq: int):
        super().__init__(backup_dir, save_freq=save_freq, double_checkpoint=True, delete_checkpoint=False)

    def on_train_begin(self, logs=None):
        # Restoring happened in train(); don't let the parent move the initial epoch.
        self.model._initial_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self._save_model()

    def restore(self, model: keras.Model) -> int:
        """Load the latest backup into ``model`` (previous one if the latest is corrupt).

        Returns:
            The global step (optimizer iterations) restored, 0 without a backup.
        """
        # Build the optimizer first, backup or not: under a multi-worker strategy creating
        # variables is a collective step every worker must take together.
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        if not os.path.exists(self._weights_path):
            return 0
        try:
            model.load_weights(self._weights_path)
        except Exception as exc:  # a kill during the save leaves a truncated HDF5 file
            if not os.path.exists(self._prev_weights_path):
                raise ValueError(f"The checkpoint {self._weights_path!r} is unreadable ({exc}) and there is no "
                                 f"previous one; delete {self.backup_dir!r} to start afresh.") from exc
            import warnings

            warnings.warn(f"Checkpoint {self._weights_path!r} is unreadable ({exc}); using the previous one.",
                          stacklevel=2)
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            model.load_weights(self._weights_path)
        return int(model.optimizer.iterations.numpy())

    def clear(self) -> None:
        shutil.rmtree(self.backup_dir, ignore_errors=True)


class _StopAfterEpoch(keras.callbacks.Callback):
    """Stops ``fit`` at the end of the current epoch (used to finish a partial epoch)."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


def get_strategy(name: str = "default"):
    """The ``tf.distribute`` strategy for ``--strategy`` (:func:`kerasnets.distribute.get_strategy`).

    ``default``: the current strategy (the no-op default outside any scope);
    ``mirrored``: ``MirroredStrategy`` over the local GPUs (or the CPU);
    ``multiworker``: ``MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``.
    """
    return _distribute.get_strategy(check_choice("strategy", name, STRATEGIES))


def _has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


def resolve_jit_compile(value: str = "auto") -> bool:
    """``auto``: XLA on GPU, off on CPU (:func:`kerasnets.xla.resolve_jit_compile`; on the 2-core
    CPU XLA made the convnets 2-7x slower, see docs/benchmarks.md); ``on``/``off`` force it."""
    check_choice("jit_compile", value, JIT_CHOICES)
    return _xla.resolve_jit_compile(value)


def resolve_precision(value: str = "auto") -> str:
    """``auto``: ``mixed_float16`` on GPU, ``float32`` on CPU."""
    check_choice("precision", value, PRECISIONS)
    if value == "auto":
        return "mixed_float16" if _has_gpu() else "float32"
    return value


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):  # CSVLogger writes "NA" for a metric missing in an epoch
        return None


def read_history(run_dir: str) -> list:
    """Per-epoch metrics of a run from ``history.csv`` (a re-run epoch keeps its last row)."""
    path = os.path.join(run_dir, "history.csv")
    if not os.path.isfile(path):
        return []
    import csv

    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if not row.get("epoch"):
                continue
            rows[int(row["epoch"])] = {k: _number(v) for k, v in row.items()}
    return [rows[e] for e in sorted(rows)]


def _tensorboard_available() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        import warnings

        warnings.warn("TensorBoard is not installed (pip install tensorboard): no TensorBoard logs.", stacklevel=3)
        return False
    return True


def _worker_dir(run_dir: str, strategy) -> str:
    """The chief (or only) worker writes into ``run_dir``; other workers into a scratch folder."""
    return _distribute.worker_filepath(run_dir, strategy)


def train(config: TrainConfig | None = None, *, strategy=None, callbacks=(), **overrides) -> TrainResult:
    """Train a classifier on MNIST / Fashion-MNIST / mnist-5k.

    Args:
        config: a :class:`TrainConfig` (default: LeNet-5 on mnist-5k).
        strategy: a ``tf.distribute`` strategy; default: the one whose scope
            this is called in, else ``config.strategy``.
        callbacks: extra Keras callbacks (appended after the app's own).
        **overrides: fields of :class:`TrainConfig` to replace.

    Returns:
        A :class:`TrainResult`; the run directory holds ``config.json``,
        ``history.csv``, ``logs/`` (TensorBoard), ``model.keras`` and ``metrics.json``.

    Raises:
        ValueError/TypeError: a bad configuration value (named).
        kerasnets.data.DatasetNotFoundError: the dataset is not available.

    Example:
        >>> result = train(TrainConfig(epochs=1, train_limit=512, run_dir="/tmp/mnist_run"))  # doctest: +SKIP
    """
    cfg = dataclasses.replace(config or TrainConfig(), **overrides).resolved()
    if strategy is None:
        strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else get_strategy(cfg.strategy)
    out_dir = _worker_dir(cfg.run_dir, strategy)
    os.makedirs(out_dir, exist_ok=True)

    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
    x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    if cfg.train_limit:
        x_train, y_train = x_train[: cfg.train_limit], y_train[: cfg.train_limit]
    if cfg.test_limit:
        x_test, y_test = x_test[: cfg.test_limit], y_test[: cfg.test_limit]
    mean = float(x_train.mean() / 255.0)
    std = float(x_train.std() / 255.0)
    steps = pipeline.steps_per_epoch(len(x_train), cfg.batch_size)
    total = steps * cfg.epochs

    with open(os.path.join(out_dir, "config.json"), "w") as f:
        f.write(cfg.to_json())
    with open(os.path.join(out_dir, "data.json"), "w") as f:
        json.dump({"dataset": data.name, "source": data.source, "class_names": list(data.class_names),
                   "mean": mean, "std": std, "train_examples": len(x_train), "test_examples": len(x_test),
                   "steps_per_epoch": steps}, f, indent=2)

    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(cfg.seed)
    precision = resolve_precision(cfg.precision)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        with strategy.scope():
            model = build_classifier(
                cfg.model, classes=data.num_classes, mean=mean, std=std, model_kwargs=cfg.model_kwargs,
                float32_output=precision != "float32",
            )
            rec = recipe.make_recipe(
                epochs=cfg.epochs, steps_per_epoch=steps, learning_rate=cfg.learning_rate,
                weight_decay=cfg.weight_decay, warmup_epochs=cfg.warmup_epochs, label_smoothing=cfg.label_smoothing,
            )
            model.compile(
                optimizer=rec.optimizer,
                loss=rec.loss,
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                jit_compile=resolve_jit_compile(cfg.jit_compile),
            )
    finally:
        keras.config.set_dtype_policy(previous_policy)

    backup = ResumableBackup(os.path.join(out_dir, "backup"), save_freq=cfg.checkpoint_every)
    with strategy.scope():
        start = backup.restore(model)
    # Every worker restores its own backup (the weights are identical on all workers);
    # they must agree on the step, or their collective ops would not line up.
    _distribute.check_workers_agree("resumed_from_step", start, strategy)
    if start == 0 and os.path.exists(os.path.join(out_dir, "history.csv")):
        os.remove(os.path.join(out_dir, "history.csv"))  # a fresh run, not a resumed one
    app_callbacks = [keras.callbacks.CSVLogger(os.path.join(out_dir, "history.csv"), append=True)]
    if cfg.tensorboard and _tensorboard_available():
        app_callbacks.append(keras.callbacks.TensorBoard(os.path.join(out_dir, "logs"), update_freq="epoch"))
    app_callbacks.append(backup)  # after CSVLogger: an epoch's row is written before its backup
    app_callbacks += list(callbacks)

    augment = pipeline.AugmentConfig(cfg.rotation, cfg.scale, cfg.shift, cfg.hflip)
    val = (_distribute.shard_by_data(pipeline.eval_dataset(x_test, y_test, num_classes=data.num_classes))
           if cfg.validate else None)

    def stream(first_step):
        return pipeline.train_stream(x_train, y_train, batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed,
                                     augment=augment, start_step=first_step, num_classes=data.num_classes)

    t0 = time.perf_counter()
    epoch, done = divmod(start, steps)
    if done:  # finish the interrupted epoch from its next batch
        # kerasnets.distribute.fit is model.fit, plus Keras 3's multi-worker workarounds.
        _distribute.fit(model, stream(start), strategy=strategy, initial_epoch=epoch, epochs=cfg.epochs, steps_per_epoch=steps - done,
                  validation_data=val, callbacks=app_callbacks + [_StopAfterEpoch()], verbose=cfg.verbose, shuffle=False)
        epoch += 1
    if epoch < cfg.epochs:
        _distribute.fit(model, stream(epoch * steps), strategy=strategy, initial_epoch=epoch, epochs=cfg.epochs, steps_per_epoch=steps,
                  validation_data=val, callbacks=app_callbacks, verbose=cfg.verbose, shuffle=False)
    train_seconds = time.perf_counter() - t0

    test_accuracy = None
    if len(x_test):
        test_data = _distribute.shard_by_data(pipeline.eval_dataset(x_test, y_test, num_classes=data.num_classes))
        test_accuracy = float(_distribute.evaluate(model, test_data, strategy=strategy, verbose=0,
                                                   return_dict=True)["accuracy"])
    model.save(os.path.join(out_dir, "model.keras"))
    metrics = {"test_accuracy": test_accuracy, "train_seconds": train_seconds, "resumed_from_step": start,
               "total_steps": total, "precision": precision, "jit_compile": resolve_jit_compile(cfg.jit_compile),
               "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    backup.clear()
    return TrainResult(model, cfg, read_history(out_dir), test_accuracy, train_seconds, start, out_dir)

