"""Box arithmetic for R-CNN, on top of ``keras.utils.bounding_boxes``.

IoU and the box-regression parameterisation come from Keras's bounding-box utilities
(``compute_iou`` and ``encode_box_to_deltas``/``decode_deltas_to_boxes`` with the
``center_xywh`` encoding, which is exactly R-CNN's (Girshick et al. 2014, appendix C)
``t_x = (G_x - P_x) / P_w``, ``t_y = (G_y - P_y) / P_h``, ``t_w = log(G_w / P_w)``,
``t_h = log(G_h / P_h)``). This module converts to and from numpy, and adds the image
helpers (scaling, clipping, small-box filtering) the pipeline needs.

Boxes are float ``(xmin, ymin, xmax, ymax)`` in pixels ("xyxy"), areas continuous (no
``+1``; VOC's devkit adds 1 to widths, which changes IoU by < 1% for boxes over 50 px).
"""

from __future__ import annotations

import numpy as np

__all__ = ["iou", "encode_deltas", "decode_deltas", "clip_boxes", "filter_small", "unique_boxes"]


def _to_numpy(x) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))


def iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """Pairwise intersection-over-union, ``(n, m)``, via ``keras.utils.bounding_boxes.compute_iou``.

    Args:
        boxes1: ``(n, 4)`` xyxy boxes.
        boxes2: ``(m, 4)`` xyxy boxes.

    Returns:
        ``(n, m)`` float32 IoU matrix (zeros when either side is empty).

    Example:
        >>> iou(np.array([[0, 0, 10, 20.]]), np.array([[2, 4, 12, 44.]])).round(4)
        array([[0.2712]], dtype=float32)
    """
    boxes1 = np.asarray(boxes1, dtype=np.float32).reshape(-1, 4)
    boxes2 = np.asarray(boxes2, dtype=np.float32).reshape(-1, 4)
    if len(boxes1) == 0 or len(boxes2) == 0:
        return np.zeros((len(boxes1), len(boxes2)), dtype=np.float32)
    from keras.utils import bounding_boxes

    return _to_numpy(bounding_boxes.compute_iou(boxes1, boxes2, "xyxy")).astype(np.float32)


def encode_deltas(proposals: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """R-CNN regression targets ``(t_x, t_y, t_w, t_h)`` of ``targets`` relative to ``proposals``."""
    from keras.utils import bounding_boxes

    proposals = np.asarray(proposals, dtype=np.float32).reshape(-1, 4)
    targets = np.asarray(targets, dtype=np.float32).reshape(-1, 4)
    return _to_numpy(
        bounding_boxes.encode_box_to_deltas(proposals, targets, "xyxy", "xyxy", encoding_format="center_xywh")
    ).astype(np.float32)


def decode_deltas(proposals: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Apply R-CNN regression outputs ``(t_x, t_y, t_w, t_h)`` to ``proposals`` (inverse of `encode_deltas`)."""
    from keras.utils import bounding_boxes

    proposals = np.asarray(proposals, dtype=np.float32).reshape(-1, 4)
    deltas = np.asarray(deltas, dtype=np.float32).reshape(-1, 4)
    if len(proposals) == 0:
        return proposals
    return _to_numpy(
        bounding_boxes.decode_deltas_to_boxes(proposals, deltas, "xyxy", "xyxy", encoded_format="center_xywh")
    ).astype(np.float32)


def clip_boxes(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clip xyxy boxes to ``[0, width] x [0, height]``."""
    boxes = np.asarray(boxes, dtype=np.float32).copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    return boxes


def filter_small(boxes: np.ndarray, min_size: float) -> np.ndarray:
    """Keep boxes whose width and height are both at least ``min_size``."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
    return boxes[keep]


def unique_boxes(boxes: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Drop duplicate boxes (equal after rounding ``boxes * scale``), keeping the first of each."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    keys = np.round(boxes * scale).astype(np.int64)
    _, index = np.unique(keys, axis=0, return_index=True)
    return boxes[np.sort(index)]
