"""The reliability corpus: bad inputs, faults and interruptions against every entry point.

Each area has its own ``tests/reliability/test_<area>.py`` of parametrised,
cheap cases (in-process ``main(argv)`` calls where a subprocess is not the point).
Helpers, as fixtures (no import of this file needed):

- ``run_cli(main, argv) -> (status, stdout, stderr)``: runs a CLI's
  ``main(argv)`` in-process, catching SystemExit, capturing both streams.
- ``assert_clean_error(status, stderr, *, expected_status=2, names=())``:
  the status, every name/value of ``names`` in stderr, no "Traceback".

Mark a case with what it guards, so the corpus figures can be recounted
(docs/reliability.md)::

    @pytest.mark.reliability("clear error")   # or "correct result", "nothing lost"

A run prints the figures (cases, clear errors, unclear errors, tracebacks,
silent wrong results, lost work) at the end of the pytest output.
"""

from __future__ import annotations

import contextlib
import io
import os
import traceback
from typing import Callable, Iterable, Sequence

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

KINDS = ("clear error", "correct result", "nothing lost")


def run_cli(main: Callable[[Sequence[str]], int | None], argv: Sequence[str]) -> tuple[int, str, str]:
    """Run ``main(argv)`` in-process; returns ``(status, stdout, stderr)``.

    A SystemExit (argparse) gives its code; an exception that escapes ``main``
    is written to the captured stderr as a traceback and gives status 1, so that
    ``assert_clean_error`` reports it as one.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code
            status = 0 if code is None else code if isinstance(code, int) else 1
            if not isinstance(code, (int, type(None))):
                print(code, file=err)
        except Exception:  # noqa: BLE001 - the point is to record it as a traceback
            traceback.print_exc(file=err)
            status = 1
    return (0 if status is None else int(status)), out.getvalue(), err.getvalue()


def assert_clean_error(
    status: int,
    stderr: str,
    *,
    expected_status: int = 2,
    names: Iterable[str] = (),
) -> None:
    """Assert a clean error: the status, every name/value of ``names`` in stderr, and no traceback."""
    assert "Traceback" not in stderr, f"traceback instead of a clear error:\n{stderr}"
    assert status == expected_status, f"exit status {status}, expected {expected_status}; stderr:\n{stderr}"
    assert stderr.strip(), "no error message on stderr"
    missing = [name for name in names if str(name) not in stderr]
    assert not missing, f"the error does not name {missing}; stderr:\n{stderr}"


@pytest.fixture(name="run_cli")
def _run_cli_fixture():
    """The :func:`run_cli` helper."""
    return run_cli


@pytest.fixture(name="assert_clean_error")
def _assert_clean_error_fixture():
    """The :func:`assert_clean_error` helper."""
    return assert_clean_error


# ------------------------------------------------------------------ figures


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "reliability(kind): a reliability-corpus case guarding against one of "
        "'clear error' (a bad input), 'correct result' (no silent wrong result), 'nothing lost'",
    )
    config._kerasnets_reliability = {}


def _kind(item) -> str | None:
    marker = item.get_closest_marker("reliability")
    if marker is None:
        return None
    kind = marker.args[0] if marker.args else marker.kwargs.get("kind", "clear error")
    if kind not in KINDS:
        raise pytest.UsageError(f"reliability marker of {item.nodeid}: kind must be one of {KINDS}, got {kind!r}")
    return kind


def classify(kind: str, passed: bool, failure_text: str) -> str:
    """The figure one case counts in: its kind's success, or 'traceback', 'unclear error', 'silent wrong result', 'lost work'."""
    if passed:
        return {"clear error": "clear errors", "correct result": "correct results", "nothing lost": "work kept"}[kind]
    if "Traceback" in failure_text or "traceback instead" in failure_text:
        return "tracebacks"
    return {"clear error": "unclear errors", "correct result": "silent wrong results", "nothing lost": "lost work"}[kind]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    kind = _kind(item)
    if kind is None or not hasattr(item.config, "_kerasnets_reliability"):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if report.skipped:
            figure = "skipped"
        else:
            figure = classify(kind, report.passed, str(report.longrepr or ""))
        item.config._kerasnets_reliability[item.nodeid] = figure


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures = getattr(config, "_kerasnets_reliability", {})
    if not figures:
        return
    counts: dict[str, int] = {}
    for figure in figures.values():
        counts[figure] = counts.get(figure, 0) + 1
    order = ("clear errors", "correct results", "work kept", "unclear errors", "tracebacks",
             "silent wrong results", "lost work", "skipped")
    terminalreporter.section("reliability corpus")
    terminalreporter.write_line(f"cases: {len(figures)}")
    for name in order:
        terminalreporter.write_line(f"{name}: {counts.get(name, 0)}")
