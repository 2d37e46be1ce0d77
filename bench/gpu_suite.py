"""The GPU suite: XLA-via-JAX throughput, a ResNet-20 CIFAR-10 reproduction, Fashion-MNIST time to 95%.

One script for the accelerator machine of docs/gpu.md (an H200 with JAX, no TensorFlow), sized to
finish in at most 8 minutes there; it prints a short table last and writes every figure as JSON.

1. **Train-step throughput** (images/s; Keras on JAX, every step one XLA program,
   ``jit_compile=True``) at batch 256 (halved on out-of-memory) in ``mixed_bfloat16`` and
   ``float32``: kerasnets alexnet, vgg16, googlenet, inception_v3 (299 px), resnet50,
   resnext50_32x4d, densenet121 at 224 px, and in the same run ``keras.applications`` VGG16,
   ResNet50, DenseNet121, InceptionV3 on the same backend, batch, optimiser and data. Each row
   gives the ratio to its keras.applications twin and the share of the arithmetic ceiling: MACs
   per image (``kerasnets.summary``) x 2 FLOPs x 3 (forward + two backward products) per training
   image, over the bf16 matmul rate this script measures on the same device with a large
   ``jnp.dot``. Jobs run bf16 first, in the order listed, and stop when the part's time budget is
   spent (XLA compiles each train step once, tens of seconds for the deep models): the JSON and
   the table say which were skipped.
2. **ResNet-20 on CIFAR-10, the paper's recipe** (He et al. 2015, section 4.2, via
   ``kerasnets.training.recipe("resnet_cifar")``: momentum-SGD 0.1 / 0.9, weight decay 1e-4, batch
   128, 4-pixel pad + random 32x32 crop + flip, LR / 10 at 32k and 48k of 64k iterations), data read
   by ``kerasnets.data.load_image_folder`` straight from ``cifar10-jpeg.tar.gz``. A short timed
   calibration run fixes how many iterations fit the part's budget; when fewer than 64k do, the
   schedule is compressed (the LR drops stay at 50% and 75% of the run) and the output says so.
   Test accuracy is compared with the paper's 91.25% (the JPEG re-encoding costs a few tenths).
3. **The MNIST app's default recipe on Fashion-MNIST with ResNet-20** (``apps.mnist.train.train``,
   its per-dataset defaults, model ``resnet20``): wall time until the test accuracy first reaches
   95% (checked at each epoch end), stopping there or at the part's budget.

Usage::

    KERAS_BACKEND=jax python bench/gpu_suite.py                 # the full suite (GPU)
    KERAS_BACKEND=jax python bench/gpu_suite.py --smoke         # same code paths, tiny, ~1 min on a CPU
    bash bench/gpu_suite.sh                                     # on the device machine (docs/gpu.md)

The JSON goes to ``--json`` (default ``$OUT/gpu_suite.json`` when ``$OUT`` is set); an existing
file is kept unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# (kerasnets model, keras.applications twin or None, image side) in the order they are run.
THROUGHPUT_MODELS = (
    ("resnet50", "ResNet50", 224),
    ("vgg16", "VGG16", 224),
    ("alexnet", None, 224),
    ("googlenet", None, 224),
    ("inception_v3", "InceptionV3", 299),
    ("densenet121", "DenseNet121", 224),
    ("resnext50_32x4d", None, 224),
)
DTYPES = ("mixed_bfloat16", "float32")
PAPER_RESNET20_ACCURACY = 0.9125  # He et al. 2015, Table 6: ResNet-20, 8.75% test error
PAPER_ITERATIONS = 64000
PAPER_BOUNDARIES = (32000, 48000)
FASHION_TARGET = 0.95
DATA_DIR = os.path.join(REPO, ".gpu_data")  # what bench/gpu_suite.sh carries (docs/gpu.md)
DEFAULT_CIFAR = (os.path.join(DATA_DIR, "cifar10-jpeg.tar.gz"),
                 os.path.join(REPO, "..", "shared", "data", "cifar10", "cifar10-jpeg.tar.gz"))
DEFAULT_FASHION = (os.path.join(DATA_DIR, "fashion-mnist"), os.path.join(REPO, "..", "shared", "data", "fashion-mnist"))

# Full run on the H200 / --smoke on a CPU.
SETTINGS = {
    "full": {"batch": 256, "matmul_n": 8192, "min_steps": 10, "min_seconds": 2.0, "throughput_budget": 170.0,
             "cifar_budget": 150.0, "cifar_limit": None, "cifar_batch": 128, "cifar_calibration_steps": (30, 100),
             "fashion_budget": 100.0, "fashion_limits": (None, None), "fashion_epochs": None, "side": None},
    "smoke": {"batch": 2, "matmul_n": 256, "min_steps": 2, "min_seconds": 0.0, "throughput_budget": 60.0,
              "cifar_budget": 20.0, "cifar_limit": 8, "cifar_batch": 16, "cifar_calibration_steps": (2, 3),
              "fashion_budget": 20.0, "fashion_limits": (256, 128), "fashion_epochs": 1, "side": 32},
}
SMOKE_MODELS = (("vgg16", "VGG16", 32),)


class Deadline:
    """Seconds left of a part's budget."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def _is_oom(exc: BaseException) -> bool:
    text = str(exc)
    return "RESOURCE_EXHAUSTED" in text or "Out of memory" in text or "out of memory" in text


