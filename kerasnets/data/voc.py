"""PASCAL VOC XML and COCO JSON detection annotations, read tolerantly and checked.

PASCAL VOC (Everingham et al., "The PASCAL Visual Object Classes (VOC) Challenge",
IJCV 2010) stores one XML file per image::

    <annotation>
      <filename>000005.jpg</filename>
      <size><width>500</width><height>375</height><depth>3</depth></size>
      <object>
        <name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
        <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox>
      </object>
    </annotation>

Files found in the wild vary, and `read_voc_xml` accepts the variations that
carry the same information:

* ``<pose>``, ``<truncated>``, ``<difficult>``, ``<occluded>`` missing (defaults:
  ``"Unspecified"``, False, False), or written as ``true``/``false``;
* float coordinates (``<xmin>45.7</xmin>``, as written by some labelling tools);
* ``<size>`` missing or zero (the size is then read from the image header) or
  ``<depth>1`` (grey images);
* ``<filename>`` without extension, or naming a path that does not exist (labelImg
  writes absolute paths of the labeller's machine): the image is looked up next to
  the XML, in ``image_dir``, by its file name and by the XML file's stem.

What cannot be read is an error naming the file (`AnnotationError`, a
``ValueError``): malformed XML, an ``<object>`` without ``<name>`` or ``<bndbox>``,
non-numeric coordinates, a class not in ``classes``. Boxes reaching outside the image
are clipped to it with a warning naming the file. A ``<size>`` that disagrees with the
real image is replaced by the image's size, with a warning naming the file.

Real data sets contain **degenerate boxes** (zero width or height, inverted corners, or
nothing left inside the image after clipping). By default such a box is skipped, with
one `AnnotationWarning` line per file naming the file, each object's index, class
and box, and is recorded in `ImageAnnotation.skipped` so callers can count it;
``strict=True`` makes it an `AnnotationError` instead.

Coordinates are kept as written (VOC's 1-based pixel indices, as float64) in the
``(xmin, ymin, xmax, ymax)`` corner format; `write_voc_xml` writes them back.

COCO (Lin et al., "Microsoft COCO: Common Objects in Context", ECCV 2014) keeps all
images of a split in one JSON file with ``[x, y, width, height]`` boxes;
`read_coco_json` converts them to the same `ImageAnnotation` records.

Examples:
    >>> from kerasnets.data.voc import read_voc_xml  # doctest: +SKIP
    >>> ann = read_voc_xml("Annotations/000005.xml", image_dir="JPEGImages")  # doctest: +SKIP
    >>> ann.boxes.shape, ann.labels  # doctest: +SKIP
    ((5, 4), ['chair', 'chair', 'chair', 'chair', 'chair'])
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "AnnotationError",
    "AnnotationWarning",
    "SkippedBox",
    "ObjectAnnotation",
    "ImageAnnotation",
    "VOC_CLASSES",
    "IMAGE_EXTENSIONS",
    "read_voc_xml",
    "write_voc_xml",
    "load_voc_dataset",
    "read_split_file",
    "read_coco_json",
    "class_names",
]

#: The 20 PASCAL VOC classes, in the devkit's order.
VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip

#: Image file extensions tried when ``<filename>`` has none.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".JPG", ".JPEG", ".PNG")


class AnnotationError(ValueError):
    """An annotation file that cannot be read; the message names the file."""


class AnnotationWarning(UserWarning):
    """A recoverable oddity of an annotation file (a clipped or skipped box, a wrong ``<size>``)."""


@dataclasses.dataclass(frozen=True)
class SkippedBox:
    """A degenerate box that was skipped while reading.

    Attributes:
        index: the object's index in its file (VOC ``<object>`` order, or the COCO annotation index).
        name: its class name.
        box: ``(xmin, ymin, xmax, ymax)`` as written.
        reason: why it was skipped (``"zero or negative width"``, ...).
    """

    index: int
    name: str
    box: tuple[float, float, float, float]
    reason: str

    def describe(self) -> str:
        return f"object {self.index} ({self.name!r}) box {tuple(round(float(c), 2) for c in self.box)}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class ObjectAnnotation:
    """One annotated object.

    Attributes:
        name: the class name.
        box: ``(xmin, ymin, xmax, ymax)`` in pixels, as float.
        difficult: VOC's "difficult" flag (ignored by VOC evaluation).
        truncated: VOC's "truncated" flag.
        pose: VOC's pose string (``"Unspecified"`` when absent).
    """

    name: str
    box: tuple[float, float, float, float]
    difficult: bool = False
    truncated: bool = False
    pose: str = "Unspecified"


@dataclasses.dataclass(frozen=True)
class ImageAnnotation:
    """The annotation of one image.

    Attributes:
        image_path: the image file that was found (absolute or as given).
        width, height, depth: the image size (depth 1 for grey, 3 for colour).
        objects: the annotated objects.
        source: the annotation file (XML or JSON) the record was read from.
        skipped: the degenerate boxes skipped while reading (see the module docstring).
    """

    image_path: str
    width: int
    height: int
    depth: int
    objects: tuple[ObjectAnnotation, ...]
    source: str = ""
    skipped: tuple[SkippedBox, ...] = ()

    @property
    def image_id(self) -> str:
        """The image's file stem (``"000005"``)."""
        return os.path.splitext(os.path.basename(self.image_path))[0]

    @property
    def boxes(self) -> np.ndarray:
        """``(n, 4)`` float array of ``(xmin, ymin, xmax, ymax)``."""
        if not self.objects:
            return np.zeros((0, 4), dtype=np.float64)
        return np.array([o.box for o in self.objects], dtype=np.float64)

    @property
    def labels(self) -> list[str]:
        """Class names of the objects, in order."""
        return [o.name for o in self.objects]

    @property
    def difficult(self) -> np.ndarray:
        """Boolean array of the objects' difficult flags."""
        return np.array([o.difficult for o in self.objects], dtype=bool)


