"""Pictures: an image with its generated and reference captions; attention maps per word.

Both functions write a PNG with matplotlib's non-interactive Agg backend and return its path.
"""

from __future__ import annotations

import math
import os
import textwrap

import numpy as np

__all__ = ["plot_captions", "plot_attention"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_captions(image, generated: str, references, path: str, *, title: str | None = None) -> str:
    """Save ``image`` with the generated caption (bold) and the reference captions under it.

    Args:
        image: ``(h, w, 3)`` uint8 image.
        generated: the model's caption.
        references: reference captions.
        path: output PNG path.
        title: optional title (e.g. the image id).

    Returns:
        ``path``.
    """
    plt = _pyplot()
    refs = list(references)
    fig = plt.figure(figsize=(5, 5 + 0.35 * len(refs)))
    ax = fig.add_axes([0.05, 0.32, 0.9, 0.63])
    ax.imshow(np.asarray(image))
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    lines = [textwrap.fill("model: " + generated, 70)] + [textwrap.fill("ref: " + r, 70) for r in refs]
    fig.text(0.05, 0.28, lines[0], fontsize=9, fontweight="bold", va="top")
    fig.text(0.05, 0.20, "\n".join(lines[1:]), fontsize=8, va="top")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_attention(image, words, attention, grid_shape, path: str, *, columns: int = 4) -> str:
    """Save one panel per word: the image with that step's attention map laid over it.

    Args:
        image: ``(h, w, 3)`` uint8 image.
        words: the generated words (``<end>`` is appended as a last panel if ``attention``
            has one more row).
        attention: ``(steps, L)`` attention weights, ``L = grid_h * grid_w``.
        grid_shape: ``(grid_h, grid_w)`` of the encoder feature map.
        path: output PNG path.
        columns: panels per row.

    Returns:
        ``path``.

    Raises:
        ValueError: if ``attention`` does not have ``L = grid_h * grid_w`` columns.
    """
    plt = _pyplot()
    attention = np.asarray(attention)
    gh, gw = grid_shape
    if attention.ndim != 2 or attention.shape[1] != gh * gw:
        raise ValueError(
            f"`attention` must have shape (steps, {gh * gw}) for a {gh}x{gw} feature map. "
            f"Received: attention.shape={attention.shape}"
        )
    words = list(words)
    if len(attention) == len(words) + 1:
        words = words + ["<end>"]
    n = min(len(words), len(attention))
    rows = max(1, math.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.6 * rows), squeeze=False)
    image = np.asarray(image)
    h, w = image.shape[:2]
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(image)
        # Nearest-neighbour cells stretched over the image (extent), as in Xu et al.'s figures
        # but without their Gaussian upsampling.
        ax.imshow(attention[k].reshape(gh, gw), cmap="gray", alpha=0.6, extent=(0, w, h, 0), interpolation="bilinear")
        ax.set_title(words[k], fontsize=10)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
