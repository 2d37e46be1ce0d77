"""The 1,000 ImageNet-1k class names, and ``decode_predictions`` over them.

The names ship as package data (``imagenet_classes.json``), taken from torchvision's weights
metadata (``ResNet50_Weights.IMAGENET1K_V1.meta["categories"]``; the file records the
version). Output ``i`` of every ImageNet-1k model in kerasnets' weights table is class ``i``.
"""

from __future__ import annotations

import functools
import json
import pathlib

import numpy as np

__all__ = ["imagenet_class_names", "decode_predictions"]


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1,000 class names, in output order."""
    data = json.loads((pathlib.Path(__file__).with_name("imagenet_classes.json")).read_text())
    return tuple(data["classes"])


def decode_predictions(preds, top: int = 5) -> list[list[tuple[int, str, float]]]:
    """The ``top`` classes of each row of ``preds``, best first.

    Like ``keras.applications.imagenet_utils.decode_predictions``, but with torchvision's class
    names and the class index instead of a WordNet id (kerasnets ships no WordNet ids).

    Args:
        preds: array of shape ``(batch, 1000)`` (probabilities or logits).
        top: how many classes per row, 1 to 1000.

    Returns:
        One list per row of ``(class index, class name, score)``.

    Raises:
        ValueError: ``preds`` is not ``(batch, 1000)`` or ``top`` is out of range.
    """
    preds = np.asarray(preds)
    names = imagenet_class_names()
    if preds.ndim != 2 or preds.shape[1] != len(names):
        raise ValueError(
            f"Expected predictions of shape (batch, {len(names)}) (an ImageNet-1k classifier's output). "
            f"Received: preds.shape={preds.shape}"
        )
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or not 1 <= top <= len(names):
        raise ValueError(f"Expected top to be an integer from 1 to {len(names)}. Received: top={top!r}")
    out = []
    for row in preds:
        best = np.argsort(-row, kind="stable")[:top]
        out.append([(int(i), names[i], float(row[i])) for i in best])
    return out
