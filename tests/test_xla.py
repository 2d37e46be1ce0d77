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


def test_the_flag_is_the_shared_cliargs_one():
    from kerasnets import cliargs, xla
    from kerasnets.cliargs import HelpFormatter

    assert xla.add_jit_compile_argument is cliargs.add_jit_compile_argument
    assert xla.JIT_COMPILE_CHOICES == cliargs.JIT_COMPILE_CHOICES == ("auto", "on", "off")
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    group = parser.add_argument_group("training")
    add_jit_compile_argument(group)  # works on argument groups too
    text = " ".join(parser.format_help().split())
    assert "--jit-compile {auto,on,off}" in text and text.count("(default: auto)") == 1
    # every value the flag accepts resolves
    for value in cliargs.JIT_COMPILE_CHOICES:
        assert isinstance(resolve_jit_compile(parser.parse_args(["--jit-compile", value]).jit_compile,
                                              backend="tensorflow", device="cpu"), bool)


def test_module_import_is_light():
    import subprocess
    import sys
    import kerasnets

    code = (
        "import sys, types\n"
        f"pkg = types.ModuleType('kerasnets'); pkg.__path__ = [{kerasnets.__path__[0]!r}]\n"
        "sys.modules['kerasnets'] = pkg\n"
        "import kerasnets.xla\n"
        "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
