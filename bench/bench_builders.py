"""kerasnets builders vs keras.applications for the architectures both provide.

Side by side in one process, alternating between the two implementations:

- build time: constructing the model (``weights=None``, ``include_top=True``, default size),
  median of ``--builds`` constructions each;
- training-step throughput: ``include_top=False, pooling="avg"`` plus the same Dense head,
  at ``--size`` pixels, batch ``--batch-size``, SGD, ``jit_compile`` off (kerasnets' CPU
  policy), median over alternating timed blocks.

Ratios are kerasnets / keras.applications (build: time ratio, <1 faster; throughput:
images/s ratio, >1 faster). Pairs whose kerasnets model is not registered are skipped.

    python bench/bench_builders.py
    python bench/bench_builders.py --models vgg16,resnet50 --size 64 --json /tmp/builders.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _bench_utils import alternating_step_times, header, markdown_table, write_json  # noqa: E402

# kerasnets name -> keras.applications constructor name
PAIRS = {
    "vgg16": "VGG16",
    "resnet50": "ResNet50",
    "densenet121": "DenseNet121",
    "inception_v3": "InceptionV3",
    "resnet50_v2": "ResNet50V2",
    "vgg19": "VGG19",
    "resnet101": "ResNet101",
    "densenet169": "DenseNet169",
    "inception_resnet_v2": "InceptionResNetV2",
}
DEFAULT_MODELS = "vgg16,resnet50,densenet121,inception_v3"


def _builders(name):
    import keras

    import kerasnets

    app = getattr(keras.applications, PAIRS[name])
    return {"kerasnets": lambda **kw: kerasnets.get_model(name, **kw), "keras.applications": lambda **kw: app(**kw)}


def build_times(name, builds):
    import keras

    times = {k: [] for k in ("kerasnets", "keras.applications")}
    params = {}
    builders = _builders(name)
    for _ in range(builds):
        for impl, build in builders.items():
            keras.backend.clear_session()
            start = time.perf_counter()
            model = build(weights=None)
            times[impl].append(time.perf_counter() - start)
            params[impl] = model.count_params()
            del model
    return {k: float(np.median(v)) for k, v in times.items()}, params


def _trainable(build, size, classes):
    import keras

    base = build(weights=None, include_top=False, pooling="avg", input_shape=(size, size, 3))
    out = keras.layers.Dense(classes, activation="softmax", name="bench_head")(base.output)
    model = keras.Model(base.input, out)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy",
                  jit_compile=False)
    return model


def step_throughput(name, *, size, batch_size, steps, blocks):
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    models = {impl: _trainable(build, size, 10) for impl, build in _builders(name).items()}
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch_size, size, size, 3)).astype("float32")
    y = rng.integers(0, 10, batch_size)
    for model in models.values():
        model.train_on_batch(x, y)  # trace
        model.train_on_batch(x, y)
    times = alternating_step_times(models, x, y, steps=steps, blocks=blocks)
    ips = {impl: batch_size / float(np.median(t)) for impl, t in times.items()}
    # Per-block ratio (kerasnets / keras.applications images/s): blocks alternate, so each pair
    # of neighbouring blocks saw about the same machine load; their spread says what is noise.
    ratios = [a / b for a, b in zip(times["keras.applications"], times["kerasnets"])]
    ips["block_ratios"] = ratios
    ips["params"] = {impl: model.count_params() for impl, model in models.items()}
    return ips


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated, from {', '.join(PAIRS)}")
    parser.add_argument("--size", type=int, default=96, help="input side for the throughput runs (>= 75)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="train steps per timed block")
    parser.add_argument("--blocks", type=int, default=3, help="alternating timed blocks per implementation")
    parser.add_argument("--skip-build", action="store_true", help="time only the training steps")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import kerasnets

    registered = set(kerasnets.list_models())
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in PAIRS]
    if unknown:
        parser.error(f"--models must be among {', '.join(PAIRS)}. Received: {', '.join(unknown)}")
    skipped = [n for n in names if n not in registered]
    rows = []
    for name in names:
        if name in skipped:
            continue
        if args.skip_build:
            build, params = {"kerasnets": float("nan"), "keras.applications": float("nan")}, None
        else:
            build, params = build_times(name, args.builds)
        ips = step_throughput(name, size=args.size, batch_size=args.batch_size, steps=args.steps, blocks=args.blocks)
        params = params or ips["params"]  # without --skip-build: the full models' (with top) counts
        row = {
            "model": f"{name} / {PAIRS[name]}",
            "params kerasnets": f"{params['kerasnets']:,}",
            "params keras.app": f"{params['keras.applications']:,}",
            "build s kerasnets": round(build["kerasnets"], 2),
            "build s keras.app": round(build["keras.applications"], 2),
            "build ratio": round(build["kerasnets"] / build["keras.applications"], 2),
            "img/s kerasnets": round(ips["kerasnets"], 1),
            "img/s keras.app": round(ips["keras.applications"], 1),
            "throughput ratio": round(ips["kerasnets"] / ips["keras.applications"], 2),
            "ratio min-max over blocks": f"{min(ips['block_ratios']):.2f}-{max(ips['block_ratios']):.2f}",
        }
        print(row, flush=True)
        rows.append(row)
    print()
    print(header(f"Builders vs keras.applications (build at default size; train step at {args.size}px, "
                 f"batch {args.batch_size}, float32, jit_compile off)"))
    print(markdown_table(rows, list(rows[0]) if rows else ["model"]))
    print("\nbuild ratio = kerasnets / keras.applications build time (<1: kerasnets builds faster); "
          "throughput ratio = kerasnets / keras.applications train images/s (>1: kerasnets faster).")
    if skipped:
        print(f"\nNot registered in kerasnets yet (skipped): {', '.join(skipped)}")
    write_json(args.json, {"rows": rows, "skipped": skipped, "args": vars(args)})


if __name__ == "__main__":
    main()
