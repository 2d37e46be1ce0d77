"""PASCAL VOC detection evaluation: AP at IoU 0.5, PR curves, pictures of detections.

The protocol of the VOC devkit (Everingham et al. 2010, section 4.2): per class, all
detections of the test set are sorted by score; each is a true positive if it overlaps a
not-yet-matched ground-truth box of its class with IoU >= 0.5 (greedy, in score order),
else a false positive (duplicates included); ground-truth boxes flagged "difficult" are
neither counted as positives nor penalised when matched. Average precision is either

* the VOC2007 11-point interpolated AP: the mean over recall r in {0, 0.1, ..., 1} of the
  maximum precision at recall >= r, or
* the all-point AP (VOC2010 and later): the area under the precision envelope.

The mean over classes is the mAP.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from apps.rcnn.boxes import iou

__all__ = ["Detections", "ClassResult", "voc_ap", "evaluate_detections", "plot_pr_curves", "draw_detections"]


@dataclasses.dataclass
class Detections:
    """Detections of one image: ``boxes (k, 4)`` xyxy, ``scores (k,)``, ``labels (k,)`` class indices."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


@dataclasses.dataclass
class ClassResult:
    """Evaluation of one class: APs, the PR curve, counts."""

    name: str
    ap_11point: float
    ap_all_point: float
    precision: np.ndarray
    recall: np.ndarray
    num_positives: int
    num_detections: int


def voc_ap(recall: np.ndarray, precision: np.ndarray, *, use_07_metric: bool = False) -> float:
    """Average precision of a PR curve, as the VOC devkit computes it.

    Args:
        recall: cumulative recall, increasing, one entry per ranked detection.
        precision: the matching cumulative precision.
        use_07_metric: True for VOC2007's 11-point interpolation, False for all-point.

    Returns:
        AP in [0, 1].

    Example:
        >>> voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3]))  # TP, FP, TP over 2 boxes
        0.8333333333333333
    """
    recall = np.asarray(recall, dtype=np.float64)
    precision = np.asarray(precision, dtype=np.float64)
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = precision[recall >= t - 1e-12].max() if np.any(recall >= t - 1e-12) else 0.0
            ap += p / 11.0
        return float(ap)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def evaluate_detections(
    detections: Sequence[Detections],
    gt_boxes: Sequence[np.ndarray],
    gt_labels: Sequence[np.ndarray],
    classes: Sequence[str],
    *,
    gt_difficult: Sequence[np.ndarray] | None = None,
    iou_threshold: float = 0.5,
) -> dict:
    """VOC evaluation of a test set.

    Args:
        detections: one `Detections` per image.
        gt_boxes: per image, ``(m, 4)`` ground-truth boxes.
        gt_labels: per image, ``(m,)`` class indices.
        classes: class names (index -> name).
        gt_difficult: per image, ``(m,)`` difficult flags (None: none difficult).
        iou_threshold: the match threshold (VOC: 0.5).

    Returns:
        ``{"classes": [ClassResult, ...], "map_11point": float, "map_all_point": float}``;
        mAP averages the classes that have ground truth.
    """
    if not (len(detections) == len(gt_boxes) == len(gt_labels)):
        raise ValueError(
            "`detections`, `gt_boxes` and `gt_labels` must have one entry per image. "
            f"Received: len(detections)={len(detections)}, len(gt_boxes)={len(gt_boxes)}"
        )
    if gt_difficult is None:
        gt_difficult = [np.zeros(len(b), dtype=bool) for b in gt_boxes]
    results = []
    for c, name in enumerate(classes):
        scores, tp = [], []
        npos = 0
        for det, boxes, labels, diff in zip(detections, gt_boxes, gt_labels, gt_difficult):
            boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
            gmask = np.asarray(labels) == c
            g, gd = boxes[gmask], np.asarray(diff, bool)[gmask]
            npos += int((~gd).sum())
            dmask = np.asarray(det.labels) == c
            if not dmask.any():
                continue
            db, ds = np.asarray(det.boxes)[dmask], np.asarray(det.scores)[dmask]
            order = np.argsort(-ds, kind="stable")
            db, ds = db[order], ds[order]
            ov = iou(db, g)
            matched = np.zeros(len(g), dtype=bool)
            for k in range(len(db)):
                scores.append(ds[k])
                if len(g) == 0:
                    tp.append(0)
                    continue
                j = int(np.argmax(ov[k]))
                if ov[k, j] >= iou_threshold:
                    if gd[j]:
                        tp.append(-1)  # matched a difficult box: ignored
                    elif not matched[j]:
                        matched[j] = True
                        tp.append(1)
                    else:
                        tp.append(0)  # duplicate detection
                else:
                    tp.append(0)
        scores_a, tp_a = np.asarray(scores, np.float64), np.asarray(tp, np.int64)
        keep = tp_a >= 0
        scores_a, tp_a = scores_a[keep], tp_a[keep]
        order = np.argsort(-scores_a, kind="stable")
        tp_c = np.cumsum(tp_a[order] == 1)
        fp_c = np.cumsum(tp_a[order] == 0)
        recall = tp_c / max(npos, 1)
        precision = tp_c / np.maximum(tp_c + fp_c, np.finfo(np.float64).eps)
        results.append(
            ClassResult(
                name=name,
                ap_11point=voc_ap(recall, precision, use_07_metric=True) if npos else float("nan"),
                ap_all_point=voc_ap(recall, precision) if npos else float("nan"),
                precision=precision,
                recall=recall,
                num_positives=npos,
                num_detections=int(len(tp_a)),
            )
        )
    valid = [r for r in results if r.num_positives > 0]
    return {
        "classes": results,
        "map_11point": float(np.mean([r.ap_11point for r in valid])) if valid else float("nan"),
        "map_all_point": float(np.mean([r.ap_all_point for r in valid])) if valid else float("nan"),
    }


