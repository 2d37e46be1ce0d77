"""kerasnets.data.image_folder: class folders and tar archives of them, read with NumPy + Pillow."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from kerasnets.data.image_folder import ImageFolderError, load_image_folder

REPO = pathlib.Path(__file__).resolve().parents[2]
CIFAR = REPO.parent / "shared" / "data" / "cifar10" / "cifar10-jpeg.tar.gz"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _pixels(label: int, index: int, size=(6, 5)) -> np.ndarray:
    """A distinct, exactly recoverable RGB image (stored as PNG, which is lossless)."""
    h, w = size
    base = np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3)
    return ((base + 40 * label + 7 * index) % 256).astype(np.uint8)


def _make_classes(root: pathlib.Path, classes=("dog", "cat", "bird"), per_class=3, size=(6, 5)):
    """Write ``per_class`` PNGs per class folder; return {class: [arrays in file order]}."""
    written = {}
    for label, name in enumerate(sorted(classes)):
        folder = root / name
        folder.mkdir(parents=True)
        written[name] = []
        for i in range(per_class):
            arr = _pixels(label, i, size)
            Image.fromarray(arr).save(folder / f"img{i:02d}.png")
            written[name].append(arr)
    return written


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "flowers"
    return root, _make_classes(root)


def test_reads_class_folders_in_alphabetical_label_order(folder):
    root, written = folder
    x, y, names = load_image_folder(root)
    assert names == ["bird", "cat", "dog"]
    assert x.dtype == np.uint8 and x.shape == (9, 6, 5, 3)
    assert y.dtype == np.int64 and y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    expected = np.stack([arr for name in names for arr in written[name]])
    np.testing.assert_array_equal(x, expected)


def test_accepts_pathlike_and_str(folder):
    root, _ = folder
    a = load_image_folder(root)
    b = load_image_folder(str(root))
    np.testing.assert_array_equal(a[0], b[0])


def test_class_names_set_the_label_order(folder):
    root, written = folder
    x, y, names = load_image_folder(root, class_names=["dog", "bird", "cat"])
    assert names == ["dog", "bird", "cat"]
    np.testing.assert_array_equal(x[y == 0], np.stack(written["dog"]))
    np.testing.assert_array_equal(x[y == 2], np.stack(written["cat"]))


@pytest.mark.parametrize(
    "class_names, match",
    [
        (["dog", "cat"], r"missing folders: none, folders not named: \['bird'\]"),
        (["dog", "cat", "bird", "fish"], r"missing folders: \['fish'\]"),
        (["dog", "dog", "cat"], "distinct"),
        ("dog", "list of class folder names"),
        ([], "non-empty"),
    ],
)
def test_bad_class_names_are_rejected(folder, class_names, match):
    root, _ = folder
    with pytest.raises(ImageFolderError, match=match):
        load_image_folder(root, class_names=class_names)


def test_limit_reads_the_first_files_of_each_class(folder):
    root, written = folder
    x, y, names = load_image_folder(root, limit=2)
    assert x.shape[0] == 6 and np.bincount(y).tolist() == [2, 2, 2]
    np.testing.assert_array_equal(x[:2], np.stack(written["bird"][:2]))


def test_image_size_resizes_and_color_modes(folder):
    root, written = folder
    x, _, _ = load_image_folder(root, image_size=(4, 8))
    assert x.shape == (9, 4, 8, 3)
    expected = np.asarray(Image.fromarray(written["bird"][0]).resize((8, 4), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(x[0], expected)
    g, _, _ = load_image_folder(root, color_mode="grayscale")
    assert g.shape == (9, 6, 5, 1)
    np.testing.assert_array_equal(g[0, :, :, 0], np.asarray(Image.fromarray(written["bird"][0]).convert("L")))
    rgba, _, _ = load_image_folder(root, color_mode="rgba")
    assert rgba.shape == (9, 6, 5, 4) and (rgba[..., 3] == 255).all()


def test_nested_files_mixed_formats_and_non_images(tmp_path):
    root = tmp_path / "data"
    (root / "a" / "sub").mkdir(parents=True)
    (root / "b").mkdir()
    Image.fromarray(_pixels(0, 0)).save(root / "a" / "x.png")
    Image.fromarray(_pixels(0, 1)).save(root / "a" / "sub" / "y.PNG")
    Image.fromarray(_pixels(1, 0)).save(root / "b" / "z.jpg", quality=95)
    Image.fromarray(_pixels(1, 1)).convert("L").save(root / "b" / "w.bmp")
    (root / "b" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("files next to the class folders are ignored")
    x, y, names = load_image_folder(root)
    assert names == ["a", "b"] and y.tolist() == [0, 0, 1, 1]
    np.testing.assert_array_equal(x[0], _pixels(0, 1))  # a/sub/y.PNG sorts before a/x.png
    np.testing.assert_array_equal(x[1], _pixels(0, 0))
    assert np.abs(x[3].astype(int) - _pixels(1, 0).astype(int)).mean() < 12  # b/z.jpg, lossy
    assert (x[2][..., 0] == x[2][..., 1]).all()  # b/w.bmp, grey converted to RGB


def test_split_folders_and_archive_give_the_same_arrays(tmp_path):
    data = tmp_path / "ds"
    train = _make_classes(data / "train", per_class=3)
    test = _make_classes(data / "test", per_class=2)
    x_train, y_train, names = load_image_folder(data, split="train")
    x_test, y_test, _ = load_image_folder(data, split="test")
    assert x_train.shape == (9, 6, 5, 3) and x_test.shape == (6, 6, 5, 3)
    np.testing.assert_array_equal(x_test[y_test == 1], np.stack(test["cat"]))
    np.testing.assert_array_equal(x_train[y_train == 2], np.stack(train["dog"]))
    for suffix, mode in [(".tar.gz", "w:gz"), (".tar", "w"), (".tar.xz", "w:xz")]:
        archive = tmp_path / f"ds{suffix}"
        with tarfile.open(archive, mode) as tar:
            tar.add(data, arcname=".")  # members named ./train/..., as `tar -C ds -czf ... .` writes
        for split, (xs, ys) in {"train": (x_train, y_train), "test": (x_test, y_test)}.items():
            xa, ya, na = load_image_folder(archive, split=split)
            np.testing.assert_array_equal(xa, xs)
            np.testing.assert_array_equal(ya, ys)
            assert na == names
        xl, yl, _ = load_image_folder(archive, split="train", limit=1)
        np.testing.assert_array_equal(xl, x_train[[0, 3, 6]])


def test_split_is_required_for_a_split_layout(tmp_path):
    data = tmp_path / "ds"
    _make_classes(data / "train", per_class=1)
    _make_classes(data / "test", per_class=1)
    with pytest.raises(ImageFolderError, match=r"split folders \(test, train\).*split='train'"):
        load_image_folder(data)
    with pytest.raises(ImageFolderError, match=r"found test, train. Received: split='val'"):
        load_image_folder(data, split="val")


def test_missing_path_is_file_not_found(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=f"Received: path='{missing}'"):
        load_image_folder(missing)
    with pytest.raises(FileNotFoundError, match="Received: path=''"):
        load_image_folder("")


def test_no_class_folders_and_no_images(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "loose.png").write_bytes(b"")
    with pytest.raises(ImageFolderError, match="one sub-folder per class.*found none"):
        load_image_folder(empty)
    (empty / "cats").mkdir()
    with pytest.raises(ImageFolderError, match="expected image files.*found none"):
        load_image_folder(empty)


def test_not_a_folder_or_archive(tmp_path):
    text = tmp_path / "data.csv"
    text.write_text("a,b\n")
    with pytest.raises(ImageFolderError, match="folder of class folders or a tar archive"):
        load_image_folder(text)


def test_corrupt_archive_is_reported(tmp_path):
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"\x1f\x8b this is not gzip data")
    with pytest.raises(ImageFolderError, match="cannot read archive .*broken.tar.gz"):
        load_image_folder(bad)


def test_unreadable_image_is_named(folder):
    root, _ = folder
    (root / "cat" / "img01.png").write_bytes(b"garbage, not a PNG")
    with pytest.raises(ImageFolderError, match=r"cannot decode image .*cat.img01\.png"):
        load_image_folder(root)


def test_truncated_image_in_archive_is_named(tmp_path):
    root = tmp_path / "ds"
    _make_classes(root, per_class=1)
    good = (root / "dog" / "img00.png").read_bytes()
    (root / "dog" / "img00.png").write_bytes(good[: len(good) // 2])
    archive = tmp_path / "ds.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="")
    with pytest.raises(ImageFolderError, match=r"cannot decode image .*ds\.tgz:dog/img00\.png"):
        load_image_folder(archive)


def test_mixed_sizes_need_image_size(tmp_path):
    root = tmp_path / "ds"
    (root / "a").mkdir(parents=True)
    Image.fromarray(_pixels(0, 0, (6, 5))).save(root / "a" / "1.png")
    Image.fromarray(_pixels(0, 1, (7, 5))).save(root / "a" / "2.png")
    with pytest.raises(ImageFolderError, match=r"2\.png is 7x5 but .*1\.png is 6x5.*image_size"):
        load_image_folder(root)
    x, _, _ = load_image_folder(root, image_size=(6, 5))
    assert x.shape == (2, 6, 5, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"color_mode": "bgr"}, r"`color_mode` must be one of 'rgb', 'grayscale', 'rgba'. Received: color_mode='bgr'"),
        ({"image_size": 32}, r"Received: image_size=32"),
        ({"image_size": (32, 0)}, r"Received: image_size=\(32, 0\)"),
        ({"image_size": (True, 3)}, r"Received: image_size=\(True, 3\)"),
        ({"limit": 0}, r"`limit` must be an integer >= 1 or None. Received: limit=0"),
        ({"limit": 2.5}, r"Received: limit=2.5"),
        ({"split": "../x"}, r"Received: split='../x'"),
        ({"split": ""}, r"Received: split=''"),
    ],
)
def test_bad_arguments(folder, kwargs, match):
    root, _ = folder
    with pytest.raises(ImageFolderError, match=match):
        load_image_folder(root, **kwargs)


def test_imports_neither_keras_nor_tensorflow(folder):
    root, _ = folder
    code = (
        "import sys\n"
        "from kerasnets.data.image_folder import load_image_folder\n"
        f"x, y, n = load_image_folder({str(root)!r})\n"
        "assert x.shape == (9, 6, 5, 3), x.shape\n"
        "bad = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    # Import the module file on its own: the package __init__ may import keras.
    env = dict(os.environ, PYTHONPATH=str(REPO))
    loader = (
        "import importlib.util, sys, types\n"
        "for pkg in ('kerasnets', 'kerasnets.data'):\n"
        f"    m = types.ModuleType(pkg); m.__path__ = [{str(REPO)!r} + '/' + pkg.replace('.', '/')]; sys.modules[pkg] = m\n"
    )
    result = subprocess.run([sys.executable, "-c", loader + code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not CIFAR.exists(), reason=f"real CIFAR-10 archive not present at {CIFAR}")
def test_real_cifar10_archive_slice():
    x, y, names = load_image_folder(CIFAR, split="test", limit=20)
    assert names == CIFAR_CLASSES
    assert x.shape == (200, 32, 32, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [20] * 10
    # Real photographs: not blank, and different classes look different on average.
    assert 60 < x.mean() < 200 and x.std() > 30
    means = np.stack([x[y == k].mean(axis=(0, 1, 2)) for k in range(10)])
    assert np.ptp(means, axis=0).max() > 10
    # 200 distinct photographs, none read twice.
    assert len({x[i].tobytes() for i in range(len(x))}) == 200


@pytest.mark.skipif(not CIFAR.exists(), reason=f"real CIFAR-10 archive not present at {CIFAR}")
def test_real_cifar10_test_split_is_complete():
    x, y, names = load_image_folder(CIFAR, split="test")
    assert x.shape == (10000, 32, 32, 3)
    assert np.bincount(y).tolist() == [1000] * 10
