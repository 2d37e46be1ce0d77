"""Image classification data from class folders (or a tar archive of them) as numpy arrays.

The layout is the one ``keras.utils.image_dataset_from_directory`` reads: a folder
with one sub-folder per class, each holding that class's images (sub-folders of a
class folder are searched too). Labels are the alphabetical order of the class
folder names, unless ``class_names`` gives another order. A folder or archive may
instead hold split folders (``train/``, ``test/``, ...), each laid out as above;
``split`` picks one. CIFAR-10 as JPEG files (``../shared/data/cifar10/cifar10-jpeg.tar.gz``)
is such an archive::

    x, y, names = load_image_folder("cifar10-jpeg.tar.gz", split="test")
    # x: (10000, 32, 32, 3) uint8, y: (10000,) int64, names: ['airplane', ..., 'truck']

Archives (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``) are read
member by member in one streaming pass, never unpacked to disk. Only NumPy and
Pillow are used (no TensorFlow, no Keras), so this works under any Keras backend.

Images are returned in class order, then file-path order within a class (no
shuffling: shuffle with a seeded generator where the data is used).
"""

from __future__ import annotations

import io
import os
import tarfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "COLOR_MODES", "ImageFolderError", "load_image_folder"]

# The extensions keras.utils.image_dataset_from_directory accepts (case-insensitive).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
# color_mode -> (Pillow mode, channels), as keras.utils.image_dataset_from_directory.
COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1), "rgba": ("RGBA", 4)}
_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class ImageFolderError(ValueError):
    """The folder or archive is not a readable class-folder image data set."""