# --------------------------------------------------------------------------- helpers


def _error(path: str, what: str) -> AnnotationError:
    return AnnotationError(f"{what} Received: file={path!r}")


def _text(node: ET.Element | None, tag: str) -> str | None:
    if node is None:
        return None
    child = node.find(tag)
    if child is None or child.text is None:
        return None
    text = child.text.strip()
    return text or None


def _flag(node: ET.Element, tag: str, path: str) -> bool:
    text = _text(node, tag)
    if text is None:
        return False
    low = text.lower()
    if low in ("1", "true", "yes"):
        return True
    if low in ("0", "false", "no"):
        return False
    try:
        return float(text) != 0
    except ValueError:
        raise _error(path, f"`<{tag}>` must be 0/1 (or true/false); it reads {text!r}.") from None


def _number(text: str | None, tag: str, path: str, where: str) -> float:
    if text is None:
        raise _error(path, f"{where} has no `<{tag}>`.")
    try:
        value = float(text)
    except ValueError:
        raise _error(path, f"{where}: `<{tag}>` must be a number; it reads {text!r}.") from None
    if not np.isfinite(value):
        raise _error(path, f"{where}: `<{tag}>` must be a finite number; it reads {text!r}.")
    return value


def _image_size(image_path: str) -> tuple[int, int, int]:
    """(width, height, depth) from the image header (PIL reads only the header), as displayed:
    an EXIF orientation of 5-8 (a quarter turn) swaps width and height, as OpenCV's
    ``cv2.imread`` (the apps' loader) and labelling tools apply it."""
    from PIL import Image

    with Image.open(image_path) as im:
        depth = {"L": 1, "1": 1, "P": 3, "RGB": 3, "RGBA": 4, "CMYK": 4, "I;16": 1, "I": 1, "F": 1}.get(im.mode, 3)
        try:
            orientation = im.getexif().get(0x0112, 1)
        except Exception:  # a broken EXIF block: the header size stands
            orientation = 1
        if orientation in (5, 6, 7, 8):
            return im.height, im.width, depth
        return im.width, im.height, depth


