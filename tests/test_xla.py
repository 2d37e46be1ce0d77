"""The jit_compile policy (kerasnets/xla.py); the figures behind `auto` are in docs/benchmarks.md."""

import argparse

import pytest

from kerasnets.xla import add_jit_compile_argument, detect_device, resolve_jit_compile


@pytest.mark.parametrize(
    "value, backend, device, expected",
    [
        ("auto", "tensorflow", "cpu", False),  # measured: XLA 2.5-3x slower than oneDNN on CPU
        ("auto", "tensorflow", "gpu", True),
        ("auto", "tensorflow", "tpu", True),
        ("auto", "jax", "cpu", True),
        ("auto", "jax", "gpu", True),
        ("auto", "torch", "gpu", False),
        ("on", "tensorflow", "cpu", True),
        ("OFF", "jax", "gpu", False),
        (True, "tensorflow", "cpu", True),
        (False, "jax", "cpu", False),
    ],
)
def test_policy(value, backend, device, expected):
    assert resolve_jit_compile(value, backend=backend, device=device) is expected


def test_defaults_detect_this_machine():
    # The test process runs TensorFlow on a CPU-only machine.
    assert detect_device() == "cpu"
    assert resolve_jit_compile("auto") is False


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"value": "yes"}, r"`jit_compile` must be one of 'auto', 'on', 'off'. Received: jit_compile='yes'"),
        ({"value": 1}, r"Received: jit_compile=1"),
        ({"value": "auto", "backend": "mxnet"}, r"Received: backend='mxnet'"),
        ({"value": "auto", "backend": "jax", "device": "npu"}, r"Received: device='npu'"),
    ],
)
def test_bad_values(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        resolve_jit_compile(**kwargs)


def test_cli_argument():
    parser = argparse.ArgumentParser()
    add_jit_compile_argument(parser)
    assert parser.parse_args([]).jit_compile == "auto"
    assert parser.parse_args(["--jit-compile", "ON"]).jit_compile == "on"
    with pytest.raises(SystemExit):
        parser.parse_args(["--jit-compile", "maybe"])
