"""Image loading and R-CNN region warping (Girshick et al. 2014, section 2.1 and appendix A).

Every proposal, whatever its size or aspect ratio, is warped to the CNN's square input.
Before warping, the box is dilated so that the warped frame holds ``p`` pixels of image
context around the original box (the paper's best variant: p = 16 at 227 x 227). Pixels of
the dilated box outside the image are filled with the image's mean colour (the paper
fills with the mean, which is zero after mean subtraction). The warp is one affine map per
box, done by ``cv2.warpAffine`` (bilinear), so only the output pixels are computed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_image", "context_padding_for", "warp_regions", "jitter_boxes"]


def load_image(path: str, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """Read an image as RGB uint8 at R-CNN's working scale: its longer side at most ``max_side``.

    `kerasnets.data.images.load_image` (OpenCV's decoder, EXIF orientation applied) and
    `kerasnets.data.images.shrink_to_max_side` (area interpolation).

    Args:
        path: an image file (grey images become 3-channel).
        max_side: when given and the image is larger, it is shrunk to this longer side.

    Returns:
        ``(image, scale)``: the ``(h, w, 3)`` RGB array and the factor applied to the
        original coordinates (1.0 when not resized).

    Raises:
        FileNotFoundError: the file does not exist.
        kerasnets.data.images.ImageFileError: (a ``ValueError``) the file is not a readable image.
    """
    from kerasnets.data import images

    return images.shrink_to_max_side(images.load_image(path), max_side)


def context_padding_for(input_size: int, padding: float | None = None) -> float:
    """The context padding in warped-frame pixels: ``padding``, or the paper's 16/227 of the input."""
    if padding is None:
        return 16.0 * input_size / 227.0
    return float(padding)


def warp_regions(
    image: np.ndarray,
    boxes: np.ndarray,
    size: int,
    *,
    padding: float = 16.0,
    fill: np.ndarray | None = None,
    flip: np.ndarray | None = None,
) -> np.ndarray:
    """Warp boxes of ``image`` to ``size x size`` patches with ``padding`` pixels of context.

    The box is dilated by ``w * padding / (size - 2 * padding)`` on the left and right (and
    likewise vertically), so that after the anisotropic warp the original box spans
    ``size - 2 * padding`` pixels, framed by ``padding`` pixels of context on each side.

    Args:
        image: ``(h, w, 3)`` uint8 RGB image.
        boxes: ``(n, 4)`` xyxy boxes in the image's pixel coordinates.
        size: the CNN input side.
        padding: context pixels in the warped frame (0: tight warp).
        fill: colour for pixels outside the image (default: the image's mean colour).
        flip: optional ``(n,)`` booleans; True mirrors that patch horizontally.

    Returns:
        ``(n, size, size, 3)`` uint8 patches.

    Example:
        >>> img = np.zeros((100, 100, 3), np.uint8); img[20:60, 30:50] = 255
        >>> p = warp_regions(img, np.array([[30, 20, 50, 60.]]), 32, padding=0)
        >>> int(p.min()), p.shape
        (255, (1, 32, 32, 3))
    """
    import cv2

    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if size <= 2 * padding:
        raise ValueError(f"`padding` must be less than half the input size {size}. Received: padding={padding!r}")
    if fill is None:
        fill = image.reshape(-1, 3).mean(axis=0)
    border = tuple(float(c) for c in np.asarray(fill).reshape(3))
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    inner = size - 2.0 * padding
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        sx, sy = inner / bw, inner / bh
        # Map pixel centres: image (x0 - padding/sx) -> 0, i.e. out = s * (in - x0) + padding.
        tx, ty = padding - sx * x0, padding - sy * y0
        if flip is not None and flip[i]:
            matrix = np.array([[-sx, 0.0, size - 1.0 - tx], [0.0, sy, ty]])
        else:
            matrix = np.array([[sx, 0.0, tx], [0.0, sy, ty]])
        out[i] = cv2.warpAffine(
            image,
            matrix,
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
    return out


def jitter_boxes(boxes: np.ndarray, rng: np.random.Generator, *, shift: float = 0.1, scale: float = 0.1) -> np.ndarray:
    """Randomly shift (by up to ``shift`` of the box side) and rescale (by ``1 +- scale``) boxes."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = boxes[:, 0] + w / 2, boxes[:, 1] + h / 2
    n = len(boxes)
    cx = cx + rng.uniform(-shift, shift, n) * w
    cy = cy + rng.uniform(-shift, shift, n) * h
    w = w * rng.uniform(1 - scale, 1 + scale, n)
    h = h * rng.uniform(1 - scale, 1 + scale, n)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
