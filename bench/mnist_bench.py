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
    python bench/mnist_bench.py --dataset fashion_mnist --model resnet20 --skip-baseline
    python bench/mnist_bench.py --out /tmp/mnist_bench.json

Prints one row per contender and the ratios (app / baseline) of accuracy and time.
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


def app(dataset: str, *, model: str, epochs: int | None, seed: int = 0, data_dir=None) -> dict:
    from apps.mnist.train import TrainConfig, train

    run_dir = tempfile.mkdtemp(prefix="mnist_bench_")
    t0 = time.perf_counter()
    result = train(TrainConfig(dataset=dataset, data_dir=data_dir, model=model,
                               model_kwargs={"form": "modern"} if model == "lenet5" else {},
                               epochs=epochs, seed=seed, run_dir=run_dir, validate=False, tensorboard=False,
                               verbose=0))
    seconds = time.perf_counter() - t0
    return {"name": f"app ({model})", "accuracy": result.test_accuracy, "seconds": seconds,
            "train_seconds": result.train_seconds, "params": result.model.count_params(),
            "epochs": result.config.epochs, "batch_size": result.config.batch_size,
            "pipeline": result.config.pipeline, "run_dir": run_dir}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist-5k", help="mnist-5k (default), mnist or fashion_mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files (see kerasnets.data)")
    parser.add_argument("--model", default="lenet5", help="the app's model (a registered kerasnets model)")
    parser.add_argument("--epochs", type=int, default=None, help="app epochs (default: the app's per-dataset default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-baseline", action="store_true", help="train only the app's model")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    from kerasnets.data import load_dataset

    data = load_dataset(args.dataset, data_dir=args.data_dir)
    rows = []
    if not args.skip_baseline:
        rows.append(baseline(data, seed=args.seed))
        print(f"{rows[-1]['name']:<28} acc {rows[-1]['accuracy']:.4f}  {rows[-1]['seconds']:7.1f} s", flush=True)
    rows.append(app(data.name, model=args.model, epochs=args.epochs, seed=args.seed, data_dir=args.data_dir))
    print(f"{rows[-1]['name']:<28} acc {rows[-1]['accuracy']:.4f}  {rows[-1]['seconds']:7.1f} s "
          f"(of which fit {rows[-1]['train_seconds']:.1f} s)", flush=True)
    report = {
        "dataset": data.name, "train_examples": len(data.x_train), "test_examples": len(data.x_test),
        "rows": rows, "machine": f"{os.cpu_count()}-core CPU ({platform.processor() or platform.machine()})",
        "load_average_at_end": os.getloadavg()[0], "date": datetime.date.today().isoformat(),
        "command": "python bench/mnist_bench.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if len(rows) == 2:
        report["accuracy_ratio"] = rows[1]["accuracy"] / rows[0]["accuracy"]
        report["time_ratio"] = rows[1]["seconds"] / rows[0]["seconds"]
        print(f"app / baseline: accuracy x{report['accuracy_ratio']:.4f}, wall time x{report['time_ratio']:.3f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
