"""The `kerasnets` command line, run in-process through kerasnets.cli.main (and a few real processes)."""

import argparse
import csv
import io
import os
import pathlib
import shlex
import subprocess
import sys

import pytest

import kerasnets
from kerasnets import _index
from kerasnets.cli import SUBCOMMANDS, build_parser, examples, main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_list_prints_name_family_params_and_size(capsys):
    assert main(["list", "vgg1*"]) == 0
    out = capsys.readouterr().out
    assert "vgg16" in out and "138,357,544" in out and "224x224x3" in out and "vgg" in out
    assert "alexnet" not in out
    assert main(["list", "--family", "lenet"]) == 0
    assert "61,706" in capsys.readouterr().out
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"{len(kerasnets.list_models())} registered models" in out
    assert all(name in out for name in kerasnets.list_models())


def test_list_errors_name_the_argument(capsys):
    assert main(["list", "nothing*"]) == 2
    err = capsys.readouterr().err
    assert "kerasnets list: error: argument PATTERN: no registered model matches 'nothing*'" in err
    assert main(["list", "--family", "nope"]) == 2
    err = capsys.readouterr().err
    assert "argument --family: invalid choice: 'nope'" in err and "'vgg'" in err


def test_summary_formats(capsys):
    assert main(["summary", "lenet5", "--format", "csv", "--flops"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["name"] == "c1" and rows[0]["macs"] == "117600"
    assert rows[-1]["name"] == "TOTAL" and rows[-1]["params"] == "61706" and rows[-1]["flops"] == "833040"
    assert main(["summary", "lenet5", "--format", "markdown"]) == 0
    assert "| c1 | Conv2D | (28, 28, 6) | 156 | 117,600 |" in capsys.readouterr().out
    assert main(["summary", "nin_cifar", "--input-shape", "64", "64", "3"]) == 0
    out = capsys.readouterr().out
    assert "nin_cifar" in out and "(64, 64, 3)" in out and "Total MACs" in out


def test_summary_names_resolve_as_the_registry(capsys):
    assert main(["summary", "LeNet-5", "--format", "csv"]) == 0  # case and '-' as kerasnets.get_spec
    assert "TOTAL" in capsys.readouterr().out


def test_piped_summary_does_not_wrap(capsys):
    # capsys's stdout is not a terminal: every row of the table is one line, whatever the width.
    assert main(["summary", "googlenet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) > 100
    assert len({len(line) for line in rows}) == 1, "rows of different lengths: a cell was folded"
    longest = max(kerasnets.summary(kerasnets.googlenet(), print_output=False).rows, key=lambda r: len(r.name)).name
    assert any(longest in line for line in rows)
    assert len(rows[0]) > 80  # wider than the 80 columns rich assumes when piped
    assert "\x1b" not in "".join(lines)


def test_summary_argument_errors(capsys):
    assert main(["summary", "alexnt"]) == 2
    err = capsys.readouterr().err
    assert "argument NAME: unknown model 'alexnt'; did you mean: alexnet" in err and "Traceback" not in err
    assert main(["summary", "lenet5", "--input-shape", "32", "x", "1"]) == 2
    assert "argument --input-shape: expected an integer >= 1, got 'x'" in capsys.readouterr().err
    assert main(["summary", "lenet5", "--input-shape", "0", "32", "1"]) == 2
    assert "argument --input-shape: expected an integer >= 1, got '0'" in capsys.readouterr().err
    assert main(["summary", "lenet5", "--format", "html"]) == 2
    err = capsys.readouterr().err
    assert "argument --format: invalid choice: 'html' (choose from 'table', 'markdown', 'csv')" in err
    assert main(["summary", "nin_cifar", "--input-shape", "4", "4", "3"]) == 2
    assert "too small" in capsys.readouterr().err  # the builder's own validation message
    assert main(["summary", "lenet5", "--check"]) == 2
    assert "argument --check: no reference table ships for 'lenet5'" in capsys.readouterr().err
    assert main(["summary", "lenet5", "--input-shape", "32"]) == 2
    assert "argument --input-shape: expected 3 arguments" in capsys.readouterr().err


def test_summary_check_alexnet_exit_status(capsys):
    assert main(["summary", "alexnet", "--check"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "erratum" in out and "233M" in out


def test_failed_check_exits_1(capsys, monkeypatch):
    import kerasnets.counting as S

    class Row:
        row, verdict = "conv1", "params 35,000 != 34,944"

    class Failed:
        ok, failing = False, [Row()]

        def rich_table(self):
            from rich.table import Table

            return Table("row")

        def summary_line(self):
            return "1 row FAILED"

    monkeypatch.setattr(S, "check_reference", lambda name, model=None: Failed())
    monkeypatch.setattr("kerasnets.cli._build", lambda name, kwargs: None)
    assert main(["summary", "alexnet", "--check"]) == 1
    captured = capsys.readouterr()
    assert "1 row FAILED" in captured.out
    assert "FAILED alexnet row conv1: params 35,000 != 34,944" in captured.err


def test_interrupt_exits_130(capsys, monkeypatch):
    import kerasnets.counting as S

    monkeypatch.setattr(S, "count_registered", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert main(["summary", "lenet5"]) == 130
    assert capsys.readouterr().err == "kerasnets summary: interrupted\n"


def test_export_os_errors_are_one_line_naming_the_path(capsys, monkeypatch, tmp_path):
    import kerasnets.serving.cli as E

    def denied(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro" / ".tmp-1"))

    monkeypatch.setattr(E, "run_export_command", denied)
    assert main(["export", "lenet5", "--out", str(tmp_path / "ro")]) == 2
    err = capsys.readouterr().err
    assert err == f"kerasnets export: error: Permission denied: '{tmp_path / 'ro' / '.tmp-1'}'\n"
    assert main(["export", "lenet6", "--out", str(tmp_path)]) == 2
    assert "argument model: unknown model 'lenet6'; did you mean: lenet5" in capsys.readouterr().err


def test_no_command_and_unknown_command(capsys):
    assert main([]) == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err
    assert main(["lst"]) == 2
    assert "argument COMMAND: invalid choice: 'lst'" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "exit status:" in capsys.readouterr().out


def test_parser_is_extensible():
    parser = build_parser()
    assert {"list", "summary", "export"} <= set(parser._subparsers._group_actions[0].choices)
    assert len(SUBCOMMANDS) >= 3


def test_builder_option_parses_json_values_and_names_bad_input():
    from kerasnets.cli import builder_option

    assert builder_option("batch_norm=true") == ("batch_norm", True)
    assert builder_option("filters=[32, 64, 256]") == ("filters", [32, 64, 256])
    assert builder_option("form=modern") == ("form", "modern")
    assert builder_option(" dropout = 0.2") == ("dropout", 0.2)
    for bad in ("lrn", "=1"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected KEY=VALUE.*got {bad!r}"):
            builder_option(bad)


# ------------------------------------------------------------------ help texts


def _subparsers(parser):
    return parser._subparsers._group_actions[0].choices


def test_every_flag_states_its_real_default():
    parser = build_parser()
    for name, sub in _subparsers(parser).items():
        for action in sub._actions:
            shown = " ".join(sub._get_formatter()._format_action(action).split())
            if action.default in (None, False, argparse.SUPPRESS) or action.nargs == 0:
                assert "(default: None)" not in shown and "(default: False)" not in shown, (name, shown)
                continue
            assert shown.count("(default: ") == 1, (name, shown)  # stated, and only once
        assert "(default: None)" not in sub.format_help()


# Examples cheap enough to run here; the others are parsed only (resnet50/vgg16 take long to build,
# export needs TF Serving's SavedModel writer and alexnet --check has its own test).
QUICK = {
    "kerasnets list",
    "kerasnets list 'resnet*'",
    "kerasnets list --family inception",
    "kerasnets summary lenet5 --format csv --flops > lenet5.csv",
    "kerasnets summary nin_cifar --input-shape 64 64 3 --format markdown",
}


def _help_examples():
    parser = build_parser()
    texts = [parser.format_help()] + [sub.format_help() for sub in _subparsers(parser).values()]
    lines = {line.strip() for text in texts for line in text.splitlines() if line.startswith("  kerasnets ")}
    return sorted(lines)


def _argv(example):
    words = shlex.split(example)
    for stop in ("|", ">"):
        if stop in words:
            words = words[: words.index(stop)]
    assert words[0] == "kerasnets"
    return words[1:]


def test_help_examples_are_the_listed_ones():
    shown = set(_help_examples())
    assert shown - {"kerasnets COMMAND --help"} == set(examples())
    assert QUICK <= shown


@pytest.mark.parametrize("example", _help_examples())
def test_help_example_parses(example, tmp_path, monkeypatch):
    if example == "kerasnets COMMAND --help":
        return
    monkeypatch.chdir(tmp_path)
    pathlib.Path("runs/mnist").mkdir(parents=True)
    args = build_parser().parse_args(_argv(example))  # a usage error would raise SystemExit
    assert callable(args.func)


@pytest.mark.parametrize("example", sorted(QUICK))
def test_quick_help_example_runs(example, capsys):
    assert main(_argv(example)) == 0
    assert capsys.readouterr().out.strip()


# ------------------------------------------------------------------ the registry index


def test_index_equals_the_live_registry():
    expected = _index.render_index(_index.build_index())
    committed = _index.DATA_PATH.read_text()
    assert committed == expected, "kerasnets/_index.json is stale: run `python -m kerasnets._index`"
    assert sorted(_index.models()) == kerasnets.list_models()
    assert _index.families() == kerasnets.list_families()
    for name in ("ResNet50", "resnet-50", "resnext50-32x4d", "lenet5"):
        assert _index.resolve_name(name) == kerasnets.get_spec(name).name
    assert _index.match("res*", family="resnet") == kerasnets.list_models("res*", family="resnet")


def test_index_check_command(tmp_path, monkeypatch, capsys):
    assert _index.main(["--check"]) == 0
    stale = tmp_path / "_index.json"
    stale.write_text("MODELS = {}\n")
    monkeypatch.setattr(_index, "DATA_PATH", stale)
    assert _index.main(["--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    assert _index.main([]) == 0
    assert stale.read_text() == _index.DATA_PATH.read_text() and "alexnet" in stale.read_text()


# ------------------------------------------------------------------ speed: what is imported

_STUB = """
import sys, types
pkg = types.ModuleType("kerasnets"); pkg.__path__ = [{pkgdir!r}]; sys.modules["kerasnets"] = pkg
from kerasnets import cli
status = cli.main(sys.argv[1:])
print("HEAVY", sorted(m for m in ("keras", "tensorflow", "numpy", "jax", "torch") if m in sys.modules))
sys.exit(status)
"""


@pytest.mark.parametrize(
    "argv, status",
    [
        (["--help"], 0),
        (["list"], 0),
        (["list", "vgg*"], 0),
        (["summary", "--help"], 0),
        (["summary", "alexnt"], 2),
        (["summary", "lenet5", "--format", "html"], 2),
        (["list", "--family", "nope"], 2),
        (["lst"], 2),
    ],
)
def test_help_list_and_usage_errors_import_no_keras(argv, status):
    # kerasnets/__init__.py's own imports are h-core's (made lazy there); this runs the CLI's modules
    # alone, so it measures what kerasnets.cli, cliargs and _index themselves import.
    code = _STUB.format(pkgdir=str(ROOT / "kerasnets"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == status, result.stderr
    assert result.stdout.splitlines()[-1] == "HEAVY []"
    assert "Traceback" not in result.stderr


def _kerasnets_import_is_light():
    code = "import kerasnets, sys; print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300).stdout
    return out.strip() == "False"


def test_real_process_help_and_errors_are_quiet():
    """`kerasnets --help` / a usage error in a real process: no keras import, no TF/absl lines on stderr."""
    if not _kerasnets_import_is_light():
        pytest.skip("`import kerasnets` still imports keras on this branch (h-core makes it lazy)")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    for argv, status in ((["--help"], 0), (["list"], 0), (["summary", "alexnt"], 2)):
        code = "import sys; from kerasnets.cli import main; s = main(sys.argv[1:]); " \
               "print('keras' in sys.modules, file=sys.stderr); sys.exit(s)"
        result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env,
                                cwd=ROOT, timeout=120)
        assert result.returncode == status
        assert result.stderr.splitlines()[-1] == "False"
        assert "absl" not in result.stderr and "cudart" not in result.stderr


def test_real_process_summary_has_no_startup_noise():
    if not _kerasnets_import_is_light():
        pytest.skip("`import kerasnets` still imports keras on this branch (h-core makes it lazy)")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "kerasnets.cli", "summary", "lenet5", "--format", "csv"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith("TOTAL,")


def test_list_pretrained_shows_the_published_weights(capsys):
    assert main(["list", "--pretrained", "densenet12*"]) == 0
    out = capsys.readouterr().out
    assert "timm/densenet121.tv_in1k" in out and "torchvision/densenet121" in out and "74.434" in out
    assert "resnet50" not in out
    assert main(["list", "--pretrained", "alexnet"]) == 2
    assert "no published weights match 'alexnet'" in capsys.readouterr().err
