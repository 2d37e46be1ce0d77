"""One worker of the two-process MultiWorkerMirroredStrategy test (run by tests/test_distribute.py).

Usage: TF_CONFIG=... python tests/distribute_worker.py OUT_DIR [--app]

Trains a few synchronous steps of a small kerasnets model on synthetic data (or the
MNIST app's classifier with --app), then writes this worker's final weights to
OUT_DIR/worker<i>.npz; the chief also saves OUT_DIR/chief.weights.h5 (other workers save
to a scratch path, as they must take part in the save).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def main():
    out_dir = sys.argv[1]
    use_app = "--app" in sys.argv[2:]
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    import keras
    import tensorflow as tf

    import kerasnets
    from kerasnets.distribute import fit, get_strategy, is_chief, shard_by_data, worker_filepath

    strategy = get_strategy("multiworker", communication="ring")
    keras.utils.set_random_seed(task["index"])  # different seeds: the strategy must sync the start
    with strategy.scope():
        if use_app:
            from apps.mnist.model import build_classifier

            model = build_classifier("lenet5")
        else:
            model = kerasnets.lenet5(input_shape=(28, 28, 1), classes=10)
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)  # every worker builds the same data set; sharding splits it
    x = rng.uniform(0, 255 if use_app else 1, (128, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 128)
    global_batch = 16
    data = shard_by_data(tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch).repeat())
    history = fit(model, data, strategy=strategy, epochs=2, steps_per_epoch=3, verbose=0)
    weights = model.get_weights()
    np.savez(os.path.join(out_dir, f"worker{task['index']}.npz"), *weights)
    path = worker_filepath(os.path.join(out_dir, "chief.weights.h5"), strategy)
    model.save_weights(path)
    with open(os.path.join(out_dir, f"worker{task['index']}.json"), "w") as f:
        json.dump(
            {
                "chief": is_chief(strategy),
                "saved_to": path,
                "replicas": strategy.num_replicas_in_sync,
                "loss": [float(v) for v in history.history["loss"]],
            },
            f,
        )


if __name__ == "__main__":
    main()
