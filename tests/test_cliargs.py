"""kerasnets.cliargs: the shared CLI parts (types, help, output-path checks, run_main)."""

import argparse
import os
import subprocess
import sys

import pytest

from kerasnets import cliargs


@pytest.mark.parametrize(
    "fn, text, value",
    [
        (cliargs.positive_int, "3", 3),
        (cliargs.positive_int, " 7 ", 7),
        (cliargs.non_negative_int, "0", 0),
        (cliargs.positive_float, "1e-3", 1e-3),
        (cliargs.non_negative_float, "0", 0.0),
        (cliargs.fraction, "0", 0.0),
        (cliargs.fraction, "1", 1.0),
        (cliargs.fraction, "0.25", 0.25),
        (cliargs.finite_float, "-2.5", -2.5),
    ],
)
def test_types_accept(fn, text, value):
    assert fn(text) == value
    assert type(fn(text)) is type(value)


@pytest.mark.parametrize(
    "fn, text, expected",
    [
        (cliargs.positive_int, "0", "expected an integer >= 1, got '0'"),
        (cliargs.positive_int, "-1", "expected an integer >= 1, got '-1'"),
        (cliargs.positive_int, "1.5", "expected an integer >= 1, got '1.5'"),
        (cliargs.positive_int, "inf", "expected an integer >= 1, got 'inf'"),
        (cliargs.positive_int, "", "expected an integer >= 1, got ''"),
        (cliargs.non_negative_int, "-1", "expected an integer >= 0, got '-1'"),
        (cliargs.non_negative_int, "nan", "expected an integer >= 0, got 'nan'"),
        (cliargs.positive_float, "0", "expected a finite number > 0, got '0'"),
        (cliargs.positive_float, "inf", "expected a finite number > 0, got 'inf'"),
        (cliargs.positive_float, "nan", "expected a finite number > 0, got 'nan'"),
        (cliargs.positive_float, "abc", "expected a finite number > 0, got 'abc'"),
        (cliargs.non_negative_float, "-0.1", "expected a finite number >= 0, got '-0.1'"),
        (cliargs.non_negative_float, "-inf", "expected a finite number >= 0, got '-inf'"),
        (cliargs.fraction, "1.5", "expected a number in [0, 1], got '1.5'"),
        (cliargs.fraction, "-0.1", "expected a number in [0, 1], got '-0.1'"),
        (cliargs.fraction, "nan", "expected a number in [0, 1], got 'nan'"),
        (cliargs.finite_float, "inf", "expected a finite number, got 'inf'"),
        (cliargs.finite_float, "NaN", "expected a finite number, got 'NaN'"),
    ],
)
def test_types_reject(fn, text, expected):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        fn(text)
    assert str(info.value) == expected


def test_argparse_names_the_flag(capsys):
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--epochs", type=cliargs.positive_int, default=1)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--epochs", "0"])
    assert info.value.code == 2
    assert "argument --epochs: expected an integer >= 1, got '0'" in capsys.readouterr().err


