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


class UncleanError(AssertionError):
    """Raised by ``assert_clean_error``; ``kind`` is "traceback" or "unclear error" (for the figures)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def assert_clean_error(
    status: int,
    stderr: str,
    *,
    expected_status: int = 2,
    names: Iterable[str] = (),
) -> None:
    """Assert a clean error: the status, every name/value of ``names`` in stderr, and no traceback."""
    if "Traceback (most recent call last)" in stderr:
        raise UncleanError(f"a traceback instead of a clear error:\n{stderr}", "traceback")
    if status != expected_status:
        raise UncleanError(f"exit status {status}, expected {expected_status}; stderr:\n{stderr}", "unclear error")
    if not stderr.strip():
        raise UncleanError("no error message on stderr", "unclear error")
    missing = [name for name in names if str(name) not in stderr]
    if missing:
        raise UncleanError(f"the error does not name {missing}; stderr:\n{stderr}", "unclear error")


@pytest.fixture(name="run_cli")
def _run_cli_fixture():
    """The ``run_cli`` helper."""
    return run_cli


@pytest.fixture(name="assert_clean_error")
def _assert_clean_error_fixture():
    """The ``assert_clean_error`` helper."""
    return assert_clean_error


# ------------------------------------------------------------------ figures


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "reliability(kind): a reliability-corpus case guarding against one of "
        "'clear error' (a bad input), 'correct result' (no silent wrong result), 'nothing lost'",
    )
    config._kerasnets_reliability = {}


_HERE = os.path.dirname(os.path.abspath(__file__))


def _kind(item) -> str | None:
    """The case's kind: its ``reliability`` marker, else "clear error" for an unmarked test of this folder."""
    marker = item.get_closest_marker("reliability")
    if marker is None:
        inside = os.path.abspath(str(item.path)).startswith(_HERE + os.sep)
        return "clear error" if inside else None
    kind = marker.args[0] if marker.args else marker.kwargs.get("kind", "clear error")
    if kind not in KINDS:
        raise pytest.UsageError(f"reliability marker of {item.nodeid}: kind must be one of {KINDS}, got {kind!r}")
    return kind


def classify(kind: str, passed: bool, excinfo=None) -> str:
    """The figure one case counts in: its kind's success, or "tracebacks", "unclear errors",
    "silent wrong results", "lost work".

    A failure is a traceback when assert_clean_error saw one, when an exception other than an
    assertion escaped the test (the code under test raised), or when the assertion message
    carries a traceback; otherwise it is the failure of the case's kind.
    """
    if passed:
        return {"clear error": "clear errors", "correct result": "correct results", "nothing lost": "work kept"}[kind]
    value = getattr(excinfo, "value", None)
    if isinstance(value, UncleanError):
        if value.kind == "traceback":
            return "tracebacks"
    elif value is not None and not isinstance(value, AssertionError):
        return "tracebacks"
    elif "Traceback (most recent call last)" in str(value):
        return "tracebacks"
    return {"clear error": "unclear errors", "correct result": "silent wrong results", "nothing lost": "lost work"}[kind]


FIGURES = ("clear errors", "correct results", "work kept", "unclear errors", "tracebacks",
           "silent wrong results", "lost work", "skipped")


def _area(item) -> str:
    name = os.path.splitext(os.path.basename(str(item.path)))[0]
    return name[len("test_"):] if name.startswith("test_") else name


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
            figure = classify(kind, report.passed, call.excinfo)
        item.config._kerasnets_reliability[item.nodeid] = (_area(item), figure)


def figure_table(results: dict) -> list[str]:
    """The corpus figures as Markdown rows: one per area (test file) and the total."""
    areas: dict[str, dict[str, int]] = {}
    for area, figure in results.values():
        counts = areas.setdefault(area, {})
        counts[figure] = counts.get(figure, 0) + 1
    lines = ["| area | cases | " + " | ".join(FIGURES) + " |", "|---|" + "---:|" * (len(FIGURES) + 1)]
    total: dict[str, int] = {}
    for area in sorted(areas):
        counts = areas[area]
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        lines.append(f"| {area} | {sum(counts.values())} | " + " | ".join(str(counts.get(f, 0)) for f in FIGURES) + " |")
    lines.append(f"| **all** | {sum(total.values())} | " + " | ".join(str(total.get(f, 0)) for f in FIGURES) + " |")
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = getattr(config, "_kerasnets_reliability", {})
    if not results:
        return
    terminalreporter.section("reliability corpus (docs/reliability.md)")
    for line in figure_table(results):
        terminalreporter.write_line(line)
