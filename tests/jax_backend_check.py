"""Run under KERAS_BACKEND=jax by tests/test_jax_backend.py: every family trains with XLA.

Usage: KERAS_BACKEND=jax python tests/jax_backend_check.py OUT.json [--steps N] [--max-fit-layers L]
       [--mnist-app RUN_DIR]

Builds the smallest model of every registered family at a small input size
(tests/family_models.py), takes N ``fit`` steps on one fixed batch with
``jit_compile=True`` (JAX compiles the whole train step with XLA) and records the
per-step losses. With --mnist-app, also trains the MNIST app for one short epoch
through its public ``apps.mnist.train.train``. Results go to OUT.json; the test
asserts on them.
"""

import json
import os
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def check_families(steps: int, max_fit_layers: int | None) -> list[dict]:
    """Per family: build, one eager forward pass, then ``steps`` jit-compiled fit steps.

    Models with more than ``max_fit_layers`` layers (None: no limit) are built and run
    forward only (their XLA compile of the train step takes minutes on a 2-core CPU).
    """
    import keras
    import numpy as np

    from family_models import CLASSES, small_classifier, smallest_per_family

    results = []
    for family, name, side in smallest_per_family():
        start = time.perf_counter()
        entry = {"family": family, "model": name, "side": side}
        try:
            keras.utils.set_random_seed(0)
            model = small_classifier(name, side)
            entry["layers"] = len(model.layers)
            rng = np.random.default_rng(0)
            x = rng.uniform(0, 1, (8, *model.input_shape[1:])).astype("float32")
            y = rng.integers(0, CLASSES, 8)
            probs = keras.ops.convert_to_numpy(model(x, training=False))
            entry["forward_shape"] = list(probs.shape)
            entry["forward_row_sums"] = probs.sum(axis=1).tolist()
            if max_fit_layers is None or entry["layers"] <= max_fit_layers:
                model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="sparse_categorical_crossentropy",
                              jit_compile=True)
                history = model.fit(x, y, batch_size=8, epochs=steps, verbose=0, shuffle=False)
                entry["loss"] = history.history["loss"]
                entry["jit_compile"] = bool(model.jit_compile)
        except Exception:  # reported, and the test fails naming the family
            entry["error"] = traceback.format_exc()
        entry["seconds"] = time.perf_counter() - start
        results.append(entry)
        print(json.dumps(entry)[:300], flush=True)
    return results


def check_mnist_app(run_dir: str) -> dict:
    try:
        from apps.mnist.train import TrainConfig, train
    except ImportError as err:
        return {"skipped": f"apps.mnist.train is not importable: {err}"}
    start = time.perf_counter()
    try:
        result = train(TrainConfig(epochs=1, train_limit=256, test_limit=128, batch_size=64, run_dir=run_dir,
                                   jit_compile="on", tensorboard=False, verbose=0, download=False))
        losses = [row.get("loss") for row in result.history]
        return {"test_accuracy": result.test_accuracy, "loss": losses, "jit_compile": bool(result.model.jit_compile),
                "seconds": time.perf_counter() - start}
    except Exception:
        return {"error": traceback.format_exc()}


def main():
    out = sys.argv[1]
    args = sys.argv[2:]
    steps = int(args[args.index("--steps") + 1]) if "--steps" in args else 5
    max_fit_layers = int(args[args.index("--max-fit-layers") + 1]) if "--max-fit-layers" in args else None
    import keras

    report = {"backend": keras.backend.backend()}
    import jax

    report["jax_version"] = jax.__version__
    report["jax_device"] = jax.default_backend()
    report["families"] = check_families(steps, max_fit_layers)
    if "--mnist-app" in args:
        report["mnist_app"] = check_mnist_app(args[args.index("--mnist-app") + 1])
    with open(out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
