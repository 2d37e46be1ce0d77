"""Run under KERAS_BACKEND=jax by tests/test_no_tensorflow.py and tests/test_jax_backend.py.

Usage: KERAS_BACKEND=jax python tests/jax_backend_check.py OUT.json [--steps N] [--max-fit-layers L]
       [--block-tensorflow] [--no-families] [--library IMAGE_DIR] [--mnist-app RUN_DIR] [--augmentations]

Builds the smallest model of every registered family at a small input size
(tests/family_models.py), counts it with ``kerasnets.summary``, takes N ``fit`` steps on one
fixed batch with ``jit_compile=True`` (JAX compiles the whole train step with XLA) and records
the per-step losses. With --block-tensorflow, ``import tensorflow`` raises ImportError in this
process (a meta-path finder installed before anything is imported), as on the GPU machine.
With --library, also checks a training recipe, kerasnets.data, kerasnets.distribute and
kerasnets._tf (tests/test_no_tensorflow.py). With --mnist-app, also trains the MNIST app for one short epoch through its public
``apps.mnist.train.train``. With --augmentations, the papers' augmentation stacks
(``kerasnets.training``) each train one jit-compiled step in front of a flatten + dense model
and predict with it. Results go to OUT.json; the tests assert on them.
"""

import importlib.abc
import json
import os
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


class BlockTensorFlow(importlib.abc.MetaPathFinder):
    """Makes ``import tensorflow`` (and ``tensorflow.*``, ``tensorflow_*``) raise ImportError."""

    @staticmethod
    def blocked(name: str) -> bool:
        return name == "tensorflow" or name.startswith(("tensorflow.", "tensorflow_"))

    def find_spec(self, name, path=None, target=None):
        if self.blocked(name):
            raise ImportError(f"No module named {name!r} (tensorflow is blocked in this process)")
        return None

    @classmethod
    def install(cls) -> None:
        sys.meta_path.insert(0, cls())
        for name in [m for m in sys.modules if cls.blocked(m)]:
            del sys.modules[name]

    @classmethod
    def loaded(cls) -> list[str]:
        return sorted(m for m in sys.modules if cls.blocked(m))


def check_families(steps: int, max_fit_layers: int | None) -> list[dict]:
    """Per family: build, one eager forward pass, then ``steps`` jit-compiled fit steps.

    Models with more than ``max_fit_layers`` layers (None: no limit) are built and run
    forward only (their XLA compile of the train step takes minutes on a 2-core CPU).
    """
    import keras
    import numpy as np

    import kerasnets
    from family_models import CLASSES, small_classifier, smallest_per_family

    results = []
    for family, name, side in smallest_per_family():
        start = time.perf_counter()
        entry = {"family": family, "model": name, "side": side}
        try:
            keras.utils.set_random_seed(0)
            model = small_classifier(name, side)
            entry["layers"] = len(model.layers)
            counted = kerasnets.summary(model, print_output=False)
            entry.update(params=int(counted.params), keras_params=int(model.count_params()), macs=int(counted.macs))
            rng = np.random.default_rng(0)
            x = rng.uniform(0, 1, (8, *model.input_shape[1:])).astype("float32")
            y = rng.integers(0, CLASSES, 8)
            will_fit = max_fit_layers is None or entry["layers"] <= max_fit_layers
            if will_fit:
                probs = keras.ops.convert_to_numpy(model(x, training=False))
            else:  # a deep model: one compiled forward beats op-by-op JAX (DenseNet-BC-100: 9 vs 28 CPU-s)
                probs = model.predict(x, batch_size=8, verbose=0)
            entry["forward_shape"] = list(probs.shape)
            entry["forward_row_sums"] = probs.sum(axis=1).tolist()
            if will_fit:
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


