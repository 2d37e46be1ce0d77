"""``export_saved_model``: a Keras classifier as one TF Serving version folder."""

from __future__ import annotations

import json
import os
from typing import Any

from kerasnets.serving.signatures import (
    OUTPUTS,
    RESIZE_METHODS,
    SIGNATURE_BYTES,
    SIGNATURE_IMAGES,
    build_archive,
    check_model,
    preprocess_fn,
)
from kerasnets.serving.versions import write_version
from kerasnets.serving.warmup import warmup_records, write_warmup

__all__ = ["METADATA_FILE", "export_saved_model"]

METADATA_FILE = os.path.join("assets.extra", "kerasnets_export.json")


def export_saved_model(
    model,
    base_dir: str | os.PathLike,
    version: int | None = None,
    *,
    preprocessing: Any = None,
    top_k: int = 5,
    image_dtype: str = "float32",
    input_size: tuple[int, int] | None = None,
    resize_method: str = "bilinear",
    warmup: bool = True,
    model_name: str | None = None,
) -> str:
    """Export a Keras classifier as a versioned SavedModel for TensorFlow Serving.

    The SavedModel is written to ``base_dir/<version>`` atomically
    ([`kerasnets.serving.versions.write_version`][kerasnets.serving.versions.write_version]): it is built in a hidden
    temporary folder inside ``base_dir`` (``.tmp-...``, which TF Serving ignores)
    and renamed into place; concurrent exports to one base get distinct
    versions; the temporary folders of killed exports are removed by the next
    export. The graph needs only TensorFlow to run (``tf.saved_model.load`` or
    ``tensorflow_model_server``; Keras is not imported). Serving in this layout
    follows the TF Serving guide (https://www.tensorflow.org/tfx/serving/serving_basic).

    Args:
        model: a ``keras.Model`` with one image input ``(batch, h, w, c)`` and one
            ``(batch, classes)`` output (softmax probabilities or logits; logits
            get a softmax in the graph). Built on the TensorFlow backend.
        base_dir: the model's base directory (created if missing).
        version: the version number; default: the next free number (1 for a new
            base directory). An existing version is never overwritten.
        preprocessing: what the graph applies to the ``[0, 255]`` float pixels
            after resizing: None (nothing), ``"scale"``, ``"tf"``, ``"torch"``,
            ``"caffe"`` (the modes of [`kerasnets.preprocessing.preprocess_input`][kerasnets.preprocessing.preprocess_input])
            or a callable of one tensor written with TensorFlow or ``keras.ops``
            (a Keras layer works).
        top_k: how many classes ``classes``/``scores`` return (capped at ``classes``).
        image_dtype: dtype of the ``images`` input: ``"float32"`` or ``"uint8"``.
        input_size: ``(height, width)`` to resize to, for models built with a
            variable input size (``input_shape=(None, None, c)``); defaults to the
            model's input size.
        resize_method: a ``tf.image.resize`` method: ``"bilinear"`` (default),
            ``"nearest"``, ``"bicubic"``, ``"area"``, ``"lanczos3"``.
        warmup: write ``assets.extra/tf_serving_warmup_requests`` (one
            ``PredictionLog`` per signature) so the server warms up at load.
        model_name: the model's name in the warm-up requests; default ``model.name``.

    Returns:
        The path of the written version directory.

    Raises:
        TypeError / ValueError: bad arguments (each names the value), a model that is
            not a single-input image classifier, or a non-TensorFlow backend.
        VersionExistsError: ``version`` already exists in ``base_dir`` (a FileExistsError).
        ExportError: the file system refused (read-only, a file where a folder is
            needed, disk full), naming the path; an OSError and a ValueError.

    Examples:
        >>> import kerasnets
        >>> from kerasnets.serving import export_saved_model
        >>> path = export_saved_model(kerasnets.lenet5(), "/tmp/lenet5", top_k=3)  # doctest: +SKIP
        >>> path  # doctest: +SKIP
        '/tmp/lenet5/1'
    """
    from kerasnets.checks import check_bool, check_choice, check_positive_int

    height, width, channels, classes = check_model(model)
    top_k = check_positive_int("top_k", top_k)
    check_choice("image_dtype", image_dtype, ("float32", "uint8"))
    check_choice("resize_method", resize_method, RESIZE_METHODS)
    check_bool("warmup", warmup)
    if input_size is not None:
        if not isinstance(input_size, (tuple, list)) or len(input_size) != 2:
            raise ValueError(f"`input_size` must be a (height, width) pair. Received: input_size={input_size!r}")
        size = tuple(check_positive_int("input_size", s) for s in input_size)
        if (height, width) != (None, None) and size != (height, width):
            raise ValueError(
                f"`input_size` must match the model's fixed input size {(height, width)} (or be None). "
                f"Received: input_size={tuple(input_size)!r}"
            )
        height, width = size
    if height is None or width is None:
        raise ValueError(
            "The model accepts any input size; pass `input_size=(height, width)` so serving can "
            "resize and batch images of different sizes. Received: input_size=None"
        )
    preprocess = preprocess_fn(preprocessing, channels)
    model_name = model_name or model.name
    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"`model_name` must be a non-empty string. Received: model_name={model_name!r}")

    def write(tmp: str) -> None:
        archive = build_archive(
            model,
            height=height,
            width=width,
            channels=channels,
            classes=classes,
            preprocess=preprocess,
            top_k=top_k,
            image_dtype=image_dtype,
            resize_method=resize_method,
        )
        archive.write_out(tmp, verbose=False)
        os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
        if warmup:
            records = warmup_records(model_name, height=height, width=width, channels=channels, image_dtype=image_dtype)
            write_warmup(tmp, records)
        metadata = {
            "model_name": model_name,
            "input_size": [height, width, channels],
            "classes": classes,
            "top_k": min(top_k, classes),
            "image_dtype": image_dtype,
            "preprocessing": preprocessing
            if not callable(preprocessing)
            else getattr(preprocessing, "__name__", type(preprocessing).__name__),
            "resize_method": resize_method,
            "signatures": {
                SIGNATURE_IMAGES: {"inputs": ["images"], "outputs": list(OUTPUTS)},
                SIGNATURE_BYTES: {"inputs": ["image_bytes"], "outputs": list(OUTPUTS)},
            },
        }
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(metadata, f, indent=2)

    return write_version(base_dir, write, version)
