"""Start-up time of the command lines, as ratios to ``python -c "import keras"`` measured in the same run.

Each round runs every command once, in a rotated order, with the baseline
``python -c "import keras"`` among them, so load on the machine affects all
alike; the figures are medians over the rounds. A ratio well under 1 means the
command answers without importing keras (``--help``, ``list``); about 1 or
more means it imports keras/TensorFlow first. Also reported: the lines each
command writes to stderr (start-up noise such as "cudart_stub ... Could not find
cuda drivers" counts here; 0 is the target).

    python bench/bench_cli.py                          # this checkout
    PYTHONPATH=/work/main python bench/bench_cli.py    # another checkout (e.g. main, for "before")
    python bench/bench_cli.py --rounds 5 --json /tmp/cli.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMMANDS = {
    'python -c "import keras"': ["-c", "import keras"],
    "kerasnets --help": ["-m", "kerasnets.cli", "--help"],
    "kerasnets list": ["-m", "kerasnets.cli", "list"],
    "python -m apps.mnist --help": ["-m", "apps.mnist", "--help"],
    "python -m apps.rcnn --help": ["-m", "apps.rcnn", "--help"],
    "python -m apps.captioning --help": ["-m", "apps.captioning", "--help"],
}
BASELINE = 'python -c "import keras"'


def run_once(args: list[str], env: dict, cwd: str) -> tuple[float, int, int]:
    """(seconds, exit status, stderr lines) of one run."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return seconds, result.returncode, len(result.stderr.splitlines())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every command (default: 3)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    root = os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or ROOT
    env = dict(os.environ, PYTHONPATH=root)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # measure what a user sees by default
    names = list(COMMANDS)
    times: dict[str, list[float]] = {n: [] for n in names}
    status: dict[str, set] = {n: set() for n in names}
    noise: dict[str, int] = {n: 0 for n in names}
    load_before = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            seconds, code, lines = run_once(COMMANDS[name], env, root)
            times[name].append(seconds)
            status[name].add(code)
            noise[name] = max(noise[name], lines)
            print(f"round {r + 1} {name}: {seconds:.2f} s (status {code}, {lines} stderr lines)", file=sys.stderr)
    load_after = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    base = statistics.median(times[BASELINE])
    rows = []
    for name in names:
        median = statistics.median(times[name])
        rows.append({"command": name, "median_s": round(median, 3), "ratio": round(median / base, 3),
                     "status": sorted(status[name]), "stderr_lines": noise[name]})
    print(f"code: {root}; rounds: {args.rounds}; load before {' '.join(load_before)}, after {' '.join(load_after)}")
    print("| command | median s | ratio to `import keras` | exit status | stderr lines |")
    print("|---|---:|---:|---|---:|")
    for row in rows:
        print(f"| `{row['command']}` | {row['median_s']:.2f} | {row['ratio']:.3f} | "
              f"{','.join(map(str, row['status']))} | {row['stderr_lines']} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"root": root, "rounds": args.rounds, "load_before": load_before, "load_after": load_after,
                       "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
