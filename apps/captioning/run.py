"""Run folders of ``python -m apps.captioning train``: nothing lost, resumable, one training at a time.

The ``--out`` folder is the run folder. While training it holds::

    run.json          the settings of the run and its status ("running" / "finished"),
                      written only after the settings were checked against the saved ones
    .lock             held (``fcntl.flock``) by the training process: a second training in
                      the same folder stops with a clear message
    checkpoint/       epoch-<E>/ folders, each complete before it is renamed into place:
                      ``state.npz`` (every model variable, the optimizer's and the dropout
                      seed states) and ``state.json`` (epoch, history); the last two are kept

and, once finished, the saved captioner (config.json, vocab.txt, the weights files).

Resuming restores *all* the state a step depends on (weights, Adam moments and iteration
count, the dropout layers' seed-generator states) and the data order is a function of
``(seed, epoch)`` (`apps.captioning.captioner.CaptionBatches`), so a run killed at
any moment and run again with the same command ends with the same weights as an
uninterrupted run. No restore ever deletes or overwrites a checkpoint: a damaged newest
one is reported and the previous one is used.

keras is imported inside the functions that need it (this module is imported by the CLI).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys

__all__ = ["RunFolder", "RunFolderError", "RUN_FILE", "TRAINING_SETTINGS"]

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
CHECKPOINT_DIR = "checkpoint"
_MODEL_FILES = ("config.json", "vocab.txt", "encoder.weights.h5", "decoder.weights.h5")
_EPOCH_DIR = re.compile(r"^epoch-(\d+)$")

#: The ``train`` flags that change what a run computes (compared on resume), by argparse
#: destination. ``--out``, ``--quiet``, ``--cache-dir``, ``--encode-batch-size`` and
#: ``--overwrite`` do not change the result and may differ between the calls of one run.
TRAINING_SETTINGS = (
    "data", "images", "format", "split", "split_seed", "scenes", "scene_size", "scene_seed",
    "backbone", "backbone_option", "encoder_weights", "train_encoder", "encoder_lr", "image_size", "preprocess",
    "cell", "units", "embed_dim", "attention", "attention_units", "dropout", "use_cudnn",
    "vocab_size", "max_length", "epochs", "batch_size", "lr", "clipnorm", "jit_compile", "group_captions", "patience", "seed",
)


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked (finished, other settings, busy); the message says what to do."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _write_json(path: str, data) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunFolder:
    """The ``--out`` folder of one training run.

    Args:
        path: the folder (created by `begin` if missing).
        flag: the flag that named it, for messages.
    """

    def __init__(self, path, flag: str = "--out"):
        self.path = os.fspath(path)
        self.flag = flag
        self._lock_fd = None
        #: ``{"epoch": E (1-based), "step": S}`` while training (for the Ctrl-C message).
        self.position = {"epoch": 0, "step": 0}

    # -- state ---------------------------------------------------------------------------
    def _file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def saved_run(self) -> dict | None:
        """The ``run.json`` of the folder, or None."""
        path = self._file(RUN_FILE)
        if not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            raise RunFolderError(
                f"{self.flag} {self.path!r}: its {RUN_FILE} cannot be read ({err}); move the folder away or "
                "choose another " + self.flag
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
            raise RunFolderError(f"{self.flag} {self.path!r}: {RUN_FILE} is not a run description; choose another {self.flag}")
        return data

    def has_model(self) -> bool:
        """Whether the folder holds a saved captioner."""
        return all(os.path.isfile(self._file(n)) for n in _MODEL_FILES)

    # -- begin / end ---------------------------------------------------------------------
    def begin(self, settings: dict, *, overwrite: bool = False) -> bool:
        """Lock the folder, check ``settings`` against the saved run, record them.

        Returns:
            True when the run resumes from a checkpoint of the same settings, False for a
            fresh start.

        Raises:
            RunFolderError: another training holds the folder; the folder holds a finished
                run (without ``overwrite``); the saved run has other settings (each listed,
                old and new); the folder is not a run folder.
        """
        settings = json.loads(json.dumps(settings))  # as it will read back from run.json
        if os.path.isdir(self.path):
            entries = [e for e in os.listdir(self.path) if e != LOCK_FILE]
            saved = self.saved_run()
            if saved is None and entries and not self.has_model():
                raise RunFolderError(
                    f"{self.flag} {self.path!r} is a non-empty folder that is not a captioning run "
                    f"(no {RUN_FILE}); choose a new or empty folder"
                )
        else:
            os.makedirs(self.path)
            saved = None
        self._lock()
        saved = self.saved_run()  # again, now that no other training can change it
        finished = self.has_model() and (saved is None or saved.get("status") == "finished")
        if finished and not overwrite:
            raise RunFolderError(
                f"{self.flag} {self.path!r} holds a finished run; pass --overwrite to train again from scratch "
                "(the model there is replaced only when the new training ends), or choose another " + self.flag
            )
        resume = False
        if saved is not None and not finished:
            diffs = [
                f"{_flag(k)} {saved['settings'].get(k)!r} -> {settings.get(k)!r}"
                for k in sorted(set(saved["settings"]) | set(settings))
                if saved["settings"].get(k) != settings.get(k)
            ]
            if diffs and not overwrite:
                raise RunFolderError(
                    f"{self.flag} {self.path!r} holds an unfinished run with other settings: " + "; ".join(diffs)
                    + ". Run the same command as before to resume it, pass --overwrite to discard it and start "
                    f"afresh, or choose another {self.flag}"
                )
            resume = not diffs
        if not resume:
            shutil.rmtree(self._file(CHECKPOINT_DIR), ignore_errors=True)
        _write_json(self._file(RUN_FILE), {"status": "running", "settings": settings})
        return resume and bool(self._checkpoints())

    def _lock(self) -> None:
        import fcntl

        fd = os.open(self._file(LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            try:
                with open(self._file(LOCK_FILE), encoding="utf-8") as f:
                    holder = f.read().strip() or "?"
            except OSError:
                holder = "?"
            raise RunFolderError(
                f"{self.flag} {self.path!r}: another training is running in this folder (process {holder} holds "
                f"{os.path.join(self.path, LOCK_FILE)}); wait for it to end or choose another {self.flag}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def finish(self, captioner) -> None:
        """Save the trained captioner into the folder (atomically), mark the run finished, drop the checkpoints.

        The status is written first: a crash before the model is in place leaves a run that
        is not "finished" (no model files), which the same command resumes.
        """
        saved = self.saved_run() or {"settings": {}}
        saved["status"] = "finished"
        _write_json(self._file(RUN_FILE), saved)
        captioner.save(self.path, keep=(RUN_FILE, LOCK_FILE))  # the checkpoints go with the old folder

    def release(self) -> None:
        """Release the lock (the lock file stays; an unlocked file means nobody trains)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- checkpoints ---------------------------------------------------------------------
    def _checkpoints(self) -> list:
        """Complete checkpoint folders, newest first, as ``(epoch, path)``."""
        root = self._file(CHECKPOINT_DIR)
        found = []
        if os.path.isdir(root):
            for name in os.listdir(root):
                m = _EPOCH_DIR.match(name)
                path = os.path.join(root, name)
                if m and os.path.isfile(os.path.join(path, "state.json")):
                    found.append((int(m.group(1)), path))
        return sorted(found, reverse=True)

    def save_checkpoint(self, model, epoch: int, extra: dict) -> None:
        """Write ``epoch-<epoch>/`` (complete before its rename), then drop all but the last two."""
        import keras
        import numpy as np

        root = self._file(CHECKPOINT_DIR)
        os.makedirs(root, exist_ok=True)
        final = os.path.join(root, f"epoch-{epoch}")
        tmp = os.path.join(root, f".tmp-epoch-{epoch}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        values = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(_state_variables(model))}
        with open(os.path.join(tmp, "state.npz"), "wb") as f:
            np.savez(f, **values)
            f.flush()
            os.fsync(f.fileno())
        _write_json(os.path.join(tmp, "state.json"), {"epoch": epoch, "variables": len(values), **extra})
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for _, old in self._checkpoints()[2:]:
            shutil.rmtree(old, ignore_errors=True)

    def restore_checkpoint(self, model) -> dict | None:
        """Load the newest readable checkpoint into ``model`` (and its optimizer); its ``state.json``, or None.

        A checkpoint that cannot be read (truncated, corrupt) is reported on stderr and the
        previous one is tried; none is deleted. A checkpoint of another architecture is an error.
        """
        import numpy as np

        variables = None
        for epoch, path in self._checkpoints():
            try:
                with open(os.path.join(path, "state.json"), encoding="utf-8") as f:
                    meta = json.load(f)
                with np.load(os.path.join(path, "state.npz")) as data:
                    arrays = [data[f"v{i}"] for i in range(len(data.files))]
            except Exception as err:  # noqa: BLE001 - any unreadable file: report, try the previous one
                print(f"warning: checkpoint {path} cannot be read ({type(err).__name__}: {err}); "
                      "trying the previous one (the file is kept)", file=sys.stderr)
                continue
            if variables is None:
                if model.optimizer is not None and not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)
                variables = _state_variables(model)
            shapes = [tuple(v.shape) for v in variables]
            if len(arrays) != len(variables) or any(a.shape != s for a, s in zip(arrays, shapes)):
                raise RunFolderError(
                    f"{self.flag} {self.path!r}: checkpoint {os.path.basename(path)} does not match the model "
                    f"({len(arrays)} saved variables, the model has {len(variables)}); pass --overwrite to start afresh"
                )
            for v, a in zip(variables, arrays):
                v.assign(a)
            return meta
        return None


def _state_variables(model) -> list:
    """Everything a train step reads and writes: model variables (incl. seed states) and the optimizer's."""
    variables = list(model.variables)
    if model.optimizer is not None:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        variables += list(model.optimizer.variables)
    return variables


def checkpoint_callback(folder: RunFolder, *, history=None, position=None):
    """A Keras callback: a checkpoint after each epoch, and the position for the Ctrl-C message.

    Args:
        folder: the `RunFolder`.
        history: ``{metric: [values]}`` of the epochs before a resume (kept in the checkpoints).
        position: a dict updated with ``epoch`` (1-based) and ``step`` as training goes.
    """
    import keras

    class _Checkpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = {k: list(v) for k, v in (history or {}).items()}

        def on_epoch_begin(self, epoch, logs=None):
            if position is not None:
                position.update(epoch=epoch + 1, step=0)

        def on_train_batch_end(self, batch, logs=None):
            if position is not None:
                position["step"] = batch + 1

        def on_epoch_end(self, epoch, logs=None):
            for k, v in (logs or {}).items():
                self.history.setdefault(k, []).append(float(v))
            folder.save_checkpoint(self.model, epoch + 1, {"history": self.history})

    return _Checkpoint()
