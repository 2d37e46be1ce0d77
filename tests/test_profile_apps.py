"""bench/profile_apps.py: the apps' step profile (issue 19). The full smoke run is marked slow."""

import importlib.util
import json
import math
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load():
    spec = importlib.util.spec_from_file_location("profile_apps", os.path.join(ROOT, "bench", "profile_apps.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("only", ["", "mnist,nope", "svm"])
def test_bad_only_is_a_usage_error(only, capsys):
    with pytest.raises(SystemExit) as info:
        _load().main(["--only", only])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--only" in err and "mnist" in err and "Traceback" not in err


def test_bad_blocks_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        _load().main(["--blocks", "0", "--only", "mnist"])
    assert info.value.code == 2
    assert "--blocks" in capsys.readouterr().err


def test_arithmetic_rate_is_positive_and_finite():
    rate = _load().arithmetic_rate(n=64, conv_batch=1, conv_size=8, conv_channels=8, repeats=1)
    assert set(rate) == {"matmul_gflops", "conv_gflops", "best_gflops"}
    assert all(math.isfinite(v) and v > 0 for v in rate.values())
    assert rate["best_gflops"] == max(rate["matmul_gflops"], rate["conv_gflops"])


def test_row_arithmetic():
    # 1e9 MACs forward: x2 FLOPs x3 passes = 6 GFLOP in a 2 s bare step -> 3 GFLOP/s, 30% of a 10 GFLOP/s machine.
    row = _load()._row("x", 3.0, 2.0, 10**9, 10.0)
    assert row["overhead a/b"] == "1.50"
    assert row["network GFLOP/s"] == "3.00"
    assert row["share of machine rate"] == "30.0 %"
    forward_only = _load()._row("f", 1.0, 1.0, 10**9, 10.0, passes=1, unit="region")
    assert forward_only["network GFLOP/s"] == "2.00" and "app s/region" in forward_only


def test_missing_rcnn_hook_is_reported_as_skipped(monkeypatch):
    module = _load()
    monkeypatch.setattr(module, "_rcnn_hook", lambda: (None, "no profile_finetune here"))
    report = module.run(["rcnn", "rcnn-features"], smoke=True)
    assert report["rows"] == [] and "no profile_finetune here" in report["skipped"]["rcnn"]
    assert report["rate"]["best_gflops"] > 0


@pytest.mark.slow
def test_smoke_run_reports_every_available_part(tmp_path, capsys):
    out = tmp_path / "profile.json"
    # R-CNN's smoke part alone takes minutes on a loaded 2-core machine: see the skipped-hook test above.
    report = _load().main(["--smoke", "--only", "mnist,captioning", "--json", str(out)])
    text = capsys.readouterr().out
    saved = json.loads(out.read_text())
    parts = [row["part"] for row in report["rows"]]
    assert parts[:2] == ["mnist (train step)", "captioning (decoder step)"]
    for raw in ("mnist", "captioning"):
        r = saved["raw"][raw]
        assert r["app_step_s"] > 0 and r["bare_step_s"] > 0 and r["forward_macs"] > 0
    assert "Machine rate (c)" in text and "overhead a/b" in text
    assert saved["rate"]["best_gflops"] > 0