# --------------------------------------------------------------------------------------------
# The device and its bf16 matmul rate
# --------------------------------------------------------------------------------------------


def device_info() -> dict:
    import jax
    import keras

    dev = jax.devices()[0]
    info = {"platform": dev.platform, "device": getattr(dev, "device_kind", str(dev)), "device_count": jax.device_count(),
            "jax": jax.__version__, "keras": keras.__version__, "backend": keras.backend.backend(),
            "python": platform.python_version(), "tensorflow_loaded": "tensorflow" in sys.modules,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        info["load_average"] = os.getloadavg()[0]
    except OSError:
        pass
    return info


def matmul_rate(n: int, repeats: int = 10) -> dict:
    """Measured bf16 matmul throughput (FLOP/s) of one ``jnp.dot`` of two n x n matrices."""
    import jax
    import jax.numpy as jnp

    key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(key_a, (n, n), jnp.bfloat16)
    b = jax.random.normal(key_b, (n, n), jnp.bfloat16)
    dot = jax.jit(lambda p, q: jnp.dot(p, q, preferred_element_type=jnp.float32))
    dot(a, b).block_until_ready()  # compile
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            out = dot(a, b)
        out.block_until_ready()
        best = min(best, (time.perf_counter() - start) / repeats)
    flops = 2.0 * n**3
    return {"n": n, "dtype": "bfloat16", "seconds_per_dot": best, "flops_per_second": flops / best}


# --------------------------------------------------------------------------------------------
# 1. Train-step throughput
# --------------------------------------------------------------------------------------------


def _build(source: str, name: str, side: int, top: bool):
    """A 1000-way classifier: kerasnets ``name`` or keras.applications ``name`` at ``side`` px."""
    import keras

    import kerasnets

    shape = (side, side, 3)
    if source == "kerasnets":
        if top:
            return kerasnets.get_model(name, input_shape=shape, classes=1000)
        base = kerasnets.get_model(name, include_top=False, pooling="avg", input_shape=shape)
    else:
        builder = getattr(keras.applications, name)
        if top:
            return builder(weights=None, input_shape=shape, classes=1000)
        base = builder(weights=None, include_top=False, pooling="avg", input_shape=shape)
    # Small sides (--smoke): the same pooled Dense head on both sides.
    out = keras.layers.Dense(1000, activation="softmax", name="predictions")(base.output)
    return keras.Model(base.input, out, name=f"{name}_{side}px")


def measure_train_step(source: str, name: str, side: int, dtype: str, batch: int, *, top: bool,
                       min_steps: int, min_seconds: float) -> dict:
    """Images/s of ``model.train_on_batch`` on one device-resident batch (synchronised each step)."""
    import jax
    import keras
    import numpy as np

    import kerasnets

    row = {"source": source, "model": name, "side": side, "dtype": dtype, "batch": batch, "jit_compile": True}
    keras.mixed_precision.set_global_policy(dtype)
    try:
        keras.utils.set_random_seed(0)
        model = _build(source, name, side, top)
        row["params"] = int(model.count_params())
        row["macs_per_image"] = int(kerasnets.summary(model, print_output=False).macs)
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy",
                      jit_compile=True)
        rng = np.random.default_rng(0)
        x = jax.device_put(rng.uniform(0, 1, (batch, side, side, 3)).astype("float32"))
        y = jax.device_put(rng.integers(0, 1000, (batch,)).astype("int32"))
        start = time.perf_counter()
        loss = model.train_on_batch(x, y)
        row["first_step_seconds"] = time.perf_counter() - start  # XLA compile + one step
        model.train_on_batch(x, y)
        steps, start = 0, time.perf_counter()
        while steps < min_steps or time.perf_counter() - start < min_seconds:
            loss = model.train_on_batch(x, y)
            steps += 1
        seconds = time.perf_counter() - start
        row.update(steps=steps, seconds_per_step=seconds / steps, images_per_second=batch * steps / seconds,
                   final_loss=float(loss), finite=bool(np.isfinite(loss)))
    finally:
        keras.mixed_precision.set_global_policy("float32")
        model = None
        keras.backend.clear_session()
        gc.collect()
    return row


