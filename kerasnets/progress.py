"""Training progress for the apps: plain lines on stderr, results stay on stdout.

``model.fit(..., verbose=0, callbacks=[epoch_logger()])`` writes one line per
epoch to **stderr**::

    epoch 3/20  loss 0.3100  accuracy 0.9100  val_loss 0.3300  val_accuracy 0.9000  12.3 s

and, only when that stream is a terminal, a step counter rewritten in place
with ``\\r``. When stderr is piped or redirected to a file there are no ``\\r``
and no ANSI codes, so logs read cleanly; tables, JSON and final metrics go to
stdout and can be piped on their own.

keras is imported only when :func:`epoch_logger` is called, so importing this
module is free for ``--help``.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO, Any

__all__ = ["epoch_logger", "format_epoch_line", "format_value"]

_STEP_REFRESH_S = 0.1  # at most ten step-counter updates a second on a terminal


def format_value(value: Any) -> str | None:
    """A metric value as shown in a progress line (4 decimals, or 4 significant digits when large/small); None if not a scalar."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number):
        return str(number)
    if number != 0 and (abs(number) >= 1e5 or abs(number) < 1e-3):
        return f"{number:.4g}"
    return f"{number:.4f}"


def format_epoch_line(epoch: int, total: int | None, logs: dict | None, seconds: float | None = None) -> str:
    """``epoch E/N  name value  ...  T s`` (``epoch`` is 1-based; ``total`` None shows ``epoch E``).

    Examples:
        >>> format_epoch_line(3, 20, {"loss": 0.31, "accuracy": 0.91}, 12.34)
        'epoch 3/20  loss 0.3100  accuracy 0.9100  12.3 s'
    """
    parts = [f"epoch {epoch}/{total}" if total else f"epoch {epoch}"]
    for name, value in (logs or {}).items():
        shown = format_value(value)
        if shown is not None:
            parts.append(f"{name} {shown}")
    if seconds is not None:
        parts.append(f"{seconds:.1f} s")
    return "  ".join(parts)


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def epoch_logger(stream: IO[str] | None = None, *, total_epochs: int | None = None):
    """A ``keras.callbacks.Callback`` writing one plain progress line per epoch to ``stream`` (default: stderr).

    Args:
        stream: a text stream; default ``sys.stderr`` (looked up at each write,
            so redirections made after creating the callback are followed).
        total_epochs: the N of ``epoch E/N``; default the ``epochs`` of ``fit``.
            Give it when one run calls ``fit`` several times.

    Returns:
        The callback; use with ``model.fit(..., verbose=0)``.

    Examples:
        >>> import io, numpy as np, keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(loss="mse")
        >>> log = io.StringIO()
        >>> _ = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0, callbacks=[epoch_logger(log)])
        >>> [line.split()[:2] for line in log.getvalue().splitlines()]
        [['epoch', '1/2'], ['epoch', '2/2']]
    """
    import keras

    class EpochLogger(keras.callbacks.Callback):
        """One plain line per epoch on stderr; a ``\\r`` step counter only on a terminal."""

        def __init__(self):
            super().__init__()
            self._stream = stream
            self._total = total_epochs
            self._epoch = 0
            self._started = 0.0
            self._last_step_write = 0.0
            self._step_width = 0

        @property
        def stream(self):
            return self._stream if self._stream is not None else sys.stderr

        def _total_epochs(self):
            if self._total is not None:
                return self._total
            return (self.params or {}).get("epochs")

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch + 1
            self._started = time.perf_counter()
            self._last_step_write = 0.0

        def on_train_batch_end(self, batch, logs=None):
            out = self.stream
            if not _is_tty(out):
                return
            now = time.perf_counter()
            if now - self._last_step_write < _STEP_REFRESH_S:
                return
            self._last_step_write = now
            steps = (self.params or {}).get("steps")
            counter = f"step {batch + 1}/{steps}" if steps else f"step {batch + 1}"
            loss = format_value((logs or {}).get("loss"))
            text = format_epoch_line(self._epoch, self._total_epochs(), {}) + "  " + counter
            if loss is not None:
                text += f"  loss {loss}"
            self._step_width = max(self._step_width, len(text))
            out.write("\r" + text.ljust(self._step_width))
            out.flush()

        def on_epoch_end(self, epoch, logs=None):
            out = self.stream
            line = format_epoch_line(epoch + 1, self._total_epochs(), logs, time.perf_counter() - self._started)
            if self._step_width and _is_tty(out):
                out.write("\r" + " " * self._step_width + "\r")
                self._step_width = 0
            out.write(line + "\n")
            out.flush()

    return EpochLogger()
