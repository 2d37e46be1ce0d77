"""The data sets the MNIST app trains on: MNIST, Fashion-MNIST, mnist-5k, or any image folder.

``dataset="folder"`` (alias ``"image-folder"``) reads ``data_dir`` with
`kerasnets.data.image_folder.load_image_folder`: a folder with one
sub-folder per class (as ``keras.utils.image_dataset_from_directory`` reads),
or a folder / ``.tar.gz`` holding ``train/`` and ``test/`` such folders, e.g.
CIFAR-10 as JPEG files (``../shared/data/cifar10/cifar10-jpeg.tar.gz``). A
folder without split folders is split here: in every class, a seeded tenth of
the images (``numpy.random.default_rng(0)``) is held out as the test split.
Pure NumPy and Pillow, no TensorFlow.
"""

from __future__ import annotations

import os

import numpy as np

from kerasnets.data.mnist import Dataset

__all__ = ["AppData", "FOLDER", "FOLDER_TEST_FRACTION", "canonical_dataset", "load_app_data"]

FOLDER = "folder"
_FOLDER_ALIASES = ("folder", "image-folder", "image_folder", "imagefolder")
FOLDER_TEST_FRACTION = 0.1


# The app's data sets (MNIST, Fashion-MNIST, image folders) share the library's record.
AppData = Dataset


def canonical_dataset(name) -> str:
    """``"folder"`` for the image-folder aliases, else the `kerasnets.data.mnist` name.

    Raises:
        ValueError: an unknown name (the message lists the choices).
    """
    from kerasnets.data.mnist import DATASETS, canonical_name

    if isinstance(name, str) and name.strip().lower() in _FOLDER_ALIASES:
        return FOLDER
    try:
        return canonical_name(name)
    except ValueError:
        allowed = ", ".join(repr(n) for n in (*DATASETS, FOLDER))
        raise ValueError(f"`dataset` must be one of {allowed}. Received: dataset={name!r}") from None


def _nhwc(x: np.ndarray) -> np.ndarray:
    return x[..., None] if x.ndim == 3 else x


def _held_out_split(x, y, fraction: float):
    rng = np.random.default_rng(0)
    test = np.zeros(len(y), bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        count = max(1, int(round(len(members) * fraction))) if len(members) > 1 else 0
        test[rng.permutation(members)[:count]] = True
    return x[~test], y[~test], x[test], y[test]


def _load_folder(data_dir, limit: int | None) -> AppData:
    from kerasnets.data.image_folder import ImageFolderError, load_image_folder

    if data_dir is None:
        raise ValueError("dataset 'folder' reads --data-dir (a folder with one sub-folder per class, or a .tar.gz "
                         "holding train/ and test/ such folders). Received: data_dir=None")
    path = os.fspath(data_dir)
    try:
        x_train, y_train, names = load_image_folder(path, split="train", limit=limit)
    except ImageFolderError as exc:
        if "`split` must name a split folder" not in str(exc):
            raise
        x, y, names = load_image_folder(path, limit=limit)
        x_train, y_train, x_test, y_test = _held_out_split(x, y, FOLDER_TEST_FRACTION)
    else:
        x_test, y_test, _ = load_image_folder(path, split="test", class_names=names, limit=limit)
    return AppData(FOLDER, x_train, y_train, x_test, y_test, tuple(names), path)


def load_app_data(dataset: str, *, data_dir=None, download: bool = True, folder_limit: int | None = None) -> AppData:
    """Load a data set of the app as NHWC uint8 arrays.

    Args:
        dataset: ``"mnist"``, ``"fashion_mnist"``, ``"mnist-5k"`` or ``"folder"``.
        data_dir: where the files are (the image folder / archive for ``"folder"``).
        download: allow the Keras downloader (MNIST / Fashion-MNIST).
        folder_limit: read at most this many images per class and split (``"folder"`` only).

    Raises:
        ValueError: unknown data set; ``"folder"`` without ``data_dir``.
        kerasnets.data.DatasetNotFoundError, IDXError, ImageFolderError: missing or corrupt files.
    """
    name = canonical_dataset(dataset)
    if name == FOLDER:
        return _load_folder(data_dir, folder_limit)
    from kerasnets.data import load_dataset

    data = load_dataset(name, data_dir=data_dir, download=download)
    return AppData(data.name, _nhwc(data.x_train), data.y_train, _nhwc(data.x_test), data.y_test,
                   tuple(data.class_names), data.source)