def test_builder_option():
    assert cliargs.builder_option("batch_norm=true") == ("batch_norm", True)
    assert cliargs.builder_option("filters=[32,64,256]") == ("filters", [32, 64, 256])
    assert cliargs.builder_option(" form =modern") == ("form", "modern")
    assert cliargs.builder_option("name=") == ("name", "")
    for bad in ("novalue", "=3", " =x"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected KEY=VALUE"):
            cliargs.builder_option(bad)


def test_cli_keeps_builder_option():
    from kerasnets import cli

    assert cli.builder_option is cliargs.builder_option


def test_jit_compile_argument(capsys):
    parser = argparse.ArgumentParser(prog="demo", formatter_class=cliargs.HelpFormatter)
    cliargs.add_jit_compile_argument(parser)
    assert parser.parse_args([]).jit_compile == "auto"
    assert parser.parse_args(["--jit-compile", "Off"]).jit_compile == "off"
    with pytest.raises(SystemExit):
        parser.parse_args(["--jit-compile", "yes"])
    assert "argument --jit-compile: invalid choice: 'yes'" in capsys.readouterr().err
    help_text = " ".join(parser.format_help().split())
    assert "--jit-compile {auto,on,off}" in help_text
    assert help_text.count("(default: auto)") == 1


def _help(*configure):
    parser = argparse.ArgumentParser(
        prog="demo", description="line one\n  line two", epilog="example:\n  demo --x 1", formatter_class=cliargs.HelpFormatter
    )
    for add in configure:
        add(parser)
    return " ".join(parser.format_help().split()), parser.format_help()


def test_help_formatter_defaults_and_choices():
    def add(p):
        p.add_argument("--epochs", type=int, default=20, help="training epochs")
        p.add_argument("--lr", type=float, default=1e-3, help="learning rate")
        p.add_argument("--out", default=None, help="output folder")
        p.add_argument("--fast", action="store_true", help="go fast")
        p.add_argument("--format", default="table", choices=("table", "csv"), metavar="FMT", help="output format")
        p.add_argument("--size", nargs=2, type=int, default=(224, 224), help="image size")
        p.add_argument("--seed", type=int, default=0, help="random seed")
        p.add_argument("--said", type=int, default=5, help="already said (default: %(default)s)")
        p.add_argument("--bn", action=argparse.BooleanOptionalAction, default=True, help="batch norm")
        p.add_argument("--tag", default="", help="a tag")

    flat, raw = _help(add)
    assert "training epochs (default: 20)" in flat
    assert "learning rate (default: 0.001)" in flat
    assert "output folder" in flat and "output folder (default" not in flat
    assert "go fast" in flat and "go fast (default" not in flat
    assert "output format (choices: table, csv) (default: table)" in flat
    assert "image size (default: 224 224)" in flat
    assert "random seed (default: 0)" in flat
    assert flat.count("already said (default: 5)") == 1 and "(default: 5) (default" not in flat
    assert flat.count("default:") == flat.count("(default: ")
    assert "(default: None)" not in flat and "(default: False)" not in flat
    assert "a tag (default: '')" in flat
    assert "batch norm (default: " in flat and flat.count("batch norm (default:") == 1
    # description and epilog keep their line breaks
    assert "line one\n  line two" in raw and "example:\n  demo --x 1" in raw


def test_help_formatter_percent_in_default():
    flat, _ = _help(lambda p: p.add_argument("--pattern", default="50%", help="a pattern"))
    assert "a pattern (default: 50%)" in flat


def test_argument_parser_gives_its_subcommands_the_help_formatter():
    parser = cliargs.ArgumentParser(prog="demo")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train")
    train.add_argument("--epochs", type=cliargs.positive_int, default=20, help="training epochs")
    assert train.formatter_class is cliargs.HelpFormatter and parser.formatter_class is cliargs.HelpFormatter
    assert "training epochs (default: 20)" in " ".join(train.format_help().split())
    assert cliargs.ArgumentParser(prog="x", formatter_class=argparse.HelpFormatter).formatter_class is argparse.HelpFormatter


def test_check_output_dir(tmp_path):
    assert cliargs.check_output_dir(tmp_path, "--out") == tmp_path
    new = tmp_path / "a" / "b"
    assert cliargs.check_output_dir(new, "--out") == new and not new.exists()
    assert cliargs.check_output_dir(new, "--out", create=True).is_dir()
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    with pytest.raises(cliargs.UsageError, match=r"argument --out: '.*f.txt' is a file, not a folder"):
        cliargs.check_output_dir(afile, "--out")
    with pytest.raises(cliargs.UsageError, match=r"argument --out: cannot create folder .*is a file, not a folder"):
        cliargs.check_output_dir(afile / "sub", "--out")
    for empty in ("", "  ", None):
        with pytest.raises(cliargs.UsageError, match=r"argument --output: expected a folder path, got"):
            cliargs.check_output_dir(empty, "--output")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_check_output_paths_read_only(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(cliargs.UsageError, match="is not writable"):
            cliargs.check_output_dir(ro / "x", "--out")
        with pytest.raises(cliargs.UsageError, match="is not writable"):
            cliargs.check_output_dir(ro, "--out")
        with pytest.raises(cliargs.UsageError, match="argument --save: cannot write .* is not writable"):
            cliargs.check_output_file(ro / "m.keras", "--save")
    finally:
        ro.chmod(0o700)


def test_check_output_file(tmp_path):
    target = tmp_path / "m.keras"
    assert cliargs.check_output_file(target, "--save") == target
    target.write_text("x")
    with pytest.raises(cliargs.UsageError, match="argument --save: .* already exists; refusing to overwrite it"):
        cliargs.check_output_file(target, "--save")
    assert cliargs.check_output_file(target, "--save", overwrite=True) == target
    with pytest.raises(cliargs.UsageError, match="is a folder, not a file"):
        cliargs.check_output_file(tmp_path, "--save")
    with pytest.raises(cliargs.UsageError, match="does not exist"):
        cliargs.check_output_file(tmp_path / "no" / "m.keras", "--save")
    assert cliargs.check_output_file(tmp_path / "no" / "m.keras", "--save", create_parents=True).name == "m.keras"
    with pytest.raises(cliargs.UsageError, match="is a file, not a folder"):
        cliargs.check_output_file(target / "m.keras", "--save")
    with pytest.raises(cliargs.UsageError, match="expected a file path"):
        cliargs.check_output_file("", "--save")


def _raiser(exc):
    def body(argv):
        raise exc

    return body


@pytest.mark.parametrize(
    "exc, status, text",
    [
        (cliargs.UsageError("argument --x: bad"), 2, "demo: error: argument --x: bad\n"),
        (ValueError("`classes` must be >= 1. Received: classes=0"), 2, "demo: error: `classes` must be >= 1. Received: classes=0\n"),
        (TypeError("wrong type"), 2, "demo: error: wrong type\n"),
        (FileExistsError("version 3 exists"), 2, "demo: error: version 3 exists\n"),
        (PermissionError(13, "Permission denied", "/ro/out"), 2, "demo: error: Permission denied: '/ro/out'\n"),
        (FileNotFoundError(2, "No such file or directory", "x.keras"), 2, "demo: error: No such file or directory: 'x.keras'\n"),
        (OSError(39, "Directory not empty", "/a/.tmp", None, "/a/1"), 2, "demo: error: Directory not empty: '/a/.tmp' -> '/a/1'\n"),
        (KeyboardInterrupt(), 130, "demo: interrupted\n"),
        (SystemExit(2), 2, ""),
        (SystemExit(0), 0, ""),
        (SystemExit(None), 0, ""),
        (SystemExit("fatal: text"), 2, "demo: error: fatal: text\n"),
    ],
)
def test_run_main_statuses(exc, status, text, capsys, monkeypatch):
    monkeypatch.delenv("KERASNETS_DEBUG", raising=False)
    assert cliargs.run_main(_raiser(exc), [], prog="demo") == status
    captured = capsys.readouterr()
    assert captured.err == text
    assert captured.out == ""


def test_run_main_passes_argv_and_status(monkeypatch):
    seen = []

    def body(argv):
        seen.append(argv)
        return 1

    assert cliargs.run_main(body, ["a"], prog="demo") == 1
    assert cliargs.run_main(lambda argv: None, None, prog="demo") == 0
    assert seen == [["a"]]
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"]


def test_run_main_debug_reraises(monkeypatch):
    monkeypatch.setenv("KERASNETS_DEBUG", "1")
    with pytest.raises(ValueError, match="boom"):
        cliargs.run_main(_raiser(ValueError("boom")), [], prog="demo")
    with pytest.raises(KeyboardInterrupt):
        cliargs.run_main(_raiser(KeyboardInterrupt()), [], prog="demo")


def test_run_main_keeps_bugs_visible(monkeypatch):
    monkeypatch.delenv("KERASNETS_DEBUG", raising=False)
    with pytest.raises(ZeroDivisionError):
        cliargs.run_main(_raiser(ZeroDivisionError("bug")), [], prog="demo")


def test_run_main_keeps_user_log_level(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    cliargs.run_main(lambda argv: 0, [], prog="demo")
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_imports_only_the_standard_library():
    code = (
        "import sys, kerasnets.cliargs\n"
        "heavy = sorted(m for m in ('keras', 'tensorflow', 'numpy', 'jax', 'torch', 'rich') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    # kerasnets/__init__ may still import keras on this branch (h-core makes it lazy), so load the file alone.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('cliargs_alone', {cliargs.__file__!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'numpy', 'jax', 'torch', 'rich') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _standalone(code_body):
    """Python code loading kerasnets/cliargs.py alone (kerasnets/__init__ may import keras on this branch)."""
    return (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('cliargs_alone', {cliargs.__file__!r})\n"
        "cliargs = importlib.util.module_from_spec(spec); spec.loader.exec_module(cliargs)\n" + code_body
    )


def test_run_main_silences_tensorflow_startup_noise():
    pytest.importorskip("tensorflow")
    body = (
        "import os\n"
        "def cmd(argv):\n"
        "    import tensorflow as tf\n"
        "    print('answer', int(tf.constant(2) * 21))\n"
        "    print('to stderr after import', file=sys.stderr)\n"
        "sys.exit(cliargs.run_main(cmd, [], prog='demo'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERASNETS_DEBUG")}
    result = subprocess.run([sys.executable, "-c", _standalone(body)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "answer 42\n"
    assert result.stderr == "to stderr after import\n"  # no absl/cudart/oneDNN lines; stderr works again


def test_run_main_quiet_import_still_reports_import_errors(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os\nos.write(2, b'C++ noise\\n')\nraise ImportError('libfoo.so missing')\n")
    body = (
        "def cmd(argv):\n"
        "    import tensorflow\n"
        "sys.exit(cliargs.run_main(cmd, [], prog='demo'))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run([sys.executable, "-c", _standalone(body)], capture_output=True, text=True, env=env, timeout=60)
    assert "C++ noise" not in result.stderr
    assert "ImportError: libfoo.so missing" in result.stderr  # a real failure is not hidden


def test_run_main_reports_a_missing_tensorflow_as_a_usage_error(capsys):
    from kerasnets._tf import TensorFlowRequiredError

    def needs_tf(argv):
        raise TensorFlowRequiredError("SavedModel export needs TensorFlow: pip install tensorflow")

    assert cliargs.run_main(needs_tf, [], prog="demo") == 2
    assert capsys.readouterr().err == "demo: error: SavedModel export needs TensorFlow: pip install tensorflow\n"

    def broken(argv):
        raise ImportError("a real bug")

    with pytest.raises(ImportError, match="a real bug"):
        cliargs.run_main(broken, [], prog="demo")
