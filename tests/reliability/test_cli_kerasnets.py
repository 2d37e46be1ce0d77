"""Reliability corpus: the `kerasnets` command line (kerasnets.cli.main, in-process).

Each case is one thing a user may type; it states the exit status and what the
message must name (the flag, the value, the choices or the close match).
See docs/reliability.md for how the corpus is organised and counted.
"""

from __future__ import annotations

import csv
import io

import pytest

import kerasnets
from kerasnets.cli import main

# (id, argv, expected status, names the stderr message must contain). "{tmp}" is a fresh folder.
CLEAR_ERRORS = [
    ("no-command", [], 2, ["COMMAND", "required"]),
    ("unknown-command", ["lst"], 2, ["COMMAND", "'lst'", "list"]),
    ("unknown-top-option", ["--verbose"], 2, ["--verbose"]),
    ("list-no-match", ["list", "nothing*"], 2, ["PATTERN", "'nothing*'"]),
    ("list-family-unknown", ["list", "--family", "nope"], 2, ["--family", "'nope'", "'vgg'"]),
    ("list-family-missing-value", ["list", "--family"], 2, ["--family", "expected one argument"]),
    ("list-family-no-match", ["list", "res*", "--family", "vgg"], 2, ["PATTERN", "'res*'", "'vgg'"]),
    ("list-extra-word", ["list", "vgg*", "resnet*"], 2, ["unrecognized arguments", "resnet*"]),
    ("summary-no-name", ["summary"], 2, ["NAME", "required"]),
    ("summary-typo", ["summary", "alexnt"], 2, ["NAME", "'alexnt'", "alexnet"]),
    ("summary-typo-resnet", ["summary", "resnet05"], 2, ["NAME", "'resnet05'", "resnet50"]),
    ("summary-empty-name", ["summary", ""], 2, ["NAME", "''"]),
    ("summary-format-unknown", ["summary", "lenet5", "--format", "html"], 2, ["--format", "'html'", "'csv'"]),
    ("summary-format-empty", ["summary", "lenet5", "--format", ""], 2, ["--format", "''"]),
    ("summary-shape-one-value", ["summary", "lenet5", "--input-shape", "32"], 2, ["--input-shape", "3 arguments"]),
    ("summary-shape-word", ["summary", "lenet5", "--input-shape", "32", "x", "1"], 2, ["--input-shape", "'x'"]),
    ("summary-shape-zero", ["summary", "lenet5", "--input-shape", "0", "32", "1"], 2, ["--input-shape", "'0'"]),
    ("summary-shape-negative", ["summary", "lenet5", "--input-shape", "-3", "32", "1"], 2, ["--input-shape", "'-3'"]),
    ("summary-shape-inf", ["summary", "lenet5", "--input-shape", "inf", "32", "1"], 2, ["--input-shape", "'inf'"]),
    ("summary-shape-float", ["summary", "lenet5", "--input-shape", "32.5", "32", "1"], 2, ["--input-shape", "'32.5'"]),
    ("summary-shape-too-small", ["summary", "nin_cifar", "--input-shape", "4", "4", "3"], 2, ["too small", "4"]),
    ("summary-check-no-table", ["summary", "lenet5", "--check"], 2, ["--check", "'lenet5'", "alexnet"]),
    ("summary-unknown-flag", ["summary", "lenet5", "--bogus"], 2, ["unrecognized arguments", "--bogus"]),
    ("summary-flag-with-value", ["summary", "lenet5", "--flops=3"], 2, ["--flops", "ignored explicit argument"]),
    ("export-nothing", ["export"], 2, ["model", "--out", "required"]),
    ("export-no-out", ["export", "lenet5"], 2, ["--out", "required"]),
    ("export-typo", ["export", "lenet6", "--out", "{tmp}/served"], 2, ["model", "'lenet6'", "lenet5"]),
    ("export-missing-file", ["export", "{tmp}/missing.keras", "--out", "{tmp}/served"], 2, ["missing.keras"]),
    ("export-version-word", ["export", "lenet5", "--out", "{tmp}/s", "--version", "x"], 2, ["--version", "'x'"]),
    ("export-classes-word", ["export", "lenet5", "--out", "{tmp}/s", "--classes", "ten"], 2, ["--classes", "'ten'"]),
    ("export-preprocessing-unknown", ["export", "lenet5", "--out", "{tmp}/s", "--preprocessing", "bogus"], 2,
     ["--preprocessing", "'bogus'"]),
    ("export-image-dtype-unknown", ["export", "lenet5", "--out", "{tmp}/s", "--image-dtype", "int8"], 2,
     ["--image-dtype", "'int8'", "'uint8'"]),
    ("export-keras-file-with-build-flags", ["export", "{tmp}/m.keras", "--out", "{tmp}/s", "--classes", "3"], 2,
     ["m.keras"]),
]


