"""Caption data for the app: a caption file with its images, or generated scenes, split by image.

`load_splits` returns ``(train, val, test)`` `Split` objects; each knows its
image ids, reference captions and how to load its images at the encoder's size, so the CLI,
tests and benchmark treat Flickr8k, COCO and synthetic scenes alike.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from kerasnets.data.captions import CaptionDataset, load_captions, split_by_image
from kerasnets.data.images import load_image, resize_image
from kerasnets.data.synthetic_captions import make_captioned_scenes

__all__ = ["Split", "load_splits", "parse_split", "SYNTHETIC"]

SYNTHETIC = "synthetic"


@dataclasses.dataclass
class Split:
    """One part of a split: image ids, their reference captions, and an image loader."""

    name: str
    dataset: CaptionDataset
    arrays: dict | None = None  # id -> uint8 image (generated scenes)

    @property
    def ids(self) -> list:
        return self.dataset.images

    @property
    def references(self) -> list:
        return [self.dataset.captions[i] for i in self.ids]

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, k: int, size: int | None = None) -> np.ndarray:
        """Image ``k`` as uint8 RGB (resized to ``size`` if given)."""
        image_id = self.ids[k]
        if self.arrays is not None:
            img = self.arrays[image_id]
            return img if size is None else resize_image(img, size)
        return load_image(self.dataset.path(image_id), size=size)

    def loader(self, size: int):
        """``load_batch(start, stop)`` for `apps.captioning.model.compute_features`."""

        def load_batch(start, stop):
            return np.stack([self.image(k, size) for k in range(start, stop)])

        return load_batch

    def caption_pairs(self):
        """``(image_index, caption)`` lists over all captions of the split."""
        index, captions = [], []
        for k, image_id in enumerate(self.ids):
            for c in self.dataset.captions[image_id]:
                index.append(k)
                captions.append(c)
        return np.array(index, np.int64), captions

    def key(self) -> str:
        """A short hash of the source and image ids (part of the feature-cache file name)."""
        digest = hashlib.sha1(str(self.dataset.source).encode())
        for i in self.ids:
            digest.update(i.encode() + b"\0")
        return digest.hexdigest()[:12]


def parse_split(text) -> tuple:
    """``"800,100,100"`` -> counts; ``"0.8,0.1,0.1"`` -> fractions.

    Raises:
        ValueError: not three comma-separated numbers.
    """
    if isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(float(p) if "." in str(p) else int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or any(v < 0 for v in values):
        raise ValueError(
            "`split` must be three image counts or fractions for train,val,test, e.g. 800,100,100 or "
            f"0.8,0.1,0.1. Received: split={text!r}"
        )
    if any(isinstance(v, float) for v in values):
        values = tuple(float(v) for v in values)
    return values


def load_splits(data: str, *, images: str | None = None, format: str = "auto", split=(0.8, 0.1, 0.1),
                split_seed: int = 0, scenes: int = 1000, scene_size: int = 32, scene_seed: int = 0):
    """Load ``data`` (a caption file, or ``"synthetic"``) and split it by image.

    Args:
        data: caption file path (Flickr8k tokens, ``image,caption`` CSV or COCO JSON), or
            ``"synthetic"`` for generated captioned scenes.
        images: image folder (default: ``images/`` next to the caption file).
        format: caption file format (``"auto"``, ``"flickr8k"``, ``"csv"``, ``"coco"``).
        split: train/val/test image counts or fractions (see `split_by_image`).
        split_seed: seed of the split shuffle.
        scenes, scene_size, scene_seed: synthetic scene count, image size and seed.

    Returns:
        ``(train, val, test)`` `Split` objects.
    """
    split = parse_split(split)
    arrays = None
    if data == SYNTHETIC:
        s = make_captioned_scenes(scenes, image_size=scene_size, seed=scene_seed)
        dataset = CaptionDataset(
            list(s.ids), {i: list(c) for i, c in zip(s.ids, s.captions)}, None,
            f"synthetic(n={scenes}, size={scene_size}, seed={scene_seed})",
        )
        arrays = dict(zip(s.ids, s.images))
    else:
        dataset = load_captions(data, image_dir=images, format=format)
        if dataset.image_dir is None:
            raise ValueError(
                "No image folder found next to the caption file; pass --images DIR. "
                f"Received: images={images!r}"
            )
    parts = split_by_image(dataset, split, seed=split_seed)
    return tuple(Split(name, part, arrays) for name, part in zip(("train", "val", "test"), parts))
