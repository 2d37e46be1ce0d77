"""Class-specific bounding-box regression (Girshick et al. 2014, section 3.4 and appendix C).

For each class, a ridge regressor maps a region's features to the R-CNN targets
``t = (t_x, t_y, t_w, t_h)`` (see `apps.rcnn.boxes.encode_deltas`) that move the
proposal onto the ground-truth box it overlaps most; it is trained only on proposals with
IoU >= 0.6 to their box (the paper's threshold) with a strong ridge penalty (lambda =
1000). The paper regresses from pool5 features; here the same region features as the
SVMs are used (fc7 of the fine-tuned network), which the released Fast R-CNN follow-up
also does. The solver is scikit-learn's `Ridge`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from apps.rcnn.boxes import decode_deltas, encode_deltas

__all__ = ["BoxRegressor", "train_box_regressors"]


@dataclasses.dataclass
class BoxRegressor:
    """Per-class linear regressors: ``deltas = features @ coef[c].T + intercept[c]``.

    Attributes:
        coef: ``(num_classes, 4, d)``.
        intercept: ``(num_classes, 4)``.
        trained: ``(num_classes,)`` True where the class had training regions (others
            keep zero weights, i.e. leave boxes unchanged).
    """

    coef: np.ndarray
    intercept: np.ndarray
    trained: np.ndarray

    def refine(self, boxes: np.ndarray, features: np.ndarray, class_index: int) -> np.ndarray:
        """Regressed boxes of class ``class_index`` for proposals ``boxes`` with ``features``."""
        deltas = features @ self.coef[class_index].T + self.intercept[class_index]
        return decode_deltas(boxes, deltas)


def train_box_regressors(
    features: np.ndarray,
    boxes: np.ndarray,
    target_boxes: np.ndarray,
    target_class: np.ndarray,
    target_iou: np.ndarray,
    num_classes: int,
    *,
    alpha: float = 1000.0,
    min_iou: float = 0.6,
) -> BoxRegressor:
    """Fit one ridge regressor per class.

    Args:
        features: ``(n, d)`` scaled region features.
        boxes: ``(n, 4)`` the regions (proposals).
        target_boxes: ``(n, 4)`` each region's best-overlapping ground-truth box.
        target_class: ``(n,)`` that box's class.
        target_iou: ``(n,)`` the IoU with it.
        num_classes: N.
        alpha: ridge penalty (the paper's lambda = 1000).
        min_iou: regions below this IoU are not used (the paper: 0.6).

    Returns:
        A `BoxRegressor`.
    """
    from sklearn.linear_model import Ridge

    d = features.shape[1]
    coef = np.zeros((num_classes, 4, d), dtype=np.float32)
    intercept = np.zeros((num_classes, 4), dtype=np.float32)
    trained = np.zeros(num_classes, dtype=bool)
    for c in range(num_classes):
        sel = (target_class == c) & (target_iou >= min_iou)
        if sel.sum() < 2:
            continue
        targets = encode_deltas(boxes[sel], target_boxes[sel])
        model = Ridge(alpha=alpha).fit(features[sel], targets)
        coef[c], intercept[c], trained[c] = model.coef_, model.intercept_, True
    return BoxRegressor(coef=coef, intercept=intercept, trained=trained)
