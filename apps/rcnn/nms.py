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
    """NMS run independently for each class, all classes in one ``tf.image.combined_non_max_suppression`` call.

    The result equals running `nms` once per class (tested in
    ``tests/apps/test_rcnn_parts.py``), without a Python loop over the classes.

    Args:
        boxes: ``(n, 4)`` boxes shared by all classes, or ``(n, num_classes, 4)`` class-specific
            (regressed) boxes.
        scores: ``(n, num_classes)``.
        iou_threshold, score_threshold, max_per_class: see `nms`.

    Returns:
        ``(boxes (k, 4), scores (k,), class_index (k,))``, sorted by descending score.
    """
    import tensorflow as tf

    scores = np.asarray(scores, dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float32)
    if scores.ndim != 2:
        raise ValueError(f"`scores` must be (n, num_classes). Received: scores.shape={scores.shape}")
    n, num_classes = scores.shape
    if n == 0 or num_classes == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    per_class = boxes.reshape(n, num_classes, 4) if boxes.ndim == 3 else boxes.reshape(n, 1, 4)
    # The kernel mis-sorts negative scores (SVM scores are mostly negative: its output then holds
    # padding rows of score -1 among the valid ones, TF 2.21), so it is given the scores' dense ranks
    # (1, 2, ...: exact in float32 up to 2**24, order and ties kept) and the threshold as a rank;
    # the exact scores are looked up from the ranks afterwards.
    values, inverse = np.unique(scores, return_inverse=True)
    ranks = (inverse.reshape(scores.shape) + 1).astype(np.float32)
    rank_threshold = float(np.searchsorted(values, score_threshold, side="right")) + 0.5  # keep score > threshold
    keep = min(int(max_per_class), n)
    b, s, c, valid = tf.image.combined_non_max_suppression(
        per_class[None][..., [1, 0, 3, 2]],  # TF's [y1, x1, y2, x2]
        ranks[None],
        max_output_size_per_class=keep,
        max_total_size=keep * num_classes,
        iou_threshold=float(iou_threshold),
        score_threshold=rank_threshold,
        pad_per_class=False,
        clip_boxes=False,
    )
    k = int(valid[0])
    out_b = b.numpy()[0, :k][:, [1, 0, 3, 2]]
    out_s = values[np.rint(s.numpy()[0, :k]).astype(np.int64) - 1].astype(np.float32)
    out_c = c.numpy()[0, :k].astype(np.int64)
    order = np.lexsort((out_c, -out_s))  # by score, ties by class (the per-class loop's order)
    return out_b[order], out_s[order], out_c[order]