def throughput_part(settings: dict, models, rate: float, log) -> dict:
    deadline = Deadline(settings["throughput_budget"])
    jobs = [(dtype, source, kn if source == "kerasnets" else twin, side)
            for dtype in DTYPES for kn, twin, side in models
            for source in ("kerasnets", "keras.applications") if source == "kerasnets" or twin]
    rows = []
    for dtype, source, name, side in jobs:
        side = settings["side"] or side
        top = settings["side"] is None
        if deadline.left() < 25 and settings["side"] is None:
            rows.append({"source": source, "model": name, "side": side, "dtype": dtype, "skipped": "time budget spent"})
            continue
        batch = settings["batch"]
        while True:
            try:
                row = measure_train_step(source, name, side, dtype, batch, top=top, min_steps=settings["min_steps"],
                                         min_seconds=settings["min_seconds"])
                break
            except Exception as exc:  # one failing model must not lose the others' figures
                if _is_oom(exc) and batch > 8:
                    batch //= 2
                    continue
                row = {"source": source, "model": name, "side": side, "dtype": dtype, "batch": batch,
                       "error": _error_text(exc), "traceback": traceback.format_exc()[-3000:]}
                break
        if "images_per_second" in row:
            ceiling = rate / (row["macs_per_image"] * 2 * 3)
            row["ceiling_images_per_second"] = ceiling
            row["ceiling_share"] = row["images_per_second"] / ceiling
        rows.append(row)
        log(json.dumps({k: v for k, v in row.items() if k != "traceback"}))
    by_key = {(r["source"], r["model"], r["dtype"]): r for r in rows}
    for kn, twin, _ in models:
        for dtype in DTYPES:
            ours, theirs = by_key.get(("kerasnets", kn, dtype)), by_key.get(("keras.applications", twin, dtype))
            if ours and theirs and "images_per_second" in ours and "images_per_second" in theirs:
                ours["ratio_to_keras_applications"] = ours["images_per_second"] / theirs["images_per_second"]
                ours["keras_applications_model"] = twin
    return {"rows": rows, "seconds": deadline.elapsed(), "budget_seconds": deadline.seconds,
            "method": "model.train_on_batch on one device-resident batch, synchronised every step; SGD momentum 0.9; "
                      "sparse categorical cross-entropy over 1000 classes; first_step_seconds includes the XLA compile"}


