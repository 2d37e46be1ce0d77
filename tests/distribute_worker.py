"""One worker of the two-process MultiWorkerMirroredStrategy test (run by tests/test_distribute.py).

Usage: TF_CONFIG=... python tests/distribute_worker.py OUT_DIR [--app | --check-agree]

Without --app: trains a few synchronous steps of kerasnets' LeNet-5 on synthetic data with
kerasnets.distribute.fit, then the chief saves OUT_DIR/chief.weights.h5 (other workers save to a
scratch path, as they must take part in the save).

With --app: runs the MNIST app's own training, ``apps.mnist.train.train`` with
``strategy="multiworker"`` (mnist-5k, 128 images, 2 epochs of 4 global steps of 32), exactly what
``python -m apps.mnist train --strategy multiworker`` runs; the chief's run folder is
OUT_DIR/run (model.keras, history.csv, metrics.json), the other worker's a scratch folder.

Either way each worker writes its final weights to OUT_DIR/worker<i>.npz and a summary to
OUT_DIR/worker<i>.json.
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
    if "--check-agree" in sys.argv[2:]:  # no training: the resume-step agreement check only
        from kerasnets.distribute import check_workers_agree

        result = {"same": check_workers_agree("step", 7, strategy)}
        try:
            check_workers_agree("resumed_from_step", 10 * task["index"], strategy)
        except ValueError as exc:
            result["error"] = str(exc)
        with open(os.path.join(out_dir, f"agree{task['index']}.json"), "w") as f:
            json.dump(result, f)
        return
    keras.utils.set_random_seed(task["index"])  # different seeds: the strategy must sync the start
    if use_app:
        from apps.mnist.train import TrainConfig, train

        config = TrainConfig(dataset="mnist-5k", train_limit=128, test_limit=200, epochs=2, batch_size=32,
                             checkpoint_every=2, strategy="multiworker", run_dir=os.path.join(out_dir, "run"),
                             tensorboard=False, validate=False, verbose=0)
        result = train(config, strategy=strategy)
        model, path = result.model, result.run_dir
        loss = [row["loss"] for row in result.history]
        extra = {"test_accuracy": result.test_accuracy,
                 "metrics": json.load(open(os.path.join(result.run_dir, "metrics.json")))}
    else:
        with strategy.scope():
            model = kerasnets.lenet5(input_shape=(28, 28, 1), classes=10)
            model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                          loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)  # every worker builds the same data set; sharding splits it
        x = rng.uniform(0, 1, (128, 28, 28, 1)).astype("float32")
        y = rng.integers(0, 10, 128)
        data = shard_by_data(tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat())
        history = fit(model, data, strategy=strategy, epochs=2, steps_per_epoch=3, verbose=0)
        loss = [float(v) for v in history.history["loss"]]
        path = worker_filepath(os.path.join(out_dir, "chief.weights.h5"), strategy)
        model.save_weights(path)
        extra = {}
    np.savez(os.path.join(out_dir, f"worker{task['index']}.npz"), *model.get_weights())
    with open(os.path.join(out_dir, f"worker{task['index']}.json"), "w") as f:
        json.dump({"chief": is_chief(strategy), "saved_to": path, "replicas": strategy.num_replicas_in_sync,
                   "loss": loss, **extra}, f)


if __name__ == "__main__":
    main()
