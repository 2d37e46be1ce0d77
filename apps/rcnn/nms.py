"""Per-class non-maximum suppression with TensorFlow's ``tf.image.non_max_suppression``.

TensorFlow-only (kept in its own module, as the project's rule for TF ops): keras-cv's
NMS layer would need ``pip install keras-cv``, which pulls keras-core,
tensorflow-datasets and pyarrow into a Keras 3.15 environment, so the TF kernel is used
directly. R-CNN applies greedy NMS independently per class, rejecting a region that has
IoU above a threshold (0.3 in the released code) with a higher-scoring selected region.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nms", "per_class_nms"]


def nms(boxes: np.ndarray, scores: np.ndarray, *, iou_threshold: float = 0.3, max_output: int = 100,
        score_threshold: float = -np.inf) -> np.ndarray:  # fmt: skip
    """Indices of the boxes kept by greedy NMS, highest score first.

    Args:
        boxes: ``(n, 4)`` xyxy boxes.
        scores: ``(n,)`` scores.
        iou_threshold: suppress boxes overlapping a kept one by more than this.
        max_output: keep at most this many.
        score_threshold: drop boxes scoring at or below this first.

    Returns:
        ``(k,)`` int indices into ``boxes``.

    Example:
        >>> nms(np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30.]]), np.array([0.9, 0.8, 0.7]))
        array([0, 2])
    """
    import tensorflow as tf

    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    # TF's op takes [y1, x1, y2, x2]; any corner order works, so swap for clarity.
    keep = tf.image.non_max_suppression(
        boxes[:, [1, 0, 3, 2]],
        scores,
        max_output_size=int(max_output),
        iou_threshold=float(iou_threshold),
        score_threshold=float(score_threshold) if np.isfinite(score_threshold) else float("-inf"),
    )
    return keep.numpy().astype(np.int64)


def per_class_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    *,
    iou_threshold: float = 0.3,
    score_threshold: float = -np.inf,
    max_per_class: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NMS run independently for each class.

    Args:
        boxes: ``(n, 4)`` boxes shared by all classes, or ``(n, num_classes, 4)`` class-specific
            (regressed) boxes.
        scores: ``(n, num_classes)``.
        iou_threshold, score_threshold, max_per_class: see :func:`nms`.

    Returns:
        ``(boxes (k, 4), scores (k,), class_index (k,))``, sorted by descending score.
    """
    scores = np.asarray(scores, dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float32)
    out_b, out_s, out_c = [], [], []
    for c in range(scores.shape[1]):
        cb = boxes[:, c] if boxes.ndim == 3 else boxes
        keep = nms(cb, scores[:, c], iou_threshold=iou_threshold, max_output=max_per_class,
                   score_threshold=score_threshold)  # fmt: skip
        out_b.append(cb[keep])
        out_s.append(scores[keep, c])
        out_c.append(np.full(len(keep), c, dtype=np.int64))
    b, s, c = np.concatenate(out_b).reshape(-1, 4), np.concatenate(out_s), np.concatenate(out_c)
    order = np.argsort(-s, kind="stable")
    return b[order], s[order], c[order]