# --------------------------------------------------------------------------------------------
# 2. ResNet-20 on CIFAR-10 with the paper's recipe
# --------------------------------------------------------------------------------------------


class _EpochClock:
    """Records each epoch's end time and logs; stops training once ``deadline`` has passed."""

    def __init__(self, deadline: Deadline | None = None, target: tuple[str, float] | None = None):
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                outer.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                t = time.perf_counter() - outer.start
                entry = {"epoch": epoch + 1, "seconds": t, **{k: float(v) for k, v in (logs or {}).items()}}
                outer.epochs.append(entry)
                if target is not None and outer.reached is None and entry.get(target[0], -1.0) >= target[1]:
                    outer.reached = entry
                    self.model.stop_training = True
                if deadline is not None and deadline.left() <= 0:
                    outer.stopped_by_budget = True
                    self.model.stop_training = True

        self.start = None
        self.epochs: list[dict] = []
        self.reached = None
        self.stopped_by_budget = False
        self.callback = Callback()


def _cifar_models(mean, variance, boundaries, seed: int = 0):
    """(trainer with the recipe's augmentation, classifier without it, recipe): shared weights."""
    import keras

    import kerasnets
    from kerasnets.training import recipe

    keras.utils.set_random_seed(seed)
    r = recipe("resnet_cifar", boundaries=tuple(int(b) for b in boundaries), seed=seed)
    net = kerasnets.resnet20(input_shape=(32, 32, 3), classes=10)
    # Per-channel standardisation first, so the 4-pixel zero padding pads the mean (as the paper,
    # which pads the mean-subtracted image).
    norm = keras.layers.Normalization(mean=mean, variance=variance, name="standardise")
    inputs = keras.Input((32, 32, 3), name="images")
    classifier = keras.Model(inputs, net(norm(inputs)), name="resnet20_cifar10")
    trainer = keras.Model(inputs, net(r.augmentation(norm(inputs))), name="resnet20_cifar10_train")
    trainer.compile(**r.compile_kwargs, jit_compile=True)
    classifier.compile(loss=r.loss, metrics=["accuracy"], jit_compile=True)
    return trainer, classifier, r


