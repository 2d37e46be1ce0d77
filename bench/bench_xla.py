"""XLA on/off: train-step time of kerasnets models with jit_compile=False vs True, side by side.

On the TensorFlow backend, ``jit_compile=False`` runs TensorFlow's own kernels (oneDNN
on CPU) and ``jit_compile=True`` compiles the whole train step with XLA. The two
models of each pair start from the same weights, see the same batch and are timed in
alternating blocks, so load on the machine affects both alike. The ratio
``XLA / oneDNN`` of the median step time is what ``kerasnets.xla.resolve_jit_compile``'s
``auto`` policy is decided from (>1 means XLA is slower).

    python bench/bench_xla.py                       # default models, batch 32
    python bench/bench_xla.py --models lenet5,nin_cifar --batch-size 64 --json /tmp/xla.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)
sys.path.insert(0, os.path.join(_ROOT, "tests"))  # family_models: the tests' classifier at any size
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _bench_utils import alternating_step_times, header, markdown_table, write_json  # noqa: E402
from family_models import small_classifier  # noqa: E402

DEFAULT_MODELS = "lenet5,nin_cifar,resnet20,vgg11@32,densenet121@32"


def parse_models(text: str):
    import kerasnets

    known = set(kerasnets.list_models())
    out, skipped = [], []
    for item in text.split(","):
        name, _, size = item.strip().partition("@")
        if name not in known:
            skipped.append(name)
            continue
        out.append((name, int(size) if size else None))
    return out, skipped


def bench_model(name, size, *, batch_size, steps, blocks):
    import keras

    import kerasnets

    spec = kerasnets.get_spec(name)
    models = {}
    for mode, jit in (("oneDNN", False), ("XLA", True)):
        keras.utils.set_random_seed(0)
        model = small_classifier(name, size or spec.default_size, classes=10)
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy",
                      jit_compile=jit)
        models[mode] = model
    models["XLA"].set_weights(models["oneDNN"].get_weights())
    in_shape = models["oneDNN"].input_shape[1:]
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch_size, *in_shape)).astype("float32")
    y = rng.integers(0, 10, (batch_size,))
    first = {}
    for mode, model in models.items():
        start = time.perf_counter()
        model.train_on_batch(x, y)  # traces (and for XLA compiles) the step
        first[mode] = time.perf_counter() - start
        model.train_on_batch(x, y)
    times = alternating_step_times(models, x, y, steps=steps, blocks=blocks)
    off, on = float(np.median(times["oneDNN"])), float(np.median(times["XLA"]))
    return {
        "model": name if size is None else f"{name} @{size}",
        "input": "x".join(str(d) for d in in_shape),
        "params": models["oneDNN"].count_params(),
        "first_step_off_s": round(first["oneDNN"], 2),
        "first_step_on_s": round(first["XLA"], 2),
        "step_off_ms": round(off * 1000, 1),
        "step_on_ms": round(on * 1000, 1),
        "img_s_off": round(batch_size / off, 1),
        "img_s_on": round(batch_size / on, 1),
        "ratio": round(on / off, 2),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help="comma-separated model names, optionally @size (unregistered names are skipped)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--blocks", type=int, default=3, help="alternating timed blocks per mode")
    parser.add_argument("--json", default=None, help="write raw results here")
    args = parser.parse_args(argv)

    import keras

    if keras.backend.backend() != "tensorflow":
        parser.error("bench_xla.py compares TensorFlow's kernels with XLA: run it with KERAS_BACKEND=tensorflow")
    models, skipped = parse_models(args.models)
    rows = []
    for name, size in models:
        row = bench_model(name, size, batch_size=args.batch_size, steps=args.steps, blocks=args.blocks)
        print(row, flush=True)
        rows.append(row)
    print()
    print(header(f"XLA on/off, train step, TensorFlow backend on CPU, batch {args.batch_size}, float32"))
    cols = ["model", "input", "params", "step_off_ms", "step_on_ms", "img_s_off", "img_s_on", "ratio",
            "first_step_off_s", "first_step_on_s"]
    print(markdown_table(rows, cols))
    print("\nratio = XLA step time / oneDNN step time (median of alternating blocks); >1: XLA slower. "
          "first_step = trace + compile + one step.")
    if skipped:
        print(f"\nNot registered (skipped): {', '.join(skipped)}")
    write_json(args.json, {"rows": rows, "batch_size": args.batch_size, "skipped": skipped})


if __name__ == "__main__":
    main()
