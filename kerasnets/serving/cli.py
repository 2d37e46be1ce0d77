"""``kerasnets export``: the argument glue between the command line and `export_saved_model`.

Importing this module is cheap (standard library and `kerasnets.cliargs`
only), so building the ``kerasnets`` parser and ``--help`` stay instant; Keras,
TensorFlow and the model registry are imported when the command runs.

Every failure a user can cause is raised as a ``ValueError`` subclass naming
the offending value (a file-system failure as
`ExportError`, which is also an ``OSError``;
an existing ``--version`` as `VersionExistsError`),
so the CLI's ``main`` prints one line and exits with status 2.
"""

from __future__ import annotations

import os

import kerasnets  # lazy: the registry (and keras) load when the command runs
from kerasnets.cliargs import non_negative_int, positive_int

__all__ = ["PREPROCESSING_CHOICES", "ModelFileError", "add_export_arguments", "load_model_file", "run_export_command"]

# "auto": the registered model's own mode (its spec's `preprocessing`), none for a .keras file.
PREPROCESSING_CHOICES = ("auto", "none", "scale", "tf", "torch", "caffe")


class ModelFileError(ValueError):
    """A ``.keras`` file that cannot be loaded (missing, not a Keras archive, truncated); names the file."""


def add_export_arguments(parser) -> None:
    """Add the arguments of ``kerasnets export`` to an ``argparse`` parser."""
    parser.add_argument("model", help="a registered model name (see `kerasnets list`) or a saved .keras file")
    parser.add_argument("--out", required=True, metavar="BASE_DIR", help="the model's TF Serving base directory")
    parser.add_argument("--version", type=non_negative_int, default=None, metavar="N",
                        help="version number (default: the next free one; an existing version is an error)")
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="a .weights.h5 file to load into the built model")
    parser.add_argument("--input-shape", nargs=3, type=positive_int, metavar=("H", "W", "C"), default=None,
                        help="build the model for this input shape (default: the model's own)")
    parser.add_argument("--classes", type=positive_int, default=None, metavar="N",
                        help="classifier size (default: the model's)")
    parser.add_argument("--preprocessing", default="auto", choices=PREPROCESSING_CHOICES,
                        help="in-graph preprocessing of the [0, 255] pixels; auto: the registered model's own "
                             "mode, none for a .keras file")
    parser.add_argument("--top-k", type=positive_int, default=5, metavar="K", help="classes/scores per image")
    parser.add_argument("--image-dtype", default="float32", choices=["float32", "uint8"],
                        help="dtype of the serving_default `images` input")
    parser.add_argument("--name", default=None, help="model name in the warm-up requests (default: the model's)")
    parser.add_argument("--no-warmup", action="store_true", help="do not write assets.extra warm-up requests")


def load_model_file(path: str):
    """Load a ``.keras`` file saved by kerasnets or its apps, for export (no compile state).

    kerasnets' serialisable classes (custom layers, augmentation layers, the label
    smoothing loss, optimizers) are registered with Keras first, so a model saved by
    ``apps.mnist`` (compiled with ``LabelSmoothingCrossentropy``) loads in a fresh
    process. Loaded with ``compile=False``: a serving graph needs no loss or optimizer.

    Raises:
        ModelFileError: the file is missing, a folder, or not a loadable Keras archive.
    """
    import zipfile

    if not os.path.exists(path):
        raise ModelFileError(f"MODEL must be a registered name or an existing .keras file. Received: model={path!r}")
    if not os.path.isfile(path):
        raise ModelFileError(f"MODEL must be a .keras file, not a folder. Received: model={path!r}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            "MODEL is not a Keras archive (a .keras file is a zip written by model.save); "
            f"it may be truncated or another format. Received: model={path!r}"
        )
    import keras

    # Registers kerasnets' serialisable classes with Keras.
    import kerasnets.layers  # noqa: F401
    import kerasnets.training  # noqa: F401

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001 - a file read at the edge: every failure is "this file is bad"
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"Cannot load the model file {path!r}: {reason}. Received: model={path!r}") from None


def _is_model_file(name: str) -> bool:
    # Registered names never hold a path separator; a folder named like a model (e.g. the --out
    # folder "lenet5") must not turn the name into a path.
    return name.endswith((".keras", ".h5")) or "/" in name or os.sep in name


def run_export_command(args) -> str:
    """Build (or load) the model named by ``args.model`` and export it; returns the version directory.

    Raises:
        ValueError / TypeError: a bad value, naming it (ModelFileError for an unloadable file).
        ExportError: the base folder cannot be written (also an OSError), naming the path.
        VersionExistsError: ``--version`` exists (also a FileExistsError).
    """
    from kerasnets.serving.saved_model import export_saved_model

    if not str(args.out).strip():
        raise ValueError(f"--out must name a folder. Received: --out={args.out!r}")
    preprocessing = args.preprocessing
    if _is_model_file(args.model):
        extra = [flag for flag, value in (("--weights", args.weights), ("--input-shape", args.input_shape),
                                          ("--classes", args.classes)) if value is not None]
        if extra:
            raise ValueError(
                f"{', '.join(extra)} build a registered model; a .keras file already holds its architecture "
                f"and weights. Received: model={args.model!r}"
            )
        if not args.model.endswith(".keras"):
            raise ModelFileError(
                f"MODEL must be a registered name or a .keras file (saved with model.save). Received: model={args.model!r}"
            )
        model = load_model_file(args.model)
        mode = None if preprocessing in ("auto", "none") else preprocessing
    else:
        spec = kerasnets.get_spec(args.model)
        kwargs = {}
        if args.weights is not None:
            kwargs["weights"] = args.weights
        if args.input_shape is not None:
            kwargs["input_shape"] = tuple(args.input_shape)
        if args.classes is not None:
            kwargs["classes"] = args.classes
        # `preprocessing` is the registry's record of the mode the model was trained with (where known).
        auto = getattr(spec, "preprocessing", None)
        mode = auto if preprocessing == "auto" else (None if preprocessing == "none" else preprocessing)
        model = kerasnets.get_model(args.model, **kwargs)
    return export_saved_model(
        model,
        args.out,
        args.version,
        preprocessing=mode,
        top_k=args.top_k,
        image_dtype=args.image_dtype,
        warmup=not args.no_warmup,
        model_name=args.name,
    )