def check_library(image_dir: str) -> dict:
    """kerasnets.training / .data / .distribute / ._tf outside model building (see test_no_tensorflow)."""
    import keras
    import numpy as np

    import kerasnets.data
    import kerasnets.training
    from kerasnets import distribute
    from kerasnets._tf import TensorFlowRequiredError, require_tensorflow

    out = {}
    # A recipe's optimiser, schedule, loss and augmentation, trained with XLA.
    keras.utils.set_random_seed(0)
    r = kerasnets.training.recipe("resnet_cifar", boundaries=(2, 4), seed=0)
    net = kerasnets.resnet20(input_shape=(32, 32, 3), classes=10)
    inputs = keras.Input((32, 32, 3))
    trainer = keras.Model(inputs, net(r.augmentation(inputs)))
    trainer.compile(**r.compile_kwargs, jit_compile=True)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    history = trainer.fit(x, rng.integers(0, 10, 8), batch_size=8, epochs=3, verbose=0)
    out["recipe"] = {"optimizer": type(trainer.optimizer).__name__, "loss": history.history["loss"],
                     "iterations": int(keras.ops.convert_to_numpy(trainer.optimizer.iterations))}
    augmented = keras.ops.convert_to_numpy(r.augmentation(x[:4], training=True))
    out["augment"] = {"shape": list(augmented.shape), "changed": bool(np.any(augmented != x[:4]))}
    images, labels, names = kerasnets.data.load_image_folder(image_dir)
    out["image_folder"] = {"shape": list(images.shape), "labels": labels.tolist(), "names": names}
    strategy = distribute.get_strategy("default")
    with strategy.scope():
        pass
    out["default_strategy"] = [type(strategy).__name__, strategy.num_replicas_in_sync,
                               distribute.is_chief(strategy), distribute.shard_by_data("same") == "same"]
    try:
        distribute.get_strategy("mirrored")
    except ValueError as err:
        out["mirrored"] = str(err)
    try:
        require_tensorflow("SavedModel export")
    except TensorFlowRequiredError as err:
        out["require_tensorflow"] = str(err)
    return out


def check_augmentations() -> dict:
    """One jit-compiled ``fit`` step and a ``predict`` through each paper's augmentation in front of a model.

    The model flattens the augmented image, so an augmentation whose output size at inference
    differs from training (Keras's ``RandomCrop`` passes the whole image through) fails here.
    """
    import keras
    import numpy as np

    from kerasnets import training

    stacks = {
        "alexnet": (32, lambda: training.alexnet_augmentation(crop_size=24, seed=0)),
        "vgg": (32, lambda: training.vgg_augmentation(scale=(32, 40), crop_size=24, seed=0)),
        "cifar": (32, lambda: training.cifar_augmentation(seed=0)),
    }
    out = {}
    for name, (side, make) in stacks.items():
        try:
            keras.utils.set_random_seed(0)
            inputs = keras.Input((side, side, 3))
            outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(make()(inputs)))
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=True)
            x = np.random.default_rng(0).uniform(0, 1, (4, side, side, 3)).astype("float32")
            history = model.fit(x, np.arange(4), batch_size=4, epochs=1, verbose=0)
            out[name] = {"loss": history.history["loss"], "predict_shape": list(model.predict(x, verbose=0).shape)}
        except Exception:  # reported, and the test fails naming the stack
            out[name] = {"error": traceback.format_exc()}
    return out


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
    report = {"tensorflow_blocked": "--block-tensorflow" in args}
    if report["tensorflow_blocked"]:
        BlockTensorFlow.install()
        try:
            import tensorflow  # noqa: F401
        except ImportError as err:
            report["tensorflow_import"] = str(err)
    import keras

    report["backend"] = keras.backend.backend()
    import jax

    report["jax_version"] = jax.__version__
    report["jax_device"] = jax.default_backend()
    if "--no-families" not in args:
        report["families"] = check_families(steps, max_fit_layers)
    if "--library" in args:
        try:
            report["library"] = check_library(args[args.index("--library") + 1])
        except Exception:
            report["library"] = {"error": traceback.format_exc()}
    if "--mnist-app" in args:
        report["mnist_app"] = check_mnist_app(args[args.index("--mnist-app") + 1])
    if "--augmentations" in args:
        report["augmentations"] = check_augmentations()
    report["tensorflow_modules_loaded"] = BlockTensorFlow.loaded()
    with open(out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