def _find_image(xml_path: str, filename: str | None, image_dir: str | None, path_tag: str | None) -> str | None:
    """Look the image up: as named, next to the XML, in image_dir; by name, then by the XML stem."""
    xml_dir = os.path.dirname(os.path.abspath(xml_path))
    dirs = [d for d in (image_dir, xml_dir, os.path.join(os.path.dirname(xml_dir), "JPEGImages"),
                        os.path.join(os.path.dirname(xml_dir), "images")) if d]
    names = []
    if filename:
        names.append(os.path.basename(filename.replace("\\", "/")))
    if path_tag:
        names.append(os.path.basename(path_tag.replace("\\", "/")))
    names.append(os.path.splitext(os.path.basename(xml_path))[0])
    candidates = []
    for p in (filename, path_tag):
        if p and os.path.isabs(p):
            candidates.append(p)
    for d in dirs:
        for n in names:
            candidates.append(os.path.join(d, n))
    for cand in candidates:
        if os.path.isfile(cand):
            return cand
        stem, ext = os.path.splitext(cand)
        if not ext or ext.lower() not in {e.lower() for e in IMAGE_EXTENSIONS}:
            for e in IMAGE_EXTENSIONS:
                if os.path.isfile(cand + e):
                    return cand + e
    return None


def _degenerate(box, width, height) -> str | None:
    """Why a box (as written) is unusable, or None: zero/negative extent, or nothing inside the image."""
    x0, y0, x1, y1 = box
    if x1 <= x0:
        return "zero width" if x1 == x0 else "inverted (xmax < xmin)"
    if y1 <= y0:
        return "zero height" if y1 == y0 else "inverted (ymax < ymin)"
    if min(x1, width) <= max(x0, 0.0) or min(y1, height) <= max(y0, 0.0):
        return f"entirely outside the {width}x{height} image"
    return None


def _warn_skipped(path: str, skipped: Sequence[SkippedBox], limit: int = 20) -> None:
    if not skipped:
        return
    parts = [s.describe() for s in skipped[:limit]]
    if len(skipped) > limit:
        parts.append(f"and {len(skipped) - limit} more")
    warnings.warn(f"{path}: skipped {len(skipped)} degenerate box(es): {'; '.join(parts)}", AnnotationWarning, stacklevel=4)


def _clip_box(box, width, height, path, index):
    x0, y0, x1, y1 = box
    # VOC pixel indices run 1..width; 0 is also accepted (0-based tools).
    cx0, cy0 = min(max(x0, 0.0), width), min(max(y0, 0.0), height)
    cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
    if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
        warnings.warn(
            f"{path}: object {index} box {tuple(box)} reaches outside the {width}x{height} image; "
            f"clipped to {(cx0, cy0, cx1, cy1)}.",
            AnnotationWarning,
            stacklevel=4,
        )
    return (cx0, cy0, cx1, cy1)


# --------------------------------------------------------------------------- VOC XML