def load_image_folder(
    path: str | os.PathLike,
    *,
    split: str | None = None,
    image_size: Sequence[int] | None = None,
    color_mode: str = "rgb",
    class_names: Sequence[str] | None = None,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a class-folder image data set into memory.

    Args:
        path: a folder with one sub-folder per class, or a folder / tar archive
            holding split folders (``train/``, ``test/``) laid out that way.
        split: the split folder to read (e.g. ``"train"``, ``"test"``); ``None``
            reads ``path`` itself as the class-folder root. Required when
            ``path`` holds ``train/`` and ``test/`` split folders.
        image_size: ``(height, width)`` to resize every image to (bilinear, as
            Keras); ``None`` keeps the stored size, which must then be the same
            for every image.
        color_mode: ``"rgb"`` (3 channels), ``"grayscale"`` (1) or ``"rgba"`` (4).
        class_names: the class folder names in label order (must be exactly the
            class folders present); ``None`` uses their alphabetical order.
        limit: read at most this many images per class (the first ones in file
            path order), e.g. for a quick slice; ``None`` reads all.

    Returns:
        ``(x, y, class_names)``: ``x`` uint8 ``(N, height, width, channels)``,
        ``y`` int64 ``(N,)`` labels indexing ``class_names`` (a list).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ImageFolderError: (a ``ValueError``) bad arguments, a missing split,
            no class folders, no images, an image that cannot be decoded (named
            by file), images of different sizes without ``image_size``, or a
            corrupt archive.
    """
    split = _check_split(split)
    size = _check_image_size(image_size)
    if color_mode not in COLOR_MODES:
        shown = ", ".join(repr(m) for m in COLOR_MODES)
        raise ImageFolderError(f"`color_mode` must be one of {shown}. Received: color_mode={color_mode!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ImageFolderError(f"`limit` must be an integer >= 1 or None. Received: limit={limit!r}")
    wanted_names = _check_class_names(class_names)

    fspath = os.fspath(path)
    if not isinstance(fspath, str):
        fspath = os.fsdecode(fspath)
    if not fspath or not os.path.exists(fspath):
        raise FileNotFoundError(
            f"`path` must be an existing folder or tar archive of class folders. Received: path={fspath!r}"
        )
    if os.path.isdir(fspath):
        tree = _FolderTree(fspath)
    elif _looks_like_archive(fspath):
        tree = _ArchiveTree(fspath, (split,) if split is not None else (), limit)
    else:
        raise ImageFolderError(
            "`path` must be a folder of class folders or a tar archive "
            f"({', '.join(_ARCHIVE_SUFFIXES)}) of them. Received: path={fspath!r}"
        )

    root = _choose_root(tree, split, fspath)
    found = sorted(tree.subdirs(root))
    if not found:
        where = fspath if not root else f"{fspath} ({'/'.join(root)}/)"
        raise ImageFolderError(
            f"expected one sub-folder per class in {where}, found none. Received: path={fspath!r}"
            + (f", split={split!r}" if split is not None else "")
        )
    if wanted_names is None:
        names = found
    else:
        missing = [n for n in wanted_names if n not in found]
        extra = [n for n in found if n not in wanted_names]
        if missing or extra:
            raise ImageFolderError(
                "`class_names` must name exactly the class folders present "
                f"({', '.join(found)}); missing folders: {missing or 'none'}, "
                f"folders not named: {extra or 'none'}. Received: class_names={list(wanted_names)!r}"
            )
        names = list(wanted_names)

    per_class = {name: sorted(tree.images(root + (name,))) for name in names}
    if limit is not None:
        per_class = {name: files[: int(limit)] for name, files in per_class.items()}
    total = sum(len(files) for files in per_class.values())
    if total == 0:
        raise ImageFolderError(
            f"expected image files ({', '.join(IMAGE_EXTENSIONS)}) in the class folders "
            f"{', '.join(names)}, found none. Received: path={fspath!r}"
            + (f", split={split!r}" if split is not None else "")
        )

    ordered = [(label, parts) for label, name in enumerate(names) for parts in per_class[name]]
    blobs = tree.read({parts for _, parts in ordered})
    pil_mode, channels = COLOR_MODES[color_mode]
    x = None
    y = np.empty((total,), dtype=np.int64)
    first_size = None
    for i, (label, parts) in enumerate(ordered):
        where = tree.describe(parts)
        pixels = _decode(blobs.pop(parts), where, pil_mode, size)
        if x is None:
            first_size = (where, pixels.shape[:2])
            x = np.empty((total, *pixels.shape[:2], channels), dtype=np.uint8)
        elif pixels.shape[:2] != x.shape[1:3]:
            raise ImageFolderError(
                f"images differ in size: {where} is {pixels.shape[0]}x{pixels.shape[1]} but "
                f"{first_size[0]} is {first_size[1][0]}x{first_size[1][1]} (height x width); "
                f"pass image_size=(height, width) to resize them. Received: image_size=None"
            )
        x[i] = pixels.reshape(x.shape[1:])
        y[i] = label
    return x, y, list(names)


# --------------------------------------------------------------------------- argument checks


def _check_split(split: Any) -> str | None:
    if split is None:
        return None
    if not isinstance(split, str) or not split or "/" in split or "\\" in split or split in (".", ".."):
        raise ImageFolderError(
            f"`split` must be the name of a split folder (e.g. 'train', 'test') or None. Received: split={split!r}"
        )
    return split


def _check_image_size(image_size: Any) -> tuple[int, int] | None:
    if image_size is None:
        return None
    ok = (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= 1 for v in image_size)
    )
    if not ok:
        raise ImageFolderError(
            f"`image_size` must be (height, width), two integers >= 1, or None. Received: image_size={image_size!r}"
        )
    return int(image_size[0]), int(image_size[1])


def _check_class_names(class_names: Any) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, str) or not isinstance(class_names, Sequence):
        raise ImageFolderError(
            f"`class_names` must be a list of class folder names or None. Received: class_names={class_names!r}"
        )
    names = list(class_names)
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ImageFolderError(
            "`class_names` must be a non-empty list of distinct, non-empty folder names. "
            f"Received: class_names={names!r}"
        )
    return names


def _looks_like_archive(path: str) -> bool:
    lower = path.lower()
    if lower.endswith(_ARCHIVE_SUFFIXES):
        return True
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _choose_root(tree: "_Tree", split: str | None, fspath: str) -> tuple[str, ...]:
    top = tree.subdirs(())
    if split is not None:
        if split not in top:
            raise ImageFolderError(
                f"`split` must name a split folder of {fspath}: found "
                f"{', '.join(sorted(top)) or 'no folders'}. Received: split={split!r}"
            )
        return (split,)
    # train/ and test/ that hold folders (not images) are split folders, not classes.
    if {"train", "test"} <= top and all(tree.subdirs((s,)) for s in ("train", "test")):
        raise ImageFolderError(
            f"{fspath} holds split folders ({', '.join(sorted(top))}), not class folders: "
            "pass split='train' or split='test'. Received: split=None"
        )
    return ()


def _decode(blob: bytes, where: str, pil_mode: str, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as image:
            image.load()
            if image.mode != pil_mode:
                image = image.convert(pil_mode)
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageFolderError(f"cannot decode image {where}: {err}") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return pixels


# --------------------------------------------------------------------------- folder / archive views


class _Tree:
    """A read-only view of a directory tree; paths are tuples of name parts."""

    def describe(self, parts: tuple[str, ...]) -> str:
        raise NotImplementedError

    def subdirs(self, parts: tuple[str, ...]) -> set[str]:
        raise NotImplementedError

    def images(self, parts: tuple[str, ...]) -> list[tuple[str, ...]]:
        """Image files anywhere under the folder ``parts``."""
        raise NotImplementedError

    def read(self, wanted: set[tuple[str, ...]]) -> dict[tuple[str, ...], bytes]:
        raise NotImplementedError


class _FolderTree(_Tree):
    def __init__(self, root: str):
        self.root = root

    def describe(self, parts):
        return os.path.join(self.root, *parts)

    def subdirs(self, parts):
        folder = os.path.join(self.root, *parts)
        try:
            with os.scandir(folder) as entries:
                return {e.name for e in entries if e.is_dir() and not e.name.startswith(".")}
        except OSError as err:
            raise ImageFolderError(f"cannot list folder {folder}: {err}") from None

    def images(self, parts):
        folder = os.path.join(self.root, *parts)
        found = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = os.path.relpath(dirpath, self.root)
            base = () if rel == "." else tuple(rel.split(os.sep))
            found.extend(base + (f,) for f in filenames if _is_image(f) and not f.startswith("."))
        return found

    def read(self, wanted):
        blobs = {}
        for parts in wanted:
            file = self.describe(parts)
            try:
                with open(file, "rb") as fh:
                    blobs[parts] = fh.read()
            except OSError as err:
                raise ImageFolderError(f"cannot read image {file}: {err}") from None
        return blobs


class _ArchiveTree(_Tree):
    """A tar archive, read in one streaming pass (never unpacked to disk).

    The pass records every folder and keeps the bytes of the image files under
    ``root`` (at most ``limit`` per class folder, the first in path order).
    """

    def __init__(self, archive: str, root: tuple[str, ...], limit: int | None):
        self.archive = archive
        self.dirs: dict[tuple[str, ...], set[str]] = {}
        self.blobs: dict[tuple[str, ...], dict[tuple[str, ...], bytes]] = {}
        self.depth = depth = len(root) + 1
        try:
            with tarfile.open(archive, mode="r|*") as tar:
                for member in tar:
                    parts = tuple(p for p in member.name.replace("\\", "/").split("/") if p not in ("", "."))
                    if not parts or ".." in parts or any(p.startswith(".") for p in parts):
                        continue
                    if member.isdir():
                        self._add_dir(parts)
                        continue
                    if not member.isfile():
                        continue
                    self._add_dir(parts[:-1])
                    if len(parts) <= depth or parts[: len(root)] != root or not _is_image(parts[-1]):
                        continue
                    kept = self.blobs.setdefault(parts[:depth], {})
                    if limit is not None and len(kept) >= limit and parts > max(kept):
                        continue
                    fh = tar.extractfile(member)
                    kept[parts] = fh.read() if fh is not None else b""
                    if limit is not None and len(kept) > limit:
                        del kept[max(kept)]
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            raise ImageFolderError(f"cannot read archive {archive}: {err or type(err).__name__}") from None

    def _add_dir(self, parts):
        for depth in range(len(parts)):
            self.dirs.setdefault(parts[:depth], set()).add(parts[depth])
        self.dirs.setdefault(parts, set())

    def describe(self, parts):
        return f"{self.archive}:{'/'.join(parts)}"

    def subdirs(self, parts):
        return set(self.dirs.get(parts, set()))

    def images(self, parts):
        return list(self.blobs.get(parts, {}))

    def read(self, wanted):
        return {parts: self.blobs[parts[: self.depth]][parts] for parts in wanted}
