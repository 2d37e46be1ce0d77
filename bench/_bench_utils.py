"""Shared helpers of the benchmark scripts: machine description, timing, markdown tables.

Every script prints a markdown table (pasted into docs/benchmarks.md as generated)
headed by the command, the machine and the date, and can write the raw numbers as JSON.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time


try:
    _LOAD_AT_START = os.getloadavg()[0]  # scripts import this module before timing anything
except OSError:  # pragma: no cover - not on every platform
    _LOAD_AT_START = None


def machine() -> str:
    """A one-line description of the machine: CPU model, cores, TF/Keras/JAX versions."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    parts = [f"{os.cpu_count()}-core CPU ({cpu})"]
    for mod in ("tensorflow", "keras", "jax"):
        m = sys.modules.get(mod)
        if m is not None:
            parts.append(f"{mod} {m.__version__}")
    if _LOAD_AT_START is not None:
        parts.append(f"load average at start {_LOAD_AT_START:.1f}, at end {os.getloadavg()[0]:.1f}")
    return ", ".join(parts)


def header(title: str) -> str:
    cmd = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    today = datetime.date.today().isoformat()
    return f"### {title}\n\nCommand: `{cmd}`  \nMachine: {machine()}  \nDate: {today}\n"


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def alternating_step_times(models: dict, x, y, *, steps: int, blocks: int) -> dict[str, list[float]]:
    """Seconds per ``train_on_batch`` step of each model, one figure per timed block.

    The models take turns, ``steps`` steps each, ``blocks`` times over, so load on the machine
    affects them alike; neighbouring blocks of two models saw about the same load.
    """
    times = {key: [] for key in models}
    for _ in range(blocks):
        for key, model in models.items():
            start = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(x, y)
            times[key].append((time.perf_counter() - start) / steps)
    return times


def median(values):
    return statistics.median(values)


def write_json(path: str | None, payload) -> None:
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(payload, f, indent=2)
