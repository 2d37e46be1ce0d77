"""Where the apps' training time goes: each app's real step vs its bare network vs this machine's rate.

For each app's training step, timed side by side in this one process (alternating blocks):

(a) ``app``: the app's real step, including its input pipeline;
(b) ``bare``: the same network's ``train_on_batch`` on one batch already in memory;
(c) this machine's measured float32 arithmetic rate: a 2048^3 matmul and a 3x3 convolution
    (best of a few repeats, GFLOP/s), timed between the apps' blocks.

Per app it prints the step time (a), the pipeline overhead ratio a / b, and the network's share
of the measured rate: ``forward MACs x 2 (FLOPs) x 3 (forward + two backward products) / b``
over (c)'s best rate. MACs come from :func:`kerasnets.counting.count` on the app's own model.

Parts:
- ``mnist``: :func:`apps.mnist.pipeline.train_stream` batches (augmented, the app's defaults for
  mnist-5k) through the app's compiled classifier with ``model.fit``, vs ``train_on_batch``;
- ``captioning``: :func:`bench.captioning_bench.profile_step` (the app's hook; its note also
  gives the CPU-time ratio, less disturbed by other jobs than the wall-time one);
- ``rcnn``, ``rcnn-features``: ``bench.rcnn_bench.profile_finetune(features=True)`` (h-rcnn's hook;
  skipped with a note when this checkout does not have it yet).

    python bench/profile_apps.py                         # every part, full sizes
    python bench/profile_apps.py --only mnist,captioning
    python bench/profile_apps.py --smoke --json /tmp/profile.json   # tiny sizes, under a minute
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

PARTS = ("mnist", "rcnn", "rcnn-features", "captioning")


# ---------------------------------------------------------------------------------------------
# (c) the machine's arithmetic rate
# ---------------------------------------------------------------------------------------------

def arithmetic_rate(*, n: int = 2048, conv_batch: int = 16, conv_size: int = 56, conv_channels: int = 64,
                    repeats: int = 3) -> dict:
    """Float32 GFLOP/s of an ``n^3`` matmul and a 3x3 'same' convolution, best of ``repeats``.

    Runs through ``keras.ops`` on the active backend, so it measures the same kernels the
    networks use. Returns ``{"matmul_gflops", "conv_gflops", "best_gflops"}``.
    """
    import keras
    from keras import ops

    rng = np.random.default_rng(0)
    a = ops.convert_to_tensor(rng.standard_normal((n, n), dtype=np.float32))
    b = ops.convert_to_tensor(rng.standard_normal((n, n), dtype=np.float32))
    x = ops.convert_to_tensor(rng.standard_normal((conv_batch, conv_size, conv_size, conv_channels), dtype=np.float32))
    k = ops.convert_to_tensor(rng.standard_normal((3, 3, conv_channels, conv_channels), dtype=np.float32))

    def best(fn, flops):
        keras.ops.convert_to_numpy(fn())  # warm-up (and, on JAX, compilation)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            keras.ops.convert_to_numpy(fn())
            times.append(time.perf_counter() - start)
        return flops / min(times) / 1e9

    matmul = best(lambda: ops.matmul(a, b), 2.0 * n**3)
    conv_flops = 2.0 * conv_batch * conv_size * conv_size * conv_channels * conv_channels * 9
    conv = best(lambda: ops.conv(x, k, padding="same"), conv_flops)
    return {"matmul_gflops": matmul, "conv_gflops": conv, "best_gflops": max(matmul, conv)}


def _macs(model) -> int:
    from kerasnets.counting import count

    return int(count(model).macs or 0)


# ---------------------------------------------------------------------------------------------
# (a) vs (b) per app
# ---------------------------------------------------------------------------------------------

def profile_mnist(*, train_examples: int = 4000, batch_size: int = 128, steps: int = 20, blocks: int = 3,
                  model: str = "lenet5", model_kwargs: dict | None = None, seed: int = 0) -> dict:
    """The MNIST app's step: ``fit`` over the app's augmented ``train_stream`` vs ``train_on_batch``.

    Both use one model, built and compiled exactly as :func:`apps.mnist.train.train` does for
    mnist-5k (the app's classifier, recipe, metric and ``jit_compile`` policy). The images are the
    real mnist-5k digits when ``../shared/data``-style data is found, else random digits of the
    same shape (the step's cost does not depend on the pixel values).

    Returns:
        ``{"app_step_s", "bare_step_s", "overhead", "forward_macs" (per step), "steps", ...}``.
    """
    import keras

    from apps.mnist import pipeline, recipe
    from apps.mnist.model import build_classifier
    from apps.mnist.train import resolve_jit_compile

    defaults = recipe.DEFAULTS["mnist-5k"]
    x, y, source = _mnist_digits(train_examples)
    keras.utils.set_random_seed(seed)
    mean, std = float(x.mean() / 255.0), float(x.std() / 255.0)
    net = build_classifier(model, mean=mean, std=std,
                           model_kwargs={"form": "modern"} if model_kwargs is None and model == "lenet5"
                           else (model_kwargs or {}))
    per_epoch = pipeline.steps_per_epoch(len(x), batch_size)
    rec = recipe.make_recipe(epochs=defaults["epochs"], steps_per_epoch=per_epoch,
                             learning_rate=defaults["learning_rate"], weight_decay=5e-4, warmup_epochs=1.0,
                             label_smoothing=0.1)
    net.compile(optimizer=rec.optimizer, loss=rec.loss, metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                jit_compile=resolve_jit_compile("auto"))
    augment = pipeline.AugmentConfig(defaults["rotation"], defaults["scale"], defaults["shift"], defaults["hflip"])
    kind = pipeline.choose_pipeline("auto")
    epochs = -(-(steps * (blocks + 1)) // per_epoch) + 1

    def stream(first):
        s = pipeline.train_stream(x, y, batch_size=batch_size, epochs=epochs, seed=seed, augment=augment,
                                  start_step=first, pipeline=kind)
        return s if kind == "tf" else iter(s)

    first_batch = next(iter(pipeline.train_stream(x, y, batch_size=batch_size, epochs=1, seed=seed,
                                                  augment=augment, pipeline="numpy")))
    bx, by = (np.asarray(v) for v in first_batch)
    # Warm up both paths (tracing), then alternate.
    net.fit(stream(0), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    net.train_on_batch(bx, by)
    app, bare = [], []
    for block in range(blocks):
        s = stream((block + 1) * steps)
        start = time.perf_counter()
        net.fit(s, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        app.append((time.perf_counter() - start) / steps)
        start = time.perf_counter()
        for _ in range(steps):
            net.train_on_batch(bx, by)
        bare.append((time.perf_counter() - start) / steps)
    return {
        "app_step_s": statistics.median(app), "bare_step_s": statistics.median(bare),
        "overhead": statistics.median(a / b for a, b in zip(app, bare)),
        "forward_macs": _macs(net) * batch_size, "steps": steps, "batch_size": batch_size,
        "pipeline": kind, "data": source, "model": net.name,
    }


def _mnist_digits(limit):
    from kerasnets.data import load_dataset

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        data = load_dataset("mnist-5k", data_dir=os.path.join(root, "..", "shared", "data"), download=False)
        return data.x_train[:limit], data.y_train[:limit], "mnist-5k"
    except Exception:  # not available here: the step's cost does not depend on the pixels
        rng = np.random.default_rng(0)
        return (rng.integers(0, 256, (limit, 28, 28), dtype=np.uint8), rng.integers(0, 10, limit),
                "random digits (mnist-5k not found)")


def profile_captioning(*, smoke: bool, blocks: int = 3) -> dict:
    """The captioning decoder's step through :func:`bench.captioning_bench.profile_step` (wall and CPU time)."""
    from bench.captioning_bench import profile_step

    if smoke:
        out = profile_step(batch_size=8, max_length=8, grid=4, feature_dim=64, units=32, vocab=200, images=8,
                           captions_per_image=2, blocks=2)
    else:
        out = profile_step(blocks=blocks)
    return dict(out)


def _rcnn_hook():
    try:
        from bench.rcnn_bench import profile_finetune
    except ImportError as exc:  # h-rcnn's hook is not merged into this checkout yet
        return None, str(exc)
    return profile_finetune, None


def profile_rcnn(*, smoke: bool, backbone: str = "alexnet", input_size: int = 64) -> dict:
    """R-CNN fine-tuning and SVM feature pass through h-rcnn's ``profile_finetune(features=True)``."""
    hook, why = _rcnn_hook()
    if hook is None:
        raise LookupError(f"bench.rcnn_bench.profile_finetune is not available in this checkout ({why})")
    kwargs = {"steps": 2, "blocks": 2, "num_images": 4} if smoke else {}
    out = dict(hook(backbone=backbone, input_size=input_size, features=True, verbose=False, **kwargs))
    from apps.rcnn.network import build_network, feature_model

    net = build_network(backbone, num_classes=1, input_size=input_size)
    out["forward_macs"] = _macs(net) * int(out.get("regions_per_step", 128))
    try:
        out["features_macs_per_region"] = _macs(feature_model(net))
    except Exception:  # the feature model's signature differs: fall back to the network's MACs
        out["features_macs_per_region"] = _macs(net)
    return out


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------

def _row(part, app_s, bare_s, macs, rate, *, passes=3, unit="step", note=""):
    gflops = macs * 2 * passes / bare_s / 1e9 if bare_s and macs else float("nan")
    return {
        "part": part, f"app s/{unit}": f"{app_s:.4g}", f"bare s/{unit}": f"{bare_s:.4g}",
        "overhead a/b": f"{app_s / bare_s:.2f}" if bare_s else "n/a",
        "network GFLOP/s": f"{gflops:.2f}", "share of machine rate": f"{100 * gflops / rate:.1f} %",
        "note": note,
    }


def run(parts, *, smoke: bool = False, blocks: int = 3) -> dict:
    """Profile ``parts`` (names from :data:`PARTS`), measuring the machine's rate before and after.

    Returns:
        ``{"rate": {...}, "rows": [...], "raw": {part: hook output}, "skipped": {part: reason}}``.
    """
    rate_kwargs = {"n": 512, "conv_batch": 2, "conv_size": 28, "repeats": 2} if smoke else {}
    rates = [arithmetic_rate(**rate_kwargs)]
    raw, rows, skipped = {}, [], {}
    for part in parts:
        if part == "mnist":
            raw[part] = profile_mnist(**({"train_examples": 512, "steps": 3, "blocks": 2} if smoke
                                         else {"blocks": blocks}))
        elif part == "captioning":
            raw[part] = profile_captioning(smoke=smoke, blocks=blocks)
        elif part in ("rcnn", "rcnn-features"):
            if "rcnn" in raw or "rcnn" in skipped:
                continue  # one call measures both
            try:
                raw["rcnn"] = profile_rcnn(smoke=smoke)
            except LookupError as exc:
                skipped["rcnn"] = str(exc)
                continue
        rates.append(arithmetic_rate(**rate_kwargs))
    best = max(r["best_gflops"] for r in rates)
    for part in parts:
        if part == "mnist" and part in raw:
            r = raw[part]
            rows.append(_row("mnist (train step)", r["app_step_s"], r["bare_step_s"], r["forward_macs"], best,
                             note=f"batch {r['batch_size']}, {r['pipeline']} pipeline, {r['data']}"))
        elif part == "captioning" and part in raw:
            r = raw[part]
            rows.append(_row("captioning (decoder step)", r["app_step_s"], r["bare_step_s"], r["forward_macs"], best,
                             note=f"{r['steps']} steps per epoch, {r['blocks']} blocks; CPU-time a/b "
                             f"{r['overhead_cpu']:.2f}"))
        elif part == "rcnn" and "rcnn" in raw:
            r = raw["rcnn"]
            rows.append(_row("rcnn (fine-tuning step)", r["app_step_s"], r["bare_step_s"], r["forward_macs"], best,
                             note=f"{r.get('regions_per_step', '?')} regions, {r.get('backbone', '')}"))
        elif part == "rcnn-features" and "rcnn" in raw and "features_app_s_per_region" in raw["rcnn"]:
            r = raw["rcnn"]
            rows.append(_row("rcnn (SVM feature pass)", r["features_app_s_per_region"],
                             r["features_bare_s_per_region"], r["features_macs_per_region"], best, passes=1,
                             unit="region", note="forward only (x1, not x3)"))
    return {"rate": {"samples": rates, "best_gflops": best}, "rows": rows, "raw": raw, "skipped": skipped,
            "load_average_at_end": os.getloadavg()}


def _parts(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in names if p not in PARTS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list from {', '.join(PARTS)}, got {text!r}")
    return names


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=_parts, default=list(PARTS), help=f"parts to run, from {', '.join(PARTS)}")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (under a minute): checks that it runs")
    parser.add_argument("--blocks", type=int, default=3, help="alternating timed blocks (mnist, captioning)")
    parser.add_argument("--json", default=None, help="write the raw figures as JSON here")
    args = parser.parse_args(argv)
    if args.blocks < 1:
        parser.error(f"argument --blocks: expected an integer >= 1, got {args.blocks!r}")

    from _bench_utils import header, markdown_table, write_json

    report = run(args.only, smoke=args.smoke, blocks=args.blocks)
    rate = report["rate"]
    print(header("Where the apps' training time goes (issue 19)" + (" [smoke sizes]" if args.smoke else "")))
    print(f"Machine rate (c), best float32: {rate['best_gflops']:.1f} GFLOP/s (matmul "
          + ", ".join(f"{r['matmul_gflops']:.1f}" for r in rate["samples"]) + "; conv "
          + ", ".join(f"{r['conv_gflops']:.1f}" for r in rate["samples"]) + " GFLOP/s over the run)\n")
    columns = ["part", "app s/step", "bare s/step", "overhead a/b", "network GFLOP/s", "share of machine rate", "note"]
    rows = [{("app s/step" if k.startswith("app s/") else "bare s/step" if k.startswith("bare s/") else k): v
             for k, v in row.items()} for row in report["rows"]]
    print(markdown_table(rows, columns))
    print("\nnetwork GFLOP/s = forward MACs x 2 x 3 / bare step time (x 1 for the forward-only feature pass); "
          "share = that / the machine rate (c).")
    for part, why in report["skipped"].items():
        print(f"\nskipped {part}: {why}")
    write_json(args.json, report)
    return report


if __name__ == "__main__":
    main()
