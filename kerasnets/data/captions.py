"""Image-caption datasets: the Flickr8k token file, the ``image,caption`` CSV and COCO captions JSON.

Three readers return the same `CaptionDataset` (image file names in first-seen order,
their captions, and the image folder):

* `read_flickr8k_tokens` — ``Flickr8k.token.txt`` (Hodosh, Young & Hockenmaier 2013,
  "Framing Image Description as a Ranking Task"): one line per caption,
  ``1000268201_693b08cb0e.jpg#0<TAB>A child in a pink dress ...``.
* `read_caption_csv` — the common re-packaging (Kaggle "flickr8k" ``captions.txt``):
  a CSV with the header ``image,caption`` (captions may hold commas; CSV quoting applies, and
  a row with an unquoted comma is an error naming its line). A UTF-8 byte-order mark is accepted.
* `read_coco_captions` — COCO ``captions_*.json`` (Chen et al. 2015): ``images`` with
  ``id``/``file_name`` and ``annotations`` with ``image_id``/``caption``.

`load_captions` picks the reader from the file (``format="auto"``). Every reader checks
its input completely before returning: an empty caption, a line without the expected fields,
an annotation whose ``image_id`` is not among the images, or (with ``image_dir``) an image
file that does not exist raises `CaptionFileError` naming the file, line and item.
Nothing is skipped silently.

`split_by_image` makes a fixed train/val/test split by image (all captions of an image
stay together). `load_image` is `kerasnets.data.images.load_image` with a positional
``size``, raising `CaptionFileError` for an unreadable image (kept for its callers).

Examples:
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "captions.txt"), "w").write("image,caption\\na.jpg,A dog runs .\\n")
    >>> ds = read_caption_csv(os.path.join(d, "captions.txt"))
    >>> ds.images, ds.captions["a.jpg"]
    (['a.jpg'], ['A dog runs .'])
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os

import numpy as np

from kerasnets.checks import check_choice, check_existing_file, check_positive_int

__all__ = [
    "CaptionDataset",
    "CaptionFileError",
    "read_flickr8k_tokens",
    "read_caption_csv",
    "read_coco_captions",
    "load_captions",
    "split_by_image",
    "load_image",
    "FORMATS",
]

FORMATS = ("auto", "flickr8k", "csv", "coco")


class CaptionFileError(ValueError):
    """A caption file that cannot be read as a whole (names the file, line and item)."""


@dataclasses.dataclass
class CaptionDataset:
    """Images and their captions.

    Attributes:
        images: image file names (relative to ``image_dir``), in first-seen order.
        captions: ``{image file name: [caption, ...]}``.
        image_dir: folder holding the images, or None if unknown.
        source: the caption file this came from.
    """

    images: list
    captions: dict
    image_dir: str | None = None
    source: str | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_captions(self) -> int:
        return sum(len(self.captions[i]) for i in self.images)

    def path(self, image: str) -> str:
        """The full path of ``image``."""
        return image if self.image_dir is None else os.path.join(self.image_dir, image)

    def subset(self, images) -> "CaptionDataset":
        """The dataset restricted to ``images`` (in that order).

        Raises:
            KeyError: for an image id that is not in the dataset (names it).
        """
        images = list(images)
        for image in images:
            if image not in self.captions:
                raise KeyError(f"Unknown image id; it is not in {self.source or 'the dataset'}. Received: image={image!r}")
        return CaptionDataset(images, {i: self.captions[i] for i in images}, self.image_dir, self.source)

    def pairs(self):
        """``(image, caption)`` for every caption, grouped by image."""
        return [(i, c) for i in self.images for c in self.captions[i]]


def _add(images, captions, image, caption, where):
    if not isinstance(caption, str) or not caption.strip():
        raise CaptionFileError(f"Empty caption for image {image!r} at {where}. Received: caption={caption!r}")
    if not image:
        raise CaptionFileError(f"Missing image name at {where}. Received: image={image!r}")
    if image not in captions:
        captions[image] = []
        images.append(image)
    captions[image].append(caption.strip())


def _finish(images, captions, image_dir, source) -> CaptionDataset:
    if not images:
        raise CaptionFileError(f"No captions found in the caption file. Received: path={source!r}")
    if image_dir is not None:
        if not os.path.isdir(image_dir):
            raise FileNotFoundError(f"`image_dir` must be an existing folder. Received: image_dir={image_dir!r}")
        missing = [i for i in images if not os.path.isfile(os.path.join(image_dir, i))]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise CaptionFileError(
                f"{len(missing)} image(s) named in {source} are missing from {image_dir}: {shown}. "
                f"Received: image_dir={image_dir!r}"
            )
    return CaptionDataset(images, captions, image_dir, source)


def _read_text(path: str) -> str:
    path = check_existing_file("path", path)
    try:
        # utf-8-sig: a leading byte-order mark (as Excel and Notepad write) is not part of the text.
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except UnicodeDecodeError as err:
        raise CaptionFileError(f"Caption file is not UTF-8 text ({err}). Received: path={path!r}") from None


def read_flickr8k_tokens(path: str, *, image_dir: str | None = None) -> CaptionDataset:
    """Read a Flickr8k token file (``image.jpg#i<TAB>caption`` per line).

    Args:
        path: the token file (``Flickr8k.token.txt``; also ``Flickr8k.lemma.token.txt``).
        image_dir: optional image folder; every named image must exist in it.

    Returns:
        A `CaptionDataset`.

    Raises:
        FileNotFoundError: ``path`` (or ``image_dir``) does not exist.
        CaptionFileError: a line without a tab or ``#``, an empty caption, or missing images.
    """
    text = _read_text(path)
    images, captions = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        if "\t" not in line:
            raise CaptionFileError(
                f"Expected 'image.jpg#i<TAB>caption' at {where} (no tab). Received: line={line[:80]!r}"
            )
        key, caption = line.split("\t", 1)
        image, sep, index = key.rpartition("#")
        if not sep or not index.strip().isdigit():
            raise CaptionFileError(f"Expected 'image.jpg#i' before the tab at {where}. Received: line={line[:80]!r}")
        _add(images, captions, image.strip(), caption, where)
    return _finish(images, captions, image_dir, path)


def read_caption_csv(path: str, *, image_dir: str | None = None) -> CaptionDataset:
    """Read a CSV with the header ``image,caption`` (the Kaggle Flickr8k/Flickr30k packaging).

    Args:
        path: the CSV file.
        image_dir: optional image folder; every named image must exist in it.

    Returns:
        A `CaptionDataset`.

    Raises:
        FileNotFoundError: ``path`` (or ``image_dir``) does not exist.
        CaptionFileError: no ``image``/``caption`` columns, a short row, a row with more
            fields than the header (an unquoted comma in a caption), an empty caption, or
            missing images (each with the line number).
    """
    text = _read_text(path)
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "image" not in fields or "caption" not in fields:
        raise CaptionFileError(
            f"Expected a CSV header with 'image' and 'caption' columns in {path}. Received: header={reader.fieldnames!r}"
        )
    reader.fieldnames = fields
    images, captions = [], {}
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if None in row:
            # DictReader puts the fields beyond the header's under the key None: an unquoted
            # comma split the caption, and keeping only the first part would truncate it silently.
            extra = row.pop(None)
            raise CaptionFileError(
                f"Row with {len(row) + len(extra)} fields at {where}, the header has {len(fields)}: a caption "
                'holding a comma must be quoted (a.jpg,"A dog, a cat ."). '
                f"Received: line={','.join([str(row.get(f) or '') for f in fields] + list(extra))[:120]!r}"
            )
        if row.get("caption") is None or None in row.values():
            raise CaptionFileError(f"Row with too few fields at {where}. Received: row={row!r}")
        _add(images, captions, (row["image"] or "").strip(), row["caption"], where)
    return _finish(images, captions, image_dir, path)


def read_coco_captions(path: str, *, image_dir: str | None = None) -> CaptionDataset:
    """Read a COCO captions JSON (``captions_train2014.json`` and the like).

    Args:
        path: the JSON file.
        image_dir: optional image folder (``train2014/``); every image with a caption must exist.

    Returns:
        A `CaptionDataset` keyed by ``file_name``, images in the JSON's order (images
        without any caption are left out).

    Raises:
        FileNotFoundError: ``path`` (or ``image_dir``) does not exist.
        CaptionFileError: invalid JSON, missing ``images``/``annotations``, an annotation with
            an unknown ``image_id`` (named), an empty caption, or missing images.
    """
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CaptionFileError(f"Invalid COCO captions JSON ({err}). Received: path={path!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(
        data.get("annotations"), list
    ):
        raise CaptionFileError(
            f"Expected a COCO captions JSON object with 'images' and 'annotations' lists. Received: path={path!r}"
        )
    names = {}
    for k, img in enumerate(data["images"]):
        if not isinstance(img, dict) or "id" not in img or not img.get("file_name"):
            raise CaptionFileError(f"images[{k}] in {path} needs 'id' and 'file_name'. Received: images[{k}]={img!r}")
        names[img["id"]] = img["file_name"]
    order = {img["id"]: k for k, img in enumerate(data["images"])}
    by_image = {}
    for k, ann in enumerate(data["annotations"]):
        where = f"{path} annotations[{k}]"
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise CaptionFileError(f"{where} needs 'image_id' and 'caption'. Received: annotation={ann!r}")
        if ann["image_id"] not in names:
            raise CaptionFileError(
                f"{where} refers to an image id that is not in 'images'. Received: image_id={ann['image_id']!r}"
            )
        by_image.setdefault(ann["image_id"], []).append((ann.get("caption"), where))
    images, captions = [], {}
    for image_id in sorted(by_image, key=order.get):
        for caption, where in by_image[image_id]:
            _add(images, captions, names[image_id], caption, where)
    return _finish(images, captions, image_dir, path)


def _sniff(path: str) -> str:
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        head = f.read(4096)
    stripped = head.lstrip()
    if stripped.startswith("{"):
        return "coco"
    first = stripped.splitlines()[0] if stripped else ""
    if "\t" in first and "#" in first.split("\t", 1)[0]:
        return "flickr8k"
    if first.replace(" ", "").lower().startswith("image,caption"):
        return "csv"
    raise CaptionFileError(
        "Cannot tell the caption file format: expected COCO JSON, Flickr8k tokens "
        "('image.jpg#0<TAB>caption') or a CSV with the header 'image,caption'; pass format=. "
        f"Received: path={path!r}"
    )


def load_captions(path: str, *, image_dir: str | None = None, format: str = "auto") -> CaptionDataset:
    """Read a caption file in any of the three formats.

    Args:
        path: caption file.
        image_dir: image folder (checked); default: ``images/`` or ``Images/`` next to the
            file if it exists, else None (not checked).
        format: ``"auto"`` (from the content), ``"flickr8k"``, ``"csv"`` or ``"coco"``.

    Returns:
        A `CaptionDataset`.
    """
    check_choice("format", format, FORMATS)
    path = check_existing_file("path", path)
    if image_dir is None:
        for name in ("images", "Images"):
            candidate = os.path.join(os.path.dirname(os.path.abspath(path)), name)
            if os.path.isdir(candidate):
                image_dir = candidate
                break
    if format == "auto":
        format = _sniff(path)
    reader = {"flickr8k": read_flickr8k_tokens, "csv": read_caption_csv, "coco": read_coco_captions}[format]
    return reader(path, image_dir=image_dir)


def split_by_image(dataset: CaptionDataset, sizes=(800, 100, 100), *, seed: int = 0):
    """A fixed train/val/test split by image.

    Image names are sorted, shuffled with ``numpy.random.default_rng(seed)`` and cut into
    consecutive parts, so the split depends only on the set of names and the seed.

    Args:
        dataset: a `CaptionDataset`.
        sizes: image counts per part, summing to at most ``len(dataset)``; or fractions
            summing to 1.
        seed: shuffle seed.

    Returns:
        A tuple of `CaptionDataset`, one per entry of ``sizes``.

    Raises:
        ValueError: sizes that do not fit the dataset.
    """
    sizes = tuple(sizes)
    n = len(dataset)
    if sizes and all(isinstance(s, float) for s in sizes):
        if abs(sum(sizes) - 1.0) > 1e-6 or any(s < 0 for s in sizes):
            raise ValueError(f"Split fractions must be >= 0 and sum to 1. Received: sizes={sizes!r}")
        counts = [int(round(s * n)) for s in sizes]
        counts[0] = n - sum(counts[1:])
    else:
        counts = [check_positive_int("sizes", s, minimum=0) for s in sizes]
    if not counts or sum(counts) > n:
        raise ValueError(
            f"Split sizes must sum to at most the number of images ({n}). Received: sizes={sizes!r}"
        )
    names = sorted(dataset.images)
    np.random.default_rng(seed).shuffle(names)
    parts, start = [], 0
    for c in counts:
        parts.append(dataset.subset(names[start : start + c]))
        start += c
    return tuple(parts)


def load_image(path: str, size: int | tuple | None = None) -> np.ndarray:
    """Read an image as ``(h, w, 3)`` uint8 RGB, optionally resized (bilinear) to ``size``.

    `kerasnets.data.images.load_image` (``load_image(path, size=size)``), the loader of both
    apps; only the error type differs.

    Raises:
        FileNotFoundError: no such file (names it).
        CaptionFileError: the file is not a readable image (names it).
    """
    from kerasnets.data.images import ImageFileError
    from kerasnets.data.images import load_image as load

    try:
        return load(path, size=size)
    except ImageFileError as err:
        raise CaptionFileError(str(err)) from None