def plot_pr_curves(results: Sequence[ClassResult], path: str, *, title: str = "Precision-recall (IoU 0.5)") -> str:
    """Write the per-class precision-recall curves as a PNG (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for r in results:
        if r.num_positives == 0:
            continue
        rec = np.concatenate([[0.0], r.recall])
        prec = np.concatenate([[1.0], r.precision])
        ax.plot(rec, prec, label=f"{r.name} (AP {r.ap_all_point:.3f})")
    ax.set_xlabel("recall", fontsize=12)
    ax.set_ylabel("precision", fontsize=12)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=13)
    ax.tick_params(labelsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=11)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


_COLORS = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128)]  # fmt: skip


def draw_detections(
    image: np.ndarray,
    det: Detections,
    classes: Sequence[str],
    path: str,
    *,
    gt_boxes: np.ndarray | None = None,
    min_score: float = -np.inf,
    min_width: int = 480,
    max_boxes: int | None = None,
) -> str:
    """Write an image with labelled detection boxes (and ground truth in white) with OpenCV.

    Pictures narrower than ``min_width`` are enlarged (boxes with them) so that boxes and
    labels stay readable; a caption strip on top says how many detections are drawn and
    above which score, so a picture without detections says so.

    Args:
        image: ``(h, w, 3)`` uint8 RGB image (in the detections' coordinates).
        det: the detections.
        classes: class names.
        path: output file (PNG or JPEG).
        gt_boxes: optional ``(m, 4)`` ground-truth boxes drawn thin and white.
        min_score: only draw detections scoring above this.
        min_width: enlarge narrower pictures to this width (0: never).
        max_boxes: draw at most this many (the highest-scoring) detections (None: all).
    """
    import cv2

    factor = max(1.0, min_width / image.shape[1]) if min_width else 1.0
    canvas = np.ascontiguousarray(image[..., ::-1])
    if factor > 1:
        size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
        canvas = cv2.resize(canvas, size, interpolation=cv2.INTER_CUBIC)
    canvas = canvas.copy()
    h, w = canvas.shape[:2]
    thick = max(2, round(max(h, w) / 250))
    font = max(0.5, 0.3 * thick)
    above = [i for i in np.argsort(-np.asarray(det.scores), kind="stable") if det.scores[i] > min_score]
    keep = above if max_boxes is None else above[:max_boxes]
    if gt_boxes is not None:
        for b in np.asarray(gt_boxes, np.float64).reshape(-1, 4) * factor:
            cv2.rectangle(canvas, (int(b[0]), int(b[1])), (int(b[2]), int(b[3])), (255, 255, 255), max(1, thick // 2))
    for i in keep:
        b, s, c = det.boxes[i] * factor, det.scores[i], det.labels[i]
        color = _COLORS[int(c) % len(_COLORS)][::-1]
        p0, p1 = (int(b[0]), int(b[1])), (int(b[2]), int(b[3]))
        cv2.rectangle(canvas, p0, p1, color, thick)
        text = f"{classes[int(c)]} {s:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, max(1, thick // 2))
        x = min(max(p0[0], 0), max(0, w - tw - 4))
        y = max(p0[1], th + base + 4)
        cv2.rectangle(canvas, (x, y - th - base - 4), (x + tw + 4, y), color, -1)
        cv2.putText(canvas, text, (x + 2, y - base - 2), cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255),
                    max(1, thick // 2), cv2.LINE_AA)  # fmt: skip
    caption = f"{len(above)} detection(s)" + (f" scoring > {min_score:.2f}" if np.isfinite(min_score) else "")
    if len(keep) < len(above):
        caption = f"top {len(keep)} of " + caption
    if gt_boxes is not None:
        caption += "; truth: white"
    (cw, ch), cbase = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
    strip = np.full((ch + cbase + 12, w, 3), 32, np.uint8)
    cv2.putText(strip, caption, (6, ch + 6), cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255), 1, cv2.LINE_AA)
    canvas = np.concatenate([strip, canvas])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp{os.path.splitext(path)[1]}"
    if not cv2.imwrite(tmp, canvas):
        raise OSError(f"Could not write the picture {path!r}.")
    os.replace(tmp, path)
    return path