def cifar_part(settings: dict, archive: str | None, log) -> dict:
    import numpy as np

    from kerasnets.data import load_image_folder

    if archive is None:
        return {"skipped": "cifar10-jpeg.tar.gz not found (pass --cifar; docs/gpu.md)"}
    deadline = Deadline(settings["cifar_budget"])
    result: dict = {"archive": archive, "paper_accuracy": PAPER_RESNET20_ACCURACY, "paper_iterations": PAPER_ITERATIONS}
    start = time.perf_counter()
    limit = settings["cifar_limit"]
    x_train, y_train, names = load_image_folder(archive, split="train", limit=limit)
    x_test, y_test, _ = load_image_folder(archive, split="test", limit=limit)
    result.update(load_seconds=time.perf_counter() - start, train_images=len(x_train), test_images=len(x_test),
                  classes=names)
    x_train = x_train.astype("float32")
    x_test = x_test.astype("float32")
    mean = x_train.mean(axis=(0, 1, 2))
    variance = x_train.var(axis=(0, 1, 2))
    batch = settings["cifar_batch"]
    steps_per_epoch = math.ceil(len(x_train) / batch)

    # Calibration: the same model and recipe, compiled and timed on a few hundred steps.
    warm, timed_steps = settings["cifar_calibration_steps"]
    trainer, _, _ = _cifar_models(mean, variance, PAPER_BOUNDARIES)
    t0 = time.perf_counter()
    trainer.fit(x_train[: warm * batch], y_train[: warm * batch], batch_size=batch, epochs=1, verbose=0)
    compile_seconds = time.perf_counter() - t0
    reps = math.ceil(timed_steps * batch / len(x_train))
    xc = np.concatenate([x_train] * reps)[: timed_steps * batch]
    yc = np.concatenate([y_train] * reps)[: timed_steps * batch]
    t0 = time.perf_counter()
    trainer.fit(xc, yc, batch_size=batch, epochs=1, verbose=0)
    step_seconds = (time.perf_counter() - t0) / timed_steps
    del trainer, xc, yc
    result.update(calibration_compile_seconds=compile_seconds, seconds_per_step=step_seconds)

    # What fits: the paper's 64k iterations, or fewer whole epochs with the same schedule shape.
    reserve = compile_seconds + 10.0
    affordable = max(0.0, deadline.left() - reserve) / step_seconds
    epochs = max(1, min(math.ceil(PAPER_ITERATIONS / steps_per_epoch), int(affordable // steps_per_epoch)))
    iterations = epochs * steps_per_epoch
    compressed = iterations < PAPER_ITERATIONS
    boundaries = ((round(iterations * 0.5), round(iterations * 0.75)) if compressed else PAPER_BOUNDARIES)
    result.update(epochs=epochs, iterations=iterations, boundaries=list(boundaries), compressed=compressed,
                  batch_size=batch,
                  schedule=("the paper's: LR 0.1, /10 at 32k and 48k, 64k iterations" if not compressed else
                            f"compressed to {iterations} iterations ({iterations / PAPER_ITERATIONS:.1%} of the "
                            f"paper's 64k), LR 0.1 /10 at {boundaries[0]} and {boundaries[1]} (50% and 75%, "
                            "as 32k/48k of 64k)"))
    log(json.dumps({k: v for k, v in result.items() if k != "classes"}))
    trainer, classifier, r = _cifar_models(mean, variance, boundaries)
    clock = _EpochClock(deadline)
    t0 = time.perf_counter()
    trainer.fit(x_train, y_train, batch_size=batch, epochs=epochs, verbose=0, shuffle=True, callbacks=[clock.callback])
    train_seconds = time.perf_counter() - t0
    test_loss, test_accuracy = classifier.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    done = len(clock.epochs) * steps_per_epoch
    result.update(train_seconds=train_seconds, test_accuracy=float(test_accuracy), test_loss=float(test_loss),
                  iterations_done=done, stopped_by_budget=clock.stopped_by_budget,
                  accuracy_gap_to_paper=float(test_accuracy) - PAPER_RESNET20_ACCURACY,
                  recipe=r.name, augmentation=[layer.name for layer in r.augmentation.layers],
                  optimizer=type(r.optimizer).__name__, epoch_log=clock.epochs, seconds=deadline.elapsed())
    return result


# --------------------------------------------------------------------------------------------
# 3. Fashion-MNIST with the MNIST app's default recipe and ResNet-20: time to 95%
# --------------------------------------------------------------------------------------------


def fashion_part(settings: dict, data_dir: str | None, log) -> dict:
    if data_dir is None:
        return {"skipped": "Fashion-MNIST IDX files not found (pass --fashion-dir; docs/gpu.md)"}
    try:
        from apps.mnist.train import TrainConfig, train
    except ImportError as exc:  # today's app imports TensorFlow for its tf.data pipeline
        return {"skipped": f"apps.mnist.train cannot be imported here ({_error_text(exc)}); the app needs its "
                           "TensorFlow-free input pipeline for this part"}
    deadline = Deadline(settings["fashion_budget"])
    train_limit, test_limit = settings["fashion_limits"]
    clock = _EpochClock(deadline, target=("val_accuracy", FASHION_TARGET))
    with tempfile.TemporaryDirectory(prefix="gpu_suite_fashion_") as run_dir:
        config = TrainConfig(dataset="fashion_mnist", data_dir=data_dir, download=False, model="resnet20",
                             model_kwargs={}, run_dir=os.path.join(run_dir, "run"), tensorboard=False, verbose=0,
                             jit_compile="on", validate=True, checkpoint_every=10**9, train_limit=train_limit,
                             test_limit=test_limit, **({"epochs": settings["fashion_epochs"]}
                                                       if settings["fashion_epochs"] else {}))
        t0 = time.perf_counter()
        outcome = train(config, callbacks=[clock.callback])
        wall = time.perf_counter() - t0
    resolved = outcome.config
    result = {"target_accuracy": FASHION_TARGET, "model": "resnet20", "epochs_planned": resolved.epochs,
              "batch_size": resolved.batch_size, "learning_rate": resolved.learning_rate,
              "epochs_run": len(clock.epochs), "wall_seconds": wall, "train_seconds": outcome.train_seconds,
              "final_test_accuracy": outcome.test_accuracy, "stopped_by_budget": clock.stopped_by_budget,
              "epoch_log": clock.epochs, "precision": resolved.precision}
    if clock.reached is not None:
        result.update(reached=True, seconds_to_target=clock.reached["seconds"], epoch_reached=clock.reached["epoch"])
    else:
        best = max((e.get("val_accuracy", 0.0) for e in clock.epochs), default=None)
        result.update(reached=False, best_test_accuracy=best)
    log(json.dumps({k: v for k, v in result.items() if k != "epoch_log"}))
    return result


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def summary_table(report: dict) -> str:
    lines = [f"gpu_suite on {report['device'].get('device')} ({report['device'].get('platform')}), "
             f"keras {report['device'].get('keras')} / jax {report['device'].get('jax')}, "
             f"{report['total_seconds']:.0f} s" + ("  [SMOKE: tiny sizes, not a measurement]" if report["smoke"] else "")]
    rate = report.get("matmul", {}).get("flops_per_second")
    if rate:
        lines.append(f"bf16 matmul ({report['matmul']['n']}^2 jnp.dot): {rate / 1e12:.1f} TFLOP/s")
    rows = report.get("throughput", {}).get("rows", [])
    if rows:
        lines.append(f"{'model':<22}{'dtype':<16}{'batch':>6}{'img/s':>10}{'vs keras.app':>14}{'ceiling':>9}")
        for r in rows:
            label = ("k." if r["source"] == "keras.applications" else "") + r["model"]
            if "images_per_second" in r:
                ratio = f"{r['ratio_to_keras_applications']:.2f}x" if "ratio_to_keras_applications" in r else ""
                lines.append(f"{label:<22}{r['dtype']:<16}{r['batch']:>6}{r['images_per_second']:>10.0f}"
                             f"{ratio:>14}{r['ceiling_share']:>8.1%}")
            else:
                lines.append(f"{label:<22}{r['dtype']:<16}  {r.get('skipped') or r.get('error', '')[:60]}")
    c = report.get("cifar", {})
    if "test_accuracy" in c:
        lines.append(f"ResNet-20 CIFAR-10: {c['test_accuracy']:.2%} test (paper 91.25%), {c['iterations_done']} "
                     f"iterations{' (compressed schedule)' if c['compressed'] else ''}, {c['train_seconds']:.0f} s")
    elif c:
        lines.append(f"ResNet-20 CIFAR-10: {c.get('skipped') or c.get('error')}")
    f = report.get("fashion", {})
    if f.get("reached"):
        lines.append(f"Fashion-MNIST ResNet-20 (app recipe): 95% after {f['seconds_to_target']:.0f} s "
                     f"(epoch {f['epoch_reached']})")
    elif "reached" in f:
        best = f.get("best_test_accuracy")
        lines.append(f"Fashion-MNIST ResNet-20 (app recipe): 95% not reached in {f['epochs_run']} epochs "
                     f"({f['train_seconds']:.0f} s); best {best if best is None else f'{best:.2%}'}")
    elif f:
        lines.append(f"Fashion-MNIST: {f.get('skipped') or f.get('error')}")
    return "\n".join(lines)


def _write_json(path: str, payload: dict, overwrite: bool) -> None:
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gpu_suite.", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2, default=str)
    os.replace(tmp, path)


def _first_existing(paths) -> str | None:
    return next((os.path.abspath(p) for p in paths if os.path.exists(p)), None)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu_suite", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: the same code paths in about a minute on a CPU")
    parser.add_argument("--parts", default="throughput,cifar,fashion",
                        help="comma-separated parts to run: throughput, cifar, fashion")
    parser.add_argument("--json", default=None, help="where to write the JSON (default: $OUT/gpu_suite.json if $OUT is set)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    parser.add_argument("--cifar", default=None, help="cifar10-jpeg.tar.gz (default: .gpu_data/ or ../shared/data/cifar10/)")
    parser.add_argument("--fashion-dir", default=None,
                        help="folder of the Fashion-MNIST IDX .gz files (default: .gpu_data/fashion-mnist or ../shared/data/fashion-mnist)")
    for part in ("throughput", "cifar", "fashion"):
        parser.add_argument(f"--{part}-budget", type=_positive_float, default=None,
                            help=f"seconds for the {part} part (default: {SETTINGS['full'][part + '_budget']:.0f}, "
                                 f"--smoke {SETTINGS['smoke'][part + '_budget']:.0f})")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in ("throughput", "cifar", "fashion")]
    if bad or not parts:
        parser.error(f"argument --parts: expected a comma-separated subset of throughput, cifar, fashion, got {args.parts!r}")
    args.parts = parts
    for flag, value in (("--cifar", args.cifar), ("--fashion-dir", args.fashion_dir)):
        if value is not None and not os.path.exists(value):
            parser.error(f"argument {flag}: no such file or folder: {value!r}")
    if args.json is None and os.environ.get("OUT"):
        args.json = os.path.join(os.environ["OUT"], "gpu_suite.json")
    if args.json is not None and os.path.exists(args.json) and not args.overwrite:
        parser.error(f"argument --json: {args.json!r} exists; pass --overwrite to replace it")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import keras

    if keras.backend.backend() != "jax":
        print(f"gpu_suite: error: the suite measures Keras on JAX; set KERAS_BACKEND=jax "
              f"(Received: KERAS_BACKEND={keras.backend.backend()!r})", file=sys.stderr)
        return 2
    settings = dict(SETTINGS["smoke" if args.smoke else "full"])
    for part in ("throughput", "cifar", "fashion"):
        if getattr(args, f"{part}_budget") is not None:
            settings[f"{part}_budget"] = getattr(args, f"{part}_budget")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    start = time.perf_counter()
    report: dict = {"smoke": args.smoke, "device": device_info(), "settings": settings, "command": sys.argv}
    report["matmul"] = matmul_rate(settings["matmul_n"])
    log(json.dumps(report["matmul"]))
    runners = {
        "throughput": lambda: throughput_part(settings, SMOKE_MODELS if args.smoke else THROUGHPUT_MODELS,
                                              report["matmul"]["flops_per_second"], log),
        "cifar": lambda: cifar_part(settings, args.cifar or _first_existing(DEFAULT_CIFAR), log),
        "fashion": lambda: fashion_part(settings, args.fashion_dir or _first_existing(DEFAULT_FASHION), log),
    }
    for part in args.parts:
        try:
            report[part] = runners[part]()
        except Exception as exc:  # keep the other parts' figures
            report[part] = {"error": _error_text(exc), "traceback": traceback.format_exc()[-4000:]}
            log(report[part]["traceback"])
    report["total_seconds"] = time.perf_counter() - start
    report["device"]["tensorflow_loaded"] = "tensorflow" in sys.modules
    if args.json:
        _write_json(args.json, report, args.overwrite)
    print(summary_table(report))
    failed = [p for p in args.parts if "error" in report[p]]
    failed += [f"throughput:{r['model']}/{r['dtype']}" for r in report.get("throughput", {}).get("rows", []) if "error" in r]
    if failed:
        print(f"gpu_suite: failed: {', '.join(failed)} (details in the JSON)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("gpu_suite: interrupted", file=sys.stderr)
        sys.exit(130)