def read_voc_xml(
    path: str | os.PathLike,
    *,
    image_dir: str | os.PathLike | None = None,
    classes: Sequence[str] | None = None,
    require_image: bool = True,
    strict: bool = False,
) -> ImageAnnotation:
    """Read one PASCAL VOC XML annotation file.

    Args:
        path: the ``.xml`` file.
        image_dir: folder holding the images (default: next to the XML, then the
            sibling ``JPEGImages/`` or ``images/`` folder, as in VOCdevkit).
        classes: the allowed class names; an object of another class is an error.
            None accepts every name.
        require_image: when True (default) the image must exist; its size fills a
            missing ``<size>``. When False, a missing image is allowed if ``<size>``
            is complete (``image_path`` is then the expected path).
        strict: a degenerate box is an error instead of being skipped with a warning.

    Returns:
        An `ImageAnnotation` (boxes clipped to the image; degenerate boxes in
        ``skipped``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        AnnotationError: malformed XML, an object without name or box, a bad
            coordinate, an unknown class, a missing image, and with ``strict`` a
            degenerate box. The message names the file.

    Examples:
        >>> ann = read_voc_xml("raccoon-1.xml", image_dir="images")  # doctest: +SKIP
        >>> ann.labels  # doctest: +SKIP
        ['raccoon']
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` must name an existing VOC XML file. Received: path={path!r}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise _error(path, f"The annotation is not well-formed XML ({exc}).") from None
    if root.tag != "annotation":
        raise _error(path, f"A VOC annotation's root element must be <annotation>; it is <{root.tag}>.")
    filename = _text(root, "filename")
    path_tag = _text(root, "path")
    image_path = _find_image(path, filename, None if image_dir is None else os.fspath(image_dir), path_tag)

    size = root.find("size")
    width = height = depth = 0
    if size is not None:
        try:
            width = int(float(_text(size, "width") or 0))
            height = int(float(_text(size, "height") or 0))
            depth = int(float(_text(size, "depth") or 0))
        except ValueError:
            raise _error(path, "`<size>` must hold numbers (<width>, <height>, <depth>).") from None
    if image_path is None:
        if require_image or width <= 0 or height <= 0:
            raise _error(
                path,
                f"The image of this annotation was not found (filename={filename!r}, looked next to the "
                f"XML, in image_dir={None if image_dir is None else os.fspath(image_dir)!r}, JPEGImages/ "
                "and images/, with the usual extensions).",
            )
        base = filename or os.path.splitext(os.path.basename(path))[0]
        image_path = os.path.join(os.fspath(image_dir) if image_dir else os.path.dirname(path), base)
    else:
        try:
            w, h, d = _image_size(image_path)
        except OSError as exc:
            raise _error(path, f"Its image {image_path!r} cannot be read ({exc}).") from None
        if width > 0 and height > 0 and (width, height) != (w, h):
            warnings.warn(
                f"{path}: <size> says {width}x{height} but the image {image_path!r} is {w}x{h}; using the image's size.",
                AnnotationWarning,
                stacklevel=2,
            )
        width, height = w, h
        depth = depth if depth > 0 else d

    allowed = None if classes is None else set(classes)
    objects, skipped = [], []
    for i, obj in enumerate(root.findall("object")):
        where = f"object {i}"
        name = _text(obj, "name")
        if name is None:
            raise _error(path, f"{where} has no `<name>`.")
        if allowed is not None and name not in allowed:
            raise _error(
                path,
                f"{where} has class {name!r}, which is not one of the allowed classes "
                f"{sorted(allowed)}.",
            )
        bnd = obj.find("bndbox")
        if bnd is None:
            raise _error(path, f"{where} ({name!r}) has no `<bndbox>`.")
        box = tuple(_number(_text(bnd, t), t, path, f"{where} ({name!r})") for t in ("xmin", "ymin", "xmax", "ymax"))
        reason = _degenerate(box, width, height)
        if reason is not None:
            if strict:
                raise _error(path, f"{where} ({name!r}) has a degenerate box {box}: {reason} (need xmax > xmin, "
                             "ymax > ymin, inside the image; without strict such boxes are skipped).")  # fmt: skip
            skipped.append(SkippedBox(index=i, name=name, box=box, reason=reason))
            continue
        clipped = _clip_box(box, width, height, path, i)
        objects.append(
            ObjectAnnotation(
                name=name,
                box=clipped,
                difficult=_flag(obj, "difficult", path),
                truncated=_flag(obj, "truncated", path),
                pose=_text(obj, "pose") or "Unspecified",
            )
        )
    _warn_skipped(path, skipped)
    return ImageAnnotation(
        image_path=image_path,
        width=width,
        height=height,
        depth=depth,
        objects=tuple(objects),
        source=path,
        skipped=tuple(skipped),
    )


def write_voc_xml(annotation: ImageAnnotation, path: str | os.PathLike, *, folder: str = "JPEGImages") -> str:
    """Write an `ImageAnnotation` as a PASCAL VOC XML file (the devkit's layout).

    Args:
        annotation: the record to write.
        path: the ``.xml`` file to create (its folder must exist).
        folder: the ``<folder>`` text.

    Returns:
        The path written.
    """
    path = os.fspath(path)
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = os.path.basename(annotation.image_path)
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "kerasnets"
    size = ET.SubElement(root, "size")
    for tag, value in (("width", annotation.width), ("height", annotation.height), ("depth", annotation.depth)):
        ET.SubElement(size, tag).text = str(int(value))
    ET.SubElement(root, "segmented").text = "0"
    for obj in annotation.objects:
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = obj.name
        ET.SubElement(node, "pose").text = obj.pose
        ET.SubElement(node, "truncated").text = str(int(obj.truncated))
        ET.SubElement(node, "difficult").text = str(int(obj.difficult))
        bnd = ET.SubElement(node, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), obj.box):
            ET.SubElement(bnd, tag).text = str(int(value)) if float(value).is_integer() else f"{value:.2f}"
    ET.indent(root)
    tmp = path + ".tmp"
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=False)
    os.replace(tmp, path)
    return path


def read_split_file(path: str | os.PathLike) -> list[str]:
    """Image ids of a split: a VOC ``ImageSets/Main/*.txt`` file (one id per line) or a
    CSV with a ``filename`` column (the raccoon dataset's ``train_labels.csv``).

    Returns:
        Unique ids (file stems) in first-seen order.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`split` must name an existing split file. Received: split={path!r}")
    ids: list[str] = []
    if path.endswith(".csv"):
        import csv

        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "filename" not in reader.fieldnames:
                raise AnnotationError(f"A split CSV must have a 'filename' column. Received: file={path!r}")
            for row in reader:
                ids.append(os.path.splitext(os.path.basename(row["filename"]))[0])
    else:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    # VOC class-specific split files hold "id  1/-1/0"; keep the id.
                    ids.append(os.path.splitext(line.split()[0])[0])
    return list(dict.fromkeys(ids))


def load_voc_dataset(
    annotations_dir: str | os.PathLike,
    *,
    image_dir: str | os.PathLike | None = None,
    split: str | os.PathLike | Iterable[str] | None = None,
    classes: Sequence[str] | None = None,
    skip_difficult: bool = False,
    strict: bool = False,
) -> list[ImageAnnotation]:
    """Read every (or a split's) VOC XML file of a folder.

    Args:
        annotations_dir: the folder of ``.xml`` files (VOC's ``Annotations/``).
        image_dir: the image folder (default: found next to the annotations).
        split: None (all files), a split file (see `read_split_file`) or a
            list of image ids.
        classes: allowed class names (None: any).
        skip_difficult: drop objects flagged difficult.
        strict: a degenerate box is an error (default: skipped with one warning per file,
            recorded in each record's ``skipped``).

    Returns:
        A list of `ImageAnnotation`, sorted by file name when ``split`` is None,
        in the split's order otherwise.

    Raises:
        FileNotFoundError: the folder, or an id's XML file, does not exist.
        AnnotationError: a file cannot be read (see `read_voc_xml`).
    """
    annotations_dir = os.fspath(annotations_dir)
    if not os.path.isdir(annotations_dir):
        raise FileNotFoundError(
            f"`annotations_dir` must be an existing folder of VOC XML files. Received: annotations_dir={annotations_dir!r}"
        )
    if split is None:
        files = sorted(f for f in os.listdir(annotations_dir) if f.lower().endswith(".xml"))
        if not files:
            raise FileNotFoundError(f"No .xml files found. Received: annotations_dir={annotations_dir!r}")
        paths = [os.path.join(annotations_dir, f) for f in files]
    else:
        ids = read_split_file(split) if isinstance(split, (str, os.PathLike)) else [str(s) for s in split]
        paths = [os.path.join(annotations_dir, i + ".xml") for i in ids]
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} annotation file(s) of the split do not exist, e.g. {missing[0]!r}. "
                f"Received: split={split if isinstance(split, (str, os.PathLike)) else '<list>'!r}"
            )
    out = []
    for p in paths:
        ann = read_voc_xml(p, image_dir=image_dir, classes=classes, strict=strict)
        if skip_difficult:
            ann = dataclasses.replace(ann, objects=tuple(o for o in ann.objects if not o.difficult))
        out.append(ann)
    return out


def class_names(annotations: Iterable[ImageAnnotation]) -> list[str]:
    """Sorted class names occurring in ``annotations``."""
    return sorted({o.name for a in annotations for o in a.objects})


# --------------------------------------------------------------------------- COCO JSON


def read_coco_json(
    path: str | os.PathLike,
    *,
    image_dir: str | os.PathLike | None = None,
    classes: Sequence[str] | None = None,
    skip_crowd: bool = True,
    strict: bool = False,
) -> list[ImageAnnotation]:
    """Read a COCO detection JSON file (``images``, ``annotations``, ``categories``).

    COCO boxes are ``[x, y, width, height]`` in 0-based pixels; they are converted to
    ``(xmin, ymin, xmax, ymax)``. ``iscrowd`` annotations are dropped by default (COCO's
    evaluation ignores them); with ``skip_crowd=False`` they are kept flagged difficult.

    Args:
        path: the JSON file.
        image_dir: folder of the images (default: the JSON's folder); images need not
            exist (the JSON gives the size).
        classes: allowed category names (None: any).
        skip_crowd: drop ``iscrowd=1`` annotations.
        strict: a degenerate box (zero or negative width/height, outside its image) is an
            error; by default it is skipped, with one warning line for the file listing
            them, and recorded in its image's ``skipped``.

    Returns:
        One `ImageAnnotation` per image entry, in the file's order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        AnnotationError: not JSON, a missing key, an unknown category id or class,
            a bad box. The message names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` must name an existing COCO JSON file. Received: path={path!r}")
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _error(path, f"The annotation is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise _error(path, "A COCO file must hold a JSON object with 'images' and 'annotations'.")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise _error(path, f"A COCO detection file must have an {key!r} list.")
    cats: dict[Any, str] = {}
    for c in data["categories"]:
        try:
            cats[c["id"]] = str(c["name"])
        except (KeyError, TypeError):
            raise _error(path, f"Every category needs 'id' and 'name'; got {c!r}.") from None
    allowed = None if classes is None else set(classes)
    base = os.fspath(image_dir) if image_dir is not None else os.path.dirname(os.path.abspath(path))
    images: dict[Any, dict] = {}
    order = []
    for im in data["images"]:
        try:
            images[im["id"]] = {"file": im["file_name"], "w": int(im["width"]), "h": int(im["height"]), "objs": [],
                                "skipped": []}  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise _error(path, f"Every image needs 'id', 'file_name', 'width', 'height'; got {im!r}.") from None
        order.append(im["id"])
    all_skipped: list[SkippedBox] = []
    for i, a in enumerate(data["annotations"]):
        where = f"annotation {i} (id {a.get('id') if isinstance(a, dict) else '?'})"
        if not isinstance(a, dict) or "image_id" not in a or "bbox" not in a or "category_id" not in a:
            raise _error(path, f"{where} needs 'image_id', 'category_id' and 'bbox'.")
        if a["image_id"] not in images:
            raise _error(path, f"{where} refers to image_id {a['image_id']!r}, which is not in 'images'.")
        if a["category_id"] not in cats:
            raise _error(path, f"{where} refers to category_id {a['category_id']!r}, which is not in 'categories'.")
        name = cats[a["category_id"]]
        if allowed is not None and name not in allowed:
            raise _error(path, f"{where} has class {name!r}, which is not one of the allowed classes {sorted(allowed)}.")
        crowd = bool(a.get("iscrowd", 0))
        if crowd and skip_crowd:
            continue
        try:
            x, y, w, h = (float(v) for v in a["bbox"])
        except (TypeError, ValueError):
            raise _error(path, f"{where}: 'bbox' must be [x, y, width, height]; got {a['bbox']!r}.") from None
        if not all(np.isfinite(v) for v in (x, y, w, h)):
            raise _error(path, f"{where}: 'bbox' must hold finite numbers; got {a['bbox']!r}.")
        entry = images[a["image_id"]]
        reason = _degenerate((x, y, x + w, y + h), entry["w"], entry["h"])
        if reason is not None:
            if strict:
                raise _error(path, f"{where} ({name!r}) has a degenerate 'bbox' {a['bbox']!r}: {reason} (need "
                             "width > 0, height > 0, inside the image; without strict such boxes are skipped).")  # fmt: skip
            skip = SkippedBox(index=i, name=name, box=(x, y, x + w, y + h), reason=reason)
            entry["skipped"].append(skip)
            all_skipped.append(skip)
            continue
        box = _clip_box((x, y, x + w, y + h), entry["w"], entry["h"], path, i)
        entry["objs"].append(ObjectAnnotation(name=name, box=box, difficult=crowd))
    _warn_skipped(path, all_skipped)
    return [
        ImageAnnotation(
            image_path=os.path.join(base, images[k]["file"]),
            width=images[k]["w"],
            height=images[k]["h"],
            depth=3,
            objects=tuple(images[k]["objs"]),
            source=path,
            skipped=tuple(images[k]["skipped"]),
        )
        for k in order
    ]
