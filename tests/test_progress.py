"""kerasnets.progress: plain per-epoch lines on stderr, a step counter only on a terminal."""

import io
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasnets.progress import epoch_logger, format_epoch_line, format_value


class _Tty(io.StringIO):
    def isatty(self):
        return True


def _fit(callback, epochs=3, **kwargs):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse", metrics=["mae"])
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    return model.fit(x, y, epochs=epochs, batch_size=2, verbose=0, callbacks=[callback], **kwargs)


LINE = re.compile(r"^epoch \d+/\d+  loss \d+\.\d{4}  mae \d+\.\d{4}  \d+\.\d s$")


def test_one_plain_line_per_epoch_when_piped():
    log = io.StringIO()
    history = _fit(epoch_logger(log))
    lines = log.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all(LINE.match(line) for line in lines), lines
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()
    assert lines[-1].split()[3] == f"{history.history['loss'][-1]:.4f}"


def test_total_epochs_and_initial_epoch():
    log = io.StringIO()
    _fit(epoch_logger(log, total_epochs=10), epochs=4, initial_epoch=2)
    assert [line.split()[1] for line in log.getvalue().splitlines()] == ["3/10", "4/10"]


def test_default_stream_is_stderr_and_stdout_stays_clean(capsys):
    _fit(epoch_logger(), epochs=2)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 2 and captured.err.startswith("epoch 1/2  loss ")


def test_step_counter_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr("kerasnets.progress._STEP_REFRESH_S", 0.0)
    tty = _Tty()
    _fit(epoch_logger(tty), epochs=2)
    text = tty.getvalue()
    assert "\r" in text and "step 4/4" in text and "\x1b" not in text
    # what remains visible per epoch is the plain line
    finals = [chunk.rsplit("\r", 1)[-1] for chunk in text.split("\n") if chunk]
    assert [line.split()[1] for line in finals] == ["1/2", "2/2"]
    assert all(LINE.match(line) for line in finals), finals


def test_formatting():
    assert format_value(0.5) == "0.5000"
    assert format_value(np.float32(2)) == "2.0000"
    assert format_value(123456.0) == "1.235e+05"
    assert format_value(1e-5) == "1e-05"
    assert format_value(float("nan")) == "nan"
    assert format_value("text") is None
    assert format_value([1, 2]) is None
    assert format_epoch_line(1, None, {"loss": 1}) == "epoch 1  loss 1.0000"


def test_import_is_light():
    code = "import importlib.util, sys\n" \
        f"spec = importlib.util.spec_from_file_location('p', {sys.modules['kerasnets.progress'].__file__!r})\n" \
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n" \
        "print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
