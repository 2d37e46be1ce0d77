"""Training for the MNIST app: seeded, resumable, distributable, and safe with its run folder.

`train` is the whole ``python -m apps.mnist train`` command as a
function. With the TensorFlow backend it can be called inside a
``tf.distribute`` strategy scope (it then uses that strategy), or picks one
from ``config.strategy``; with any other backend (JAX) it runs without
TensorFlow, on the NumPy input pipeline (`apps.mnist.pipeline`).

Resuming: a `ResumableBackup` (a ``keras.callbacks.BackupAndRestore``)
saves weights and optimizer state at least every ``checkpoint_every`` steps and at each
epoch end into ``<run_dir>/backup``, atomically (a new file is renamed into
place; the one before is kept as the previous checkpoint). When `train`
starts and finds a backup, it restores it, reads the global step from the
optimizer, finishes the interrupted epoch from the very next batch (the input
stream is a pure function of seed and step), then runs the remaining epochs.
Nothing done before the last checkpoint is lost or repeated; on CPU with
``deterministic=True`` the resumed run ends with the same weights as an
uninterrupted one.

Steps per execution: Keras runs ``steps_per_execution`` train steps per call
from Python (`steps_per_execution`: the largest divisor of the epoch's steps up
to ``checkpoint_every``), so an execution never crosses an epoch end or a
checkpoint, and the results are those of one step per call. On the 2-core CPU
this took a third off mnist-5k's training time (docs/benchmarks.md). Under a
``tf.distribute`` strategy it stays one step per call (Keras's multi-step loop
fails on multi-worker iterators).

The run folder keeps its work safe:

- a restore never overwrites or deletes a checkpoint; only a newest file that
  is really unreadable (truncated or corrupt HDF5) falls back to the previous
  one, and a checkpoint of another architecture is a clear error naming both models;
- ``config.json`` records the run's settings (written after the checks);
  resuming with settings that change the run is refused with the list of
  differences (`RUN_SETTINGS`);
- a finished run (``model.keras``) is not trained over unless ``overwrite=True``;
- a lock file (``.lock``, held with ``fcntl.flock``) stops a second training in
  the same folder; the lock of a killed process is noticed and taken over;
- Ctrl-C saves a checkpoint at the step reached and raises
  `TrainingInterrupted` ("interrupted at epoch E step S; run the same
  command to resume").
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import time

import keras
import numpy as np

from apps.mnist import pipeline, recipe
from apps.mnist.data import FOLDER, canonical_dataset, load_app_data
from apps.mnist.model import build_classifier
from kerasnets import distribute as _distribute
from kerasnets import xla as _xla
from kerasnets.checks import check_choice, check_fraction, check_positive_int, check_positive_number

__all__ = ["TrainConfig", "TrainResult", "train", "ResumableBackup", "RunLock", "RunFolderError",
           "TrainingInterrupted", "RUN_SETTINGS", "get_strategy", "resolve_jit_compile", "resolve_precision",
           "read_history", "steps_per_execution"]

STRATEGIES = ("default", "mirrored", "multiworker")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_CHOICES = ("auto", "on", "off")
# The settings that change what a run computes: resuming with any of them changed is refused.
RUN_SETTINGS = ("dataset", "model", "model_kwargs", "epochs", "batch_size", "learning_rate", "weight_decay",
                "warmup_epochs", "label_smoothing", "rotation", "scale", "shift", "hflip", "seed", "precision",
                "train_limit", "folder_limit")


class RunFolderError(ValueError):
    """The run folder cannot be used for this training as asked (finished, other settings, locked, unreadable)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; the checkpoint at `step` is kept (``str()``: the one line to print)."""

    def __init__(self, epoch: int, step: int, global_step: int):
        self.epoch, self.step, self.global_step = epoch, step, global_step
        super().__init__(f"interrupted at epoch {epoch} step {step}; run the same command to resume")


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run depends on (saved as ``config.json`` in the run directory).

    ``None`` fields take the per-dataset defaults of `apps.mnist.recipe.DEFAULTS`.
    ``dataset="folder"`` trains on the image folder or archive ``data_dir``
    (`apps.mnist.data`). ``pipeline`` is ``"auto"`` (``tf.data`` with the
    TensorFlow backend, NumPy otherwise), ``"tf"`` or ``"numpy"``: both give the
    same batches.
    """

    dataset: str = "mnist-5k"
    data_dir: str | None = None
    download: bool = True
    model: str = "lenet5"
    model_kwargs: dict = dataclasses.field(default_factory=lambda: {"form": "modern"})
    epochs: int | None = None
    batch_size: int | None = None
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
    folder_limit: int | None = None
    tensorboard: bool = True
    verbose: int | str = "auto"
    pipeline: str = "auto"

    def resolved(self) -> "TrainConfig":
        """A copy with the dataset defaults filled in and every field checked."""
        cfg = dataclasses.replace(self, model_kwargs=dict(self.model_kwargs or {}))
        cfg.dataset = canonical_dataset(cfg.dataset)
        defaults = recipe.DEFAULTS[cfg.dataset]
        for key in ("epochs", "batch_size", "learning_rate", "rotation", "scale", "shift", "hflip"):
            if getattr(cfg, key) is None:
                setattr(cfg, key, defaults[key])
        check_positive_int("epochs", cfg.epochs)
        check_positive_int("batch_size", cfg.batch_size)
        for key, allow_zero in (("learning_rate", False), ("weight_decay", True), ("warmup_epochs", True),
                                ("rotation", True), ("shift", True)):
            value = check_positive_number(key, getattr(cfg, key), allow_zero=allow_zero)
            if not math.isfinite(value):  # inf trains a NaN model and "succeeds"
                raise ValueError(f"`{key}` must be a finite number. Received: {key}={value!r}")
        check_fraction("label_smoothing", cfg.label_smoothing)
        check_fraction("scale", cfg.scale)
        check_choice("jit_compile", cfg.jit_compile, JIT_CHOICES)
        check_choice("precision", cfg.precision, PRECISIONS)
        check_choice("strategy", cfg.strategy, STRATEGIES)
        check_choice("pipeline", cfg.pipeline, pipeline.PIPELINES)
        check_positive_int("checkpoint_every", cfg.checkpoint_every)
        if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, (int, np.integer)) or cfg.seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0. Received: seed={cfg.seed!r}")
        for key in ("train_limit", "test_limit", "folder_limit"):
            if getattr(cfg, key) is not None:
                check_positive_int(key, getattr(cfg, key))
        if cfg.dataset == FOLDER and cfg.data_dir is None:
            raise ValueError("dataset 'folder' trains on --data-dir (a folder with one sub-folder per class, or a "
                             ".tar.gz holding train/ and test/ such folders). Received: data_dir=None")
        return cfg

    def settings(self) -> dict:
        """The values of `RUN_SETTINGS` (what must match to resume a run)."""
        data = dataclasses.asdict(self)
        return {key: data.get(key) for key in RUN_SETTINGS}

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclasses.dataclass
class TrainResult:
    """What `train` returns."""

    model: keras.Model
    config: TrainConfig
    history: list  # one dict per epoch (from history.csv)
    test_accuracy: float | None
    train_seconds: float
    resumed_from_step: int
    run_dir: str


