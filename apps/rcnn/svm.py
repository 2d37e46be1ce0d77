"""Per-class linear SVMs on region features, trained with hard negative mining.

R-CNN (Girshick et al. 2014, section 2.3 and appendix B) scores regions with one linear
SVM per class on the CNN features: the ground-truth boxes of the class are the positives,
proposals with IoU < 0.3 with every box of the class are the negatives (the regions in
between are ignored), and since the negatives do not fit in memory the SVM is trained
with the standard hard negative mining of Felzenszwalb et al. / Sung & Poggio: train on
a subset, score all negatives, add those inside the margin (the false positives, score >
-1), retrain. Features are scaled so their average L2 norm is 20 (the released R-CNN code),
and C = 0.001 with positives weighted 2 (the same code).

The solver is scikit-learn's `LinearSVC` (liblinear).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["SVMResult", "feature_scale", "train_class_svm", "train_svms"]


@dataclasses.dataclass
class SVMResult:
    """The trained SVMs.

    Attributes:
        weights: ``(num_classes, d)`` weight vectors.
        biases: ``(num_classes,)`` biases.
        false_positives: per class, after each training round, how many negatives of the
            whole pool still score above 0 (hard negative mining should shrink it).
        negatives_used: per class, the size of the negative set of each round.
    """

    weights: np.ndarray
    biases: np.ndarray
    false_positives: list[list[int]]
    negatives_used: list[list[int]]

    def scores(self, features: np.ndarray) -> np.ndarray:
        """``(n, num_classes)`` SVM scores of (already scaled) features."""
        return features @ self.weights.T + self.biases


def feature_scale(features: np.ndarray, target_norm: float = 20.0) -> float:
    """The factor that makes the mean L2 norm of ``features`` equal ``target_norm``."""
    norms = np.linalg.norm(features, axis=1)
    mean = float(norms.mean()) if len(norms) else 0.0
    return target_norm / mean if mean > 0 else 1.0


def train_class_svm(
    positives: np.ndarray,
    negatives: np.ndarray,
    *,
    C: float = 1e-3,
    positive_weight: float = 2.0,
    rounds: int = 3,
    initial_negatives: int = 2000,
    max_new_per_round: int = 5000,
    seed: int = 0,
) -> tuple[np.ndarray, float, list[int], list[int]]:
    """One class's SVM with hard negative mining.

    Args:
        positives: ``(p, d)`` positive features.
        negatives: ``(q, d)`` the whole negative pool.
        C: SVM regularisation (liblinear's C).
        positive_weight: class weight of the positives.
        rounds: mining rounds after the first training (0: no mining, a random subset only).
        initial_negatives: size of the random first negative set.
        max_new_per_round: cap on hard negatives added per round.
        seed: random seed of the first subset.

    Returns:
        ``(w, b, false_positives_per_round, negatives_used_per_round)``.
    """
    from sklearn.svm import LinearSVC

    if len(positives) == 0:
        raise ValueError("An SVM needs at least one positive (ground-truth) feature; the class has none.")
    if len(negatives) == 0:
        raise ValueError("An SVM needs negative features (IoU < 0.3); the pool is empty.")
    rng = np.random.default_rng(seed)
    in_set = np.zeros(len(negatives), dtype=bool)
    in_set[rng.permutation(len(negatives))[: min(initial_negatives, len(negatives))]] = True
    fps, used = [], []
    w, b = None, 0.0
    for r in range(rounds + 1):
        x = np.concatenate([positives, negatives[in_set]])
        y = np.concatenate([np.ones(len(positives)), np.zeros(int(in_set.sum()))])
        svm = LinearSVC(C=C, class_weight={1: positive_weight, 0: 1.0}, loss="hinge", dual=True,
                        intercept_scaling=10.0, max_iter=20000, random_state=seed)  # fmt: skip
        svm.fit(x, y)
        w, b = svm.coef_[0].astype(np.float32), float(svm.intercept_[0])
        scores = negatives @ w + b
        fps.append(int((scores > 0).sum()))
        used.append(int(in_set.sum()))
        if r == rounds:
            break
        hard = np.flatnonzero((scores > -1.0) & ~in_set)
        if len(hard) == 0:
            break
        hard = hard[np.argsort(-scores[hard])][:max_new_per_round]
        in_set[hard] = True
    return w, b, fps, used


def train_svms(
    features: np.ndarray,
    gt_class: np.ndarray,
    overlaps: np.ndarray,
    *,
    negative_iou: float = 0.3,
    seed: int = 0,
    **svm_options,
) -> SVMResult:
    """Train one SVM per class.

    Args:
        features: ``(n, d)`` scaled features of all training regions.
        gt_class: ``(n,)`` class index of ground-truth regions, -1 for proposals.
        overlaps: ``(n, num_classes)`` each region's max IoU with the boxes of each class.
        negative_iou: regions below this IoU with every box of the class are negatives.
        seed: class ``c``'s SVM gets ``seed + c``.
        **svm_options: the other keyword arguments of `train_class_svm` (``C``,
            ``positive_weight``, ``rounds``, ...), the same for every class.

    Returns:
        An `SVMResult`.
    """
    num_classes = overlaps.shape[1]
    weights = np.zeros((num_classes, features.shape[1]), dtype=np.float32)
    biases = np.zeros(num_classes, dtype=np.float32)
    fps, used = [], []
    for c in range(num_classes):
        pos = features[gt_class == c]
        neg = features[overlaps[:, c] < negative_iou]
        w, b, f, u = train_class_svm(pos, neg, seed=seed + c, **svm_options)
        weights[c], biases[c] = w, b
        fps.append(f)
        used.append(u)
    return SVMResult(weights=weights, biases=biases, false_positives=fps, negatives_used=used)