def _argv(argv, tmp_path):
    return [word.replace("{tmp}", str(tmp_path)) for word in argv]


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("argv, status, names", [c[1:] for c in CLEAR_ERRORS], ids=[c[0] for c in CLEAR_ERRORS])
def test_clear_error(argv, status, names, tmp_path, run_cli, assert_clean_error):
    if any("m.keras" in word for word in argv):
        (tmp_path / "m.keras").write_bytes(b"not a zip")  # exists, so the build-flag check is what answers
    code, out, err = run_cli(main, _argv(argv, tmp_path))
    assert_clean_error(code, err, expected_status=status, names=names)
    assert out == ""  # nothing half-printed on stdout
    # one error line, after argparse's usage lines at most; not a page of output
    lines = err.strip().splitlines()
    assert sum("error: " in line for line in lines) == 1, err
    assert all("error: " in line or line.startswith(("usage: ", " ")) for line in lines), err


@pytest.mark.reliability("clear error")
def test_interrupt_is_one_line_130(monkeypatch, run_cli, assert_clean_error):
    import kerasnets.counting as S

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "count_registered", interrupted)
    code, out, err = run_cli(main, ["summary", "lenet5"])
    assert_clean_error(code, err, expected_status=130, names=["interrupted"])
    assert len(err.splitlines()) == 1


@pytest.mark.reliability("clear error")
def test_debug_shows_the_traceback(monkeypatch, run_cli):
    monkeypatch.setenv("KERASNETS_DEBUG", "1")
    code, out, err = run_cli(main, ["summary", "nin_cifar", "--input-shape", "4", "4", "3"])
    assert code == 1 and "Traceback" in err and "too small" in err  # run_cli records the escaped exception


# ------------------------------------------------------------------ no silent wrong results


def _csv_total(out):
    rows = list(csv.DictReader(io.StringIO(out)))
    return rows[-1]


@pytest.mark.reliability("correct result")
@pytest.mark.parametrize(
    "argv",
    [
        ["summary", "lenet5", "--format", "csv"],
        ["summary", "LeNet5", "--format", "csv"],
        ["summary", "lenet-5", "--format", "csv"],
        ["summary", "lenet5", "--input-shape", "32", "32", "1", "--format", "csv"],
    ],
    ids=["plain", "case", "dash", "explicit-default-shape"],
)
def test_summary_totals_match_the_reference(argv, run_cli):
    code, out, err = run_cli(main, argv)
    assert code == 0, err
    total = _csv_total(out)
    assert total["name"] == "TOTAL"
    assert int(total["params"]) == kerasnets.get_spec("lenet5").ref_params
    assert int(total["macs"]) == kerasnets.get_spec("lenet5").ref_macs


@pytest.mark.reliability("correct result")
def test_summary_no_top_is_not_ignored(run_cli):
    code, out, err = run_cli(main, ["summary", "lenet5", "--no-top", "--format", "csv"])
    assert code == 0, err
    no_top = int(_csv_total(out)["params"])
    assert 0 < no_top < kerasnets.get_spec("lenet5").ref_params


@pytest.mark.reliability("correct result")
def test_summary_input_shape_is_not_ignored(run_cli):
    code, out, err = run_cli(main, ["summary", "nin_cifar", "--input-shape", "64", "64", "3", "--format", "csv"])
    assert code == 0, err
    direct = kerasnets.summary(kerasnets.nin_cifar(input_shape=(64, 64, 3)), print_output=False)
    default = kerasnets.summary("nin_cifar", print_output=False)
    assert int(_csv_total(out)["macs"]) == direct.macs > default.macs


@pytest.mark.reliability("correct result")
@pytest.mark.parametrize("pattern", ["resnet5*", "RESNET5*", "*v2", "vgg1?"])
def test_list_shows_exactly_the_matching_models(pattern, run_cli):
    code, out, err = run_cli(main, ["list", pattern])
    assert code == 0, err
    expected = kerasnets.list_models(pattern)
    shown = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert shown == expected and expected


@pytest.mark.reliability("correct result")
def test_version(run_cli):
    code, out, err = run_cli(main, ["--version"])
    assert code == 0 and out.startswith("kerasnets ") and err == ""


# ------------------------------------------------------------------ nothing lost


@pytest.mark.reliability("nothing lost")
def test_export_out_is_a_file_keeps_the_file(tmp_path, run_cli, assert_clean_error):
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    code, out, err = run_cli(main, ["export", "lenet5", "--out", str(target), "--no-warmup"])
    assert_clean_error(code, err, names=[str(target)])
    assert target.read_text() == "my notes"


@pytest.mark.reliability("nothing lost")
def test_export_existing_version_is_not_overwritten(tmp_path, run_cli, assert_clean_error):
    version = tmp_path / "served" / "1"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"the served model")
    code, out, err = run_cli(main, ["export", "lenet5", "--out", str(tmp_path / "served"), "--version", "1",
                                    "--no-warmup"])
    assert_clean_error(code, err, names=["1"])
    assert (version / "saved_model.pb").read_bytes() == b"the served model"
    assert sorted(p.name for p in (tmp_path / "served").iterdir()) == ["1"]  # no stray temporary folder


@pytest.mark.reliability("nothing lost")
def test_summary_csv_redirect_is_complete(run_cli):
    # The CSV a user redirects to a file holds every layer row once, in order, then TOTAL.
    code, out, err = run_cli(main, ["summary", "lenet5", "--format", "csv"])
    assert code == 0, err
    names = [row["name"] for row in csv.DictReader(io.StringIO(out))]
    report = kerasnets.summary("lenet5", print_output=False)
    assert names == [row.name for row in report.rows] + ["TOTAL"]