def _h5_readable(path: str) -> bool:
    """Whether ``path`` is a complete HDF5 file whose every dataset can be read (not truncated or corrupt)."""
    import h5py

    def read(_name, item):
        if isinstance(item, h5py.Dataset):
            item[()]

    try:
        with h5py.File(path, "r") as f:
            f.visititems(read)
    except Exception:  # noqa: BLE001 - h5py raises OSError, KeyError, RuntimeError... for damaged files
        return False
    return True


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that saves every ``save_freq`` steps *and* at every epoch end, atomically.

    Restoring is done by `train` (`restore`) before ``fit`` so it can
    resume mid-epoch at the exact step; this callback only saves. Each save
    writes a new file and renames it into place; the checkpoint it replaces
    becomes the previous one (``latest.weights.h5`` and ``prev.weights.h5``), so
    a kill at any moment leaves at least one complete checkpoint. The backup
    is kept until `clear` is called after a successful run.
    """

    def __init__(self, backup_dir: str, save_freq: int):
        super().__init__(backup_dir, save_freq=save_freq, double_checkpoint=True, delete_checkpoint=False)
        # Keras names the previous file "latest.weights.h5.bkp", which load_weights refuses (suffix);
        # this class keeps it as prev.weights.h5 and still reads a .bkp left by an older version.
        self._legacy_prev_path = self._prev_weights_path
        self._prev_weights_path = os.path.join(backup_dir, "prev.weights.h5")
        self.saved_step = -1  # global step of the newest checkpoint (-1: none)
        self._unsaved = 0  # steps trained since the last save
        self._previous_batch = -1
        self._skip_latest = False  # restore found latest unreadable: keep it aside at the next save
        self._saves = 0  # numbers this process's temporary files: each save writes a new one

    def on_train_begin(self, logs=None):
        # Restoring happened in train(); don't let the parent move the initial epoch.
        self.model._initial_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._previous_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        # Counted here: Keras's own count takes the first batch of an epoch as one step, which is
        # wrong when a call runs several steps (``batch`` is then the last of them).
        self._unsaved += batch - self._previous_batch
        self._previous_batch = batch
        if self._unsaved >= self.save_freq:
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self._save_model()

    def _step(self) -> int:
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def _save_model(self):
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:  # JAX keeps the training state outside the model's variables during fit
            sync()
        step = self._step()
        self._unsaved = 0
        if step == self.saved_step:
            return  # the epoch-end save right after a step save: nothing new
        os.makedirs(self.backup_dir, exist_ok=True)
        self._saves += 1
        tmp = os.path.join(self.backup_dir, f".saving-{os.getpid()}-{self._saves}.weights.h5")
        try:
            self.model.save_weights(tmp, overwrite=True)
        except BaseException:
            # A Ctrl-C inside the write can leave HDF5 holding the file open (the traceback keeps
            # it alive); the save that follows (`save_now`) writes to a new name, this one goes.
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        if os.path.exists(self._weights_path):
            if self._skip_latest:  # an unreadable file: kept for inspection, never the previous checkpoint
                aside, n = self._weights_path + ".unreadable", 1
                while os.path.exists(aside):
                    n += 1
                    aside = f"{self._weights_path}.unreadable{n}"
                os.replace(self._weights_path, aside)
                self._skip_latest = False
            else:
                os.replace(self._weights_path, self._prev_weights_path)
        os.replace(tmp, self._weights_path)
        self.saved_step = step

    def save_now(self, model: keras.Model) -> int:
        """Save a checkpoint of ``model`` now (e.g. on Ctrl-C) unless the newest one is at this step."""
        self.set_model(model)
        self._save_model()
        return self.saved_step

    def restore(self, model: keras.Model, *, run_model: str | None = None, asked_model: str | None = None) -> int:
        """Load the newest readable backup into ``model``; never modifies a checkpoint file.

        A newest file that is really unreadable (truncated or corrupt HDF5, e.g.
        a kill during a save by an older version) falls back to the previous
        one, which is used where it lies. A readable checkpoint that does not fit
        ``model`` is an error naming ``run_model`` (the run's) and ``asked_model``.

        Returns:
            The global step (optimizer iterations) restored, 0 without a backup.

        Raises:
            RunFolderError: the checkpoint is of another architecture, or no checkpoint is readable.
        """
        # Build the optimizer first, backup or not: under a multi-worker strategy creating
        # variables is a collective step every worker must take together.
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        unreadable = []
        for path in (self._weights_path, self._prev_weights_path, self._legacy_prev_path):
            if not os.path.exists(path):
                continue
            if not _h5_readable(path):
                unreadable.append(path)
                continue
            try:
                self._load(model, path)
            except Exception as exc:  # noqa: BLE001 - a complete file that does not fit this model
                raise RunFolderError(
                    f"the checkpoint {path!r} does not fit the model asked for: it was saved by a run of "
                    f"{run_model or 'another model (no config.json)'}, this command asks for {asked_model}"
                    f" ({exc}). Resume with the run's settings, or start a fresh run: another --run-dir, or "
                    f"--overwrite to discard this checkpoint."
                ) from None
            if unreadable:
                import warnings

                warnings.warn(f"Checkpoint {unreadable[0]!r} is unreadable (truncated or corrupt); resuming from "
                              f"the previous one, {path!r}. Neither file is modified.", stacklevel=2)
                self._skip_latest = True
            self.saved_step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
            return self.saved_step
        if unreadable:
            raise RunFolderError(
                f"no readable checkpoint in {self.backup_dir!r}: {', '.join(map(repr, unreadable))} "
                "cannot be read (truncated or corrupt). Nothing was changed; start a fresh run: another "
                "--run-dir, or --overwrite to discard this backup."
            )
        return 0

    def _load(self, model: keras.Model, path: str) -> None:
        import warnings

        copy = None
        if not path.endswith(".weights.h5"):
            copy = os.path.join(self.backup_dir, f".reading-{os.getpid()}.weights.h5")  # the file itself stays as is
            shutil.copyfile(path, copy)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.load_weights(copy or path)
        finally:
            if copy is not None:
                os.remove(copy)
        # Keras loads what matches and only warns for layers it skipped: a silent half-restored model.
        skipped = [str(w.message) for w in caught if "Skipping" in str(w.message) or "freshly-initialized" in str(w.message)]
        if skipped:
            raise ValueError(f"{len(skipped)} part(s) of the model are not in the checkpoint ({skipped[0]})")

    def has_checkpoint(self) -> bool:
        return any(os.path.exists(p) for p in (self._weights_path, self._prev_weights_path, self._legacy_prev_path))

    def clear(self) -> None:
        shutil.rmtree(self.backup_dir, ignore_errors=True)


def steps_per_execution(steps: int, checkpoint_every: int) -> int:
    """Train steps per Keras execution: the largest divisor of ``steps`` that is at most ``checkpoint_every``.

    A divisor, so that every execution ends inside the epoch (an execution that crossed the epoch's
    end would take the next epoch's batches); at most ``checkpoint_every``, so that the checkpoints
    (taken between executions) stay at most that many steps apart.

    Example:
        >>> steps_per_execution(31, 50), steps_per_execution(468, 50), steps_per_execution(80, 3)
        (31, 39, 2)
    """
    return max(k for k in range(1, min(steps, checkpoint_every) + 1) if steps % k == 0)


def _use_steps_per_execution(model: keras.Model, k: int) -> None:
    """Run ``k`` steps per execution from now on (the train function is rebuilt if ``k`` changes)."""
    if model.steps_per_execution != k:
        model.steps_per_execution = k
        model.make_train_function(force=True)


class _StopAfterEpoch(keras.callbacks.Callback):
    """Stops ``fit`` at the end of the current epoch (used to finish a partial epoch)."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """An exclusive lock on a run folder: ``<run_dir>/.lock`` held with ``fcntl.flock``.

    The kernel drops the lock when its process dies, so a killed training never
    blocks the next one; the pid it left in the file is reported ("stale lock").

    Raises (on enter):
        RunFolderError: another live process holds the lock (names its pid).
    """

    def __init__(self, run_dir: str):
        self.path = os.path.join(run_dir, ".lock")
        self.stale_pid: int | None = None
        self._fd = None

    def __enter__(self) -> "RunLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").split()
            os.close(fd)
            who = f"process {holder[0]}" if holder else "another process"
            raise RunFolderError(
                f"run folder {os.path.dirname(self.path)!r} is in use: {who} is training in it (lock file "
                f"{self.path!r}). Wait for it to finish, stop it, or use another --run-dir."
            ) from None
        previous = os.pread(fd, 64, 0).decode(errors="replace").split()
        if previous and previous[0].isdigit() and int(previous[0]) != os.getpid():
            self.stale_pid = int(previous[0])
            state = "is no longer running" if not _pid_alive(self.stale_pid) else "no longer holds it"
            print(f"note: stale lock {self.path} of process {self.stale_pid}, which {state} (killed?); "
                  "taking it over", file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # a clean exit leaves no pid behind
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _tf_backend() -> bool:
    return keras.backend.backend() == "tensorflow"


class _NoStrategy:
    """The strategy stand-in outside TensorFlow: one replica, a no-op scope."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def get_strategy(name: str = "default"):
    """The ``tf.distribute`` strategy for ``--strategy`` (`kerasnets.distribute.get_strategy`).

    ``default``: the current strategy (the no-op default outside any scope;
    a TensorFlow-free stand-in with another Keras backend);
    ``mirrored``: ``MirroredStrategy`` over the local GPUs (or the CPU);
    ``multiworker``: ``MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``.

    Raises:
        ValueError: an unknown name, or ``mirrored``/``multiworker`` without the TensorFlow backend.
    """
    check_choice("strategy", name, STRATEGIES)
    if not _tf_backend():
        if name != "default":
            raise ValueError(f"`strategy` {name!r} is a tf.distribute strategy and needs the TensorFlow backend "
                             f"(KERAS_BACKEND=tensorflow); with {keras.backend.backend()} use the default. "
                             f"Received: strategy={name!r}")
        return _NoStrategy()
    return _distribute.get_strategy(name)


def _distributed(strategy) -> bool:
    """Whether ``strategy`` is a real ``tf.distribute`` one (not the stand-in or TensorFlow's no-op default)."""
    if isinstance(strategy, _NoStrategy):
        return False
    import tensorflow as tf

    # Outside any scope get_strategy() is TensorFlow's default strategy; inside one, it is that one.
    return tf.distribute.has_strategy() or strategy is not tf.distribute.get_strategy()


def _current_strategy(cfg):
    if _tf_backend():
        import tensorflow as tf

        if tf.distribute.has_strategy():
            return tf.distribute.get_strategy()
    return get_strategy(cfg.strategy)


def _has_gpu() -> bool:
    if _tf_backend():
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return _xla.detect_device(keras.backend.backend()) == "gpu"


def resolve_jit_compile(value: str = "auto") -> bool:
    """``auto``: XLA on GPU, off with TensorFlow on CPU, on with JAX (`kerasnets.xla.resolve_jit_compile`;
    on the 2-core CPU XLA made the convnets 2-7x slower under TensorFlow, see docs/benchmarks.md); ``on``/``off`` force it."""
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
    if isinstance(strategy, _NoStrategy):
        return run_dir
    return _distribute.worker_filepath(run_dir, strategy)


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _read_json(path: str) -> dict | None:
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe_model(settings: dict | None) -> str:
    if not settings:
        return "another model (no readable config.json)"
    options = settings.get("model_kwargs") or {}
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(options.items()))
    return f"{settings.get('model')!r}" + (f" ({shown})" if shown else "")


def _check_run_folder(out_dir: str, cfg: TrainConfig, backup: ResumableBackup, overwrite: bool) -> dict | None:
    """Refuse what would lose work or silently mix two runs; returns the run's saved config (or None).

    With ``overwrite``, discards the backup and history of a previous run (the
    user asked for it); ``model.keras`` / ``metrics.json`` are replaced only at the end.
    """
    saved = _read_json(os.path.join(out_dir, "config.json"))
    if overwrite:
        if backup.has_checkpoint():
            backup.clear()
        for name in ("history.csv",):
            if os.path.exists(os.path.join(out_dir, name)):
                os.remove(os.path.join(out_dir, name))
        return None
    if backup.has_checkpoint():
        if saved is not None:
            old = TrainConfig.from_json(json.dumps(saved)).settings()
            new = cfg.settings()
            differ = [key for key in RUN_SETTINGS if key in saved and old[key] != new[key]]
            if differ:
                lines = "\n".join(f"  {key}: {old[key]!r} in the run, {new[key]!r} asked" for key in differ)
                raise RunFolderError(
                    f"run folder {cfg.run_dir!r} holds an interrupted run with other settings; resuming it "
                    f"with these would mix two runs:\n{lines}\nRun the same command as before to resume it, or "
                    f"start a fresh run: another --run-dir, or --overwrite to discard its checkpoint."
                )
        return saved
    finished = [name for name in ("model.keras", "metrics.json") if os.path.exists(os.path.join(out_dir, name))]
    if finished:
        metrics = _read_json(os.path.join(out_dir, "metrics.json")) or {}
        accuracy = metrics.get("test_accuracy")
        shown = f"; test accuracy {accuracy:.4f}" if isinstance(accuracy, (int, float)) else ""
        raise RunFolderError(
            f"run folder {cfg.run_dir!r} holds a finished training ({', '.join(finished)}{shown}); training "
            "again would replace it. Pass --overwrite to train again from scratch, or use another --run-dir."
        )
    return saved


def _interrupted(model, steps: int) -> TrainingInterrupted:
    done = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    epoch, step = divmod(done, steps)
    return TrainingInterrupted(epoch + 1, step, done)


def train(config: TrainConfig | None = None, *, strategy=None, callbacks=(), overwrite: bool = False,
          **overrides) -> TrainResult:
    """Train a classifier on MNIST / Fashion-MNIST / mnist-5k or an image folder.

    Args:
        config: a `TrainConfig` (default: LeNet-5 on mnist-5k).
        strategy: a ``tf.distribute`` strategy (TensorFlow backend); default: the
            one whose scope this is called in, else ``config.strategy``.
        callbacks: extra Keras callbacks (appended after the app's own).
        overwrite: train from scratch in a run folder that holds a finished or
            interrupted run (its checkpoint and history are discarded; its
            ``model.keras`` and ``metrics.json`` are replaced at the end).
        **overrides: fields of `TrainConfig` to replace.

    Returns:
        A `TrainResult`; the run directory holds ``config.json``,
        ``history.csv``, ``logs/`` (TensorBoard), ``model.keras`` and ``metrics.json``.

    Raises:
        ValueError/TypeError: a bad configuration value (named).
        RunFolderError: the run folder is finished, in use, holds a run with
            other settings, or its checkpoint is unreadable / of another model.
        TrainingInterrupted: Ctrl-C (a checkpoint at the step reached is kept).
        kerasnets.data.DatasetNotFoundError: the dataset is not available.

    Example:
        >>> result = train(TrainConfig(epochs=1, train_limit=512, run_dir="/tmp/mnist_run"))  # doctest: +SKIP
    """
    cfg = dataclasses.replace(config or TrainConfig(), **overrides).resolved()
    cfg.pipeline = pipeline.choose_pipeline(cfg.pipeline)
    if strategy is None:
        strategy = _current_strategy(cfg)
    out_dir = _worker_dir(cfg.run_dir, strategy)
    os.makedirs(out_dir, exist_ok=True)
    backup = ResumableBackup(os.path.join(out_dir, "backup"), save_freq=cfg.checkpoint_every)
    with RunLock(out_dir):
        saved = _check_run_folder(out_dir, cfg, backup, overwrite)
        return _train_locked(cfg, strategy, out_dir, backup, saved, list(callbacks))


def _train_locked(cfg: TrainConfig, strategy, out_dir: str, backup: ResumableBackup, saved, callbacks) -> TrainResult:
    data = load_app_data(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download, folder_limit=cfg.folder_limit)
    x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    if cfg.train_limit:
        x_train, y_train = x_train[: cfg.train_limit], y_train[: cfg.train_limit]
    if cfg.test_limit:
        x_test, y_test = x_test[: cfg.test_limit], y_test[: cfg.test_limit]
    mean = float(x_train.mean() / 255.0)
    std = float(x_train.std() / 255.0)
    steps = pipeline.steps_per_epoch(len(x_train), cfg.batch_size)
    total = steps * cfg.epochs

    # Written after every check: a refused command leaves the run's record as it was.
    _write_atomic(os.path.join(out_dir, "config.json"), cfg.to_json())
    _write_atomic(os.path.join(out_dir, "data.json"), json.dumps(
        {"dataset": data.name, "source": data.source, "class_names": list(data.class_names), "mean": mean,
         "std": std, "image_shape": list(data.image_shape), "train_examples": len(x_train),
         "test_examples": len(x_test), "steps_per_epoch": steps}, indent=2))

    if cfg.deterministic and _tf_backend():
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(cfg.seed)
    precision = resolve_precision(cfg.precision)
    jit_compile = resolve_jit_compile(cfg.jit_compile)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        with strategy.scope():
            model = build_classifier(
                cfg.model, classes=data.num_classes, mean=mean, std=std, model_kwargs=cfg.model_kwargs,
                float32_output=precision != "float32", input_shape=data.image_shape,
            )
            rec = recipe.make_recipe(
                epochs=cfg.epochs, steps_per_epoch=steps, learning_rate=cfg.learning_rate,
                weight_decay=cfg.weight_decay, warmup_epochs=cfg.warmup_epochs, label_smoothing=cfg.label_smoothing,
            )
            model.compile(
                optimizer=rec.optimizer,
                loss=rec.loss,
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                jit_compile=jit_compile,
            )
    finally:
        keras.config.set_dtype_policy(previous_policy)

    with strategy.scope():
        start = backup.restore(model, run_model=_describe_model(saved), asked_model=_describe_model(cfg.settings()))
    tf_strategy = not isinstance(strategy, _NoStrategy)
    if tf_strategy:
        # Every worker restores its own backup (the weights are identical on all workers);
        # they must agree on the step, or their collective ops would not line up.
        _distribute.check_workers_agree("resumed_from_step", start, strategy)
    if start == 0 and os.path.exists(os.path.join(out_dir, "history.csv")):
        os.remove(os.path.join(out_dir, "history.csv"))  # a fresh run, not a resumed one
    from kerasnets.progress import epoch_logger

    app_callbacks = [keras.callbacks.CSVLogger(os.path.join(out_dir, "history.csv"), append=True)]
    if cfg.tensorboard and _tensorboard_available():
        app_callbacks.append(keras.callbacks.TensorBoard(os.path.join(out_dir, "logs"), update_freq="epoch"))
    app_callbacks.append(backup)  # after CSVLogger: an epoch's row is written before its backup
    if cfg.verbose not in (0, "0"):
        app_callbacks.append(epoch_logger(total_epochs=cfg.epochs))
    app_callbacks += callbacks

    augment = pipeline.AugmentConfig(cfg.rotation, cfg.scale, cfg.shift, cfg.hflip)
    kind = cfg.pipeline

    def eval_of(x, y):
        data_ = pipeline.eval_data(x, y, num_classes=data.num_classes, pipeline=kind)
        return _distribute.shard_by_data(data_) if kind == "tf" else data_

    val = eval_of(x_test, y_test) if cfg.validate and len(x_test) else None

    def stream(first_step):
        s = pipeline.train_stream(x_train, y_train, batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed,
                                  augment=augment, start_step=first_step, num_classes=data.num_classes,
                                  pipeline=kind)
        return s if kind == "tf" else iter(s)

    def fit(first_step, **kwargs):
        # Executions end at the checkpoints: the backup saves every `per_call` steps. Under a
        # tf.distribute strategy one step per call: Keras's multi-step loop fails on a
        # multi-worker iterator (InvalidArgumentError in its `has_next`, TF 2.21).
        per_call = 1 if _distributed(strategy) else steps_per_execution(kwargs["steps_per_epoch"], cfg.checkpoint_every)
        _use_steps_per_execution(model, per_call)
        backup.save_freq = per_call
        kwargs.update(validation_data=val, verbose=0, shuffle=False)
        if kind == "numpy":
            kwargs["validation_batch_size"] = 500
        if tf_strategy and kind == "tf":
            # kerasnets.distribute.fit is model.fit, plus Keras 3's multi-worker workarounds.
            return _distribute.fit(model, stream(first_step), strategy=strategy, **kwargs)
        return model.fit(stream(first_step), **kwargs)

    t0 = time.perf_counter()
    epoch, done = divmod(start, steps)
    try:
        if done:  # finish the interrupted epoch from its next batch
            fit(start, initial_epoch=epoch, epochs=cfg.epochs, steps_per_epoch=steps - done,
                callbacks=app_callbacks + [_StopAfterEpoch()])
            epoch += 1
        if epoch < cfg.epochs:
            fit(epoch * steps, initial_epoch=epoch, epochs=cfg.epochs, steps_per_epoch=steps, callbacks=app_callbacks)
    except KeyboardInterrupt:
        backup.save_now(model)  # nothing lost: the steps done since the last checkpoint are kept
        raise _interrupted(model, steps) from None
    train_seconds = time.perf_counter() - t0

    test_accuracy = None
    if len(x_test):
        test = eval_of(x_test, y_test)
        if kind == "numpy":
            result = model.evaluate(*test, batch_size=500, verbose=0, return_dict=True)
        elif tf_strategy:
            result = _distribute.evaluate(model, test, strategy=strategy, verbose=0, return_dict=True)
        else:
            result = model.evaluate(test, verbose=0, return_dict=True)
        test_accuracy = float(result["accuracy"])
    tmp_model = os.path.join(out_dir, f".model-{os.getpid()}.keras")
    model.save(tmp_model)
    os.replace(tmp_model, os.path.join(out_dir, "model.keras"))
    metrics = {"test_accuracy": test_accuracy, "train_seconds": train_seconds, "resumed_from_step": start,
               "total_steps": total, "precision": precision, "jit_compile": jit_compile,
               "backend": keras.backend.backend(), "pipeline": kind,
               "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
    _write_atomic(os.path.join(out_dir, "metrics.json"), json.dumps(metrics, indent=2))
    backup.clear()
    return TrainResult(model, cfg, read_history(out_dir), test_accuracy, train_seconds, start, out_dir)
