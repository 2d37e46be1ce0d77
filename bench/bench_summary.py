"""Time for the summary tool to count every registered model, next to Keras's own summary.

For each registered model (default configuration and size): build it, then time
``kerasnets.counting.count(model)`` (analytic params + MACs per layer) and, side by side on the
same built model, Keras's ``model.summary()`` (its per-layer parameter table, printed to a
discarded stream). The ratio count / keras summary says what the extra MAC analysis costs.

    python bench/bench_summary.py                 # every registered model
    python bench/bench_summary.py --pattern 'resnet*' --json /tmp/summary_bench.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pattern", default=None, help="only models matching this shell pattern")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per model (median)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import statistics

    import keras

    import kerasnets
    from _bench_utils import header, markdown_table, write_json
    from kerasnets.counting import count

    names = kerasnets.list_models(args.pattern)
    rows = []
    totals = {"build": 0.0, "count": 0.0, "keras": 0.0}
    wall = time.perf_counter()
    for name in names:
        keras.backend.clear_session()
        start = time.perf_counter()
        model = kerasnets.get_model(name)
        build = time.perf_counter() - start
        count_t, keras_t = [], []
        report = None
        for _ in range(args.repeats):
            start = time.perf_counter()
            report = count(model)
            count_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            model.summary(print_fn=lambda *a, **k: None)
            keras_t.append(time.perf_counter() - start)
        c, k = statistics.median(count_t), statistics.median(keras_t)
        assert report.params == model.count_params(), name  # the count is checked, not just timed
        totals["build"] += build
        totals["count"] += c
        totals["keras"] += k
        rows.append({"model": name, "layers": len(model.layers), "params": f"{report.params:,}",
                     "MACs": f"{report.macs:,}" if report.macs is not None else "-",
                     "build s": round(build, 2), "count s": round(c, 3), "keras summary s": round(k, 3),
                     "ratio": round(c / k, 2) if k else "-"})
        print(rows[-1], flush=True)
        del model
    wall = time.perf_counter() - wall
    print()
    print(header(f"Summary tool: count every registered model ({len(names)} models)"))
    print(markdown_table(rows, list(rows[0])))
    print(f"\nTotals: build {totals['build']:.1f} s, kerasnets count {totals['count']:.1f} s, "
          f"Keras model.summary {totals['keras']:.1f} s (ratio {totals['count'] / totals['keras']:.2f}); "
          f"wall time of the whole run {wall:.0f} s. ratio = count / Keras summary on the same built model "
          "(median of repeats).")
    write_json(args.json, {"rows": rows, "totals": totals, "wall_s": wall})


if __name__ == "__main__":
    main()
