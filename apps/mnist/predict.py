"""Prediction on image files (PNG, JPEG, BMP, GIF) or IDX files with a trained MNIST-app model.

Image files are converted to 28x28 grey: loaded as greyscale, resized
(bilinear), and inverted when the picture is dark-on-light (MNIST digits are
light-on-dark), judged from the mean of the border pixels; ``invert`` forces it.
An IDX file holds ``(N, 28, 28)`` images (or a single ``(28, 28)`` one).
"""

from __future__ import annotations

import os

import numpy as np

from kerasnets.checks import check_choice, check_positive_int
from kerasnets.data.idx import IDXError, read_idx

__all__ = ["load_images", "predict"]

_IDX_MAGIC_PREFIX = b"\x00\x00"


def _is_idx(path: str) -> bool:
    name = os.path.basename(path).lower()
    if "-ubyte" in name or ".idx" in name or "-idx" in name:
        return True
    with open(path, "rb") as f:
        head = f.read(2)
    return head == _IDX_MAGIC_PREFIX


def _load_picture(path: str, invert: str, shape=(28, 28, 1)) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    height, width, channels = shape
    try:
        with Image.open(path) as img:
            if channels == 3:  # colour models (image-folder runs): RGB, resized, never inverted
                rgb = np.asarray(img.convert("RGB").resize((width, height), Image.BILINEAR), dtype=np.float32)
                return rgb.round().clip(0, 255).astype(np.uint8)
            grey = np.asarray(img.convert("L").resize((width, height), Image.BILINEAR), dtype=np.float32)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(
            f"`inputs` must be image files (PNG, JPEG, BMP, GIF) or IDX files; cannot read {path!r}: {exc}. "
            f"Received: inputs={path!r}"
        ) from exc
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if invert == "yes" or (invert == "auto" and border.mean() > 127):
        grey = 255.0 - grey
    return grey.round().clip(0, 255).astype(np.uint8)[..., None]


def load_images(paths, *, invert: str = "auto", shape=(28, 28, 1)) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Read images from image files and IDX files.

    Args:
        paths: file paths.
        invert: ``"auto"``, ``"yes"`` or ``"no"`` (grey image files only).
        shape: ``(height, width, channels)`` the model takes (IDX files: 28x28 grey only).

    Returns:
        ``(images, sources)``: uint8 ``(N, height, width, channels)`` and one ``(path, index)`` per image.

    Raises:
        FileNotFoundError: a missing file. ValueError / IDXError: an unreadable file (named).
    """
    check_choice("invert", invert, ("auto", "yes", "no"))
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    images, sources = [], []
    for path in map(os.fspath, paths):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"`inputs` must name existing files. Received: inputs={path!r}")
        if _is_idx(path):
            array = read_idx(path)
            if array.ndim == 2:
                array = array[None]
            if array.ndim != 3 or array.shape[1:] != tuple(shape[:2]) or shape[2] != 1:
                raise IDXError(f"IDX file {path!r} holds shape {array.shape}, expected (N, {shape[0]}, {shape[1]}) "
                               f"grey images for this model. Received: inputs={path!r}")
            images.append(np.clip(array, 0, 255).astype(np.uint8)[..., None])
            sources += [(path, i) for i in range(len(array))]
        else:
            images.append(_load_picture(path, invert, shape)[None])
            sources.append((path, 0))
    if not images:
        raise ValueError("`inputs` must name at least one file. Received: inputs=[]")
    return np.concatenate(images), sources


def predict(model, paths, *, class_names=None, invert: str = "auto", top_k: int = 3, batch_size: int = 500) -> list:
    """Predict the class of every image in ``paths``.

    Args:
        model: a model from `apps.mnist.evaluate.load_run_model` (raw pixels in).
        paths: image or IDX files.
        class_names: names per class (default "0".."9").
        invert: see `load_images`.
        top_k: how many ranked classes to return per image.
        batch_size: inference batch size.

    Returns:
        One dict per image: ``source``, ``index``, ``label``, ``name``,
        ``probability`` and ``top`` (``[(name, probability), ...]``).
    """
    check_positive_int("top_k", top_k)
    images, sources = load_images(paths, invert=invert, shape=tuple(int(s) for s in model.input_shape[1:]))
    probabilities = model.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)
    class_names = list(class_names or [str(i) for i in range(probabilities.shape[1])])
    rows = []
    for (path, index), p in zip(sources, probabilities):
        order = np.argsort(-p)[:top_k]
        rows.append({
            "source": path, "index": index, "label": int(order[0]), "name": class_names[order[0]],
            "probability": float(p[order[0]]), "top": [(class_names[i], float(p[i])) for i in order],
        })
    return rows
