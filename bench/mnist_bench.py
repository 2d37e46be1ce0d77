"""Benchmark: the MNIST app's recipe vs the classic "simple MNIST convnet", side by side.

Both are trained in this one process on the same data (default: ``mnist-5k``,
the fixed 4,000 / 1,000 split) and timed the same way: wall time of model
building, compiling, training and the final test evaluation (data loading
excluded; the data is loaded once, before both).

Baseline (the Keras example "Simple MNIST convnet", F. Chollet): pixels / 255,
Conv 32 3x3 ReLU, max-pool 2, Conv 64 3x3 ReLU, max-pool 2, flatten,
dropout 0.5, Dense 10 softmax; Adam (default rate), categorical cross-entropy,
batch 128, 15 epochs, trained on all training images (no validation split).

App: ``apps.mnist.train.train`` with its defaults for the dataset (LeNet-5
modern form, AdamW + warm-up/cosine, label smoothing 0.1, augmentation,
checkpoints every 50 steps), per-epoch validation and TensorBoard off (the
baseline has neither).

Usage:
    python bench/mnist_bench.py                        # mnist-5k: baseline vs app
    python bench/mnist_bench.py --seeds 0,1,2          # one baseline + app pair per seed, alternating
    python bench/mnist_bench.py --set epochs=20 --set learning_rate=5e-3   # another recipe (TrainConfig fields)
    python bench/mnist_bench.py --dataset fashion_mnist --model resnet20 --skip-baseline
    python bench/mnist_bench.py --out /tmp/mnist_bench.json

Prints one row per contender and the ratios (app / baseline) of accuracy and time, per seed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def baseline(data, *, epochs: int = 15, batch_size: int = 128, seed: int = 0) -> dict:
    import keras

    keras.utils.set_random_seed(seed)
    x_train = data.x_train[..., None].astype("float32") / 255.0
    x_test = data.x_test[..., None].astype("float32") / 255.0
    y_train = keras.utils.to_categorical(data.y_train, 10)
    y_test = keras.utils.to_categorical(data.y_test, 10)
    t0 = time.perf_counter()
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    return {"name": "baseline simple convnet", "accuracy": accuracy, "seconds": time.perf_counter() - t0,
            "params": model.count_params(), "epochs": epochs}


def app(dataset: str, *, model: str, epochs: int | None, seed: int = 0, data_dir=None, overrides=None) -> dict:
    from apps.mnist.train import TrainConfig, train

    run_dir = tempfile.mkdtemp(prefix="mnist_bench_")
    fields = {"epochs": epochs, **(overrides or {})}
    t0 = time.perf_counter()
    result = train(TrainConfig(dataset=dataset, data_dir=data_dir, model=model,
                               model_kwargs={"form": "modern"} if model == "lenet5" else {},
                               seed=seed, run_dir=run_dir, validate=False, tensorboard=False, verbose=0, **fields))
    seconds = time.perf_counter() - t0
    return {"name": f"app ({model})", "accuracy": result.test_accuracy, "seconds": seconds,
            "train_seconds": result.train_seconds, "params": result.model.count_params(),
            "epochs": result.config.epochs, "batch_size": result.config.batch_size,
            "learning_rate": result.config.learning_rate, "pipeline": result.config.pipeline, "run_dir": run_dir}


def _override(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` for a `TrainConfig` field, VALUE read as JSON when it parses (``epochs=8``, ``hflip=true``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected integers >= 0, got {text!r}")
    return seeds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist-5k", help="mnist-5k (default), mnist or fashion_mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files (see kerasnets.data)")
    parser.add_argument("--model", default="lenet5", help="the app's model (a registered kerasnets model)")
    parser.add_argument("--epochs", type=int, default=None, help="app epochs (default: the app's per-dataset default)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of both contenders (see --seeds)")
    parser.add_argument("--seeds", type=_seeds, default=None,
                        help="comma-separated seeds: a baseline and an app run per seed, alternating")
    parser.add_argument("--set", dest="overrides", type=_override, action="append", default=[], metavar="KEY=VALUE",
                        help="a TrainConfig field of the app's run (repeatable), e.g. batch_size=64")
    parser.add_argument("--skip-baseline", action="store_true", help="train only the app's model")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    from kerasnets.data import load_dataset

    data = load_dataset(args.dataset, data_dir=args.data_dir)
    overrides = dict(args.overrides)
    rows, pairs = [], []
    for seed in args.seeds or [args.seed]:
        pair = {"seed": seed, "load_average_before": os.getloadavg()[0]}
        if not args.skip_baseline:
            rows.append({**baseline(data, seed=seed), "seed": seed})
            pair["baseline"] = rows[-1]
            print(f"seed {seed}  {rows[-1]['name']:<28} acc {rows[-1]['accuracy']:.4f}  {rows[-1]['seconds']:7.1f} s",
                  flush=True)
        rows.append({**app(data.name, model=args.model, epochs=args.epochs, seed=seed, data_dir=args.data_dir,
                           overrides=overrides), "seed": seed})
        pair["app"] = rows[-1]
        pair["load_average_after"] = os.getloadavg()[0]
        print(f"seed {seed}  {rows[-1]['name']:<28} acc {rows[-1]['accuracy']:.4f}  {rows[-1]['seconds']:7.1f} s "
              f"(of which fit {rows[-1]['train_seconds']:.1f} s)", flush=True)
        if "baseline" in pair:
            pair["accuracy_ratio"] = pair["app"]["accuracy"] / pair["baseline"]["accuracy"]
            pair["time_ratio"] = pair["app"]["seconds"] / pair["baseline"]["seconds"]
            print(f"seed {seed}  app / baseline: accuracy x{pair['accuracy_ratio']:.4f}, wall time "
                  f"x{pair['time_ratio']:.3f} (load {pair['load_average_before']:.1f} -> "
                  f"{pair['load_average_after']:.1f})", flush=True)
        pairs.append(pair)
    report = {
        "dataset": data.name, "train_examples": len(data.x_train), "test_examples": len(data.x_test),
        "overrides": overrides, "rows": rows, "pairs": pairs,
        "machine": f"{os.cpu_count()}-core CPU ({platform.processor() or platform.machine()})",
        "load_average_at_end": os.getloadavg()[0], "date": datetime.date.today().isoformat(),
        "command": "python bench/mnist_bench.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if not args.skip_baseline:
        report["accuracy_ratio"] = pairs[0]["accuracy_ratio"]
        report["time_ratio"] = pairs[0]["time_ratio"]
        report["time_ratio_max"] = max(p["time_ratio"] for p in pairs)
        report["app_accuracy_min"] = min(p["app"]["accuracy"] for p in pairs)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
