"""Corpus BLEU-1..4 (Papineni et al. 2002) with NLTK.

``nltk.translate.bleu_score.corpus_bleu`` pools the clipped n-gram matches and the lengths of
the whole test set before combining them (corpus-level, as the captioning papers report: the
Show and Tell / Show, Attend and Tell numbers come from corpus-level BLEU over all references
of each image), with uniform weights over n = 1..N for BLEU-N:

    BLEU-1: (1, 0, 0, 0)   BLEU-2: (1/2, 1/2, 0, 0)   BLEU-3: (1/3, 1/3, 1/3, 0)   BLEU-4: (1/4,) * 4

No smoothing is applied by default (``smoothing=None``), matching the published numbers; a
corpus where some n-gram order has no match at all then scores 0 for that BLEU-N. Pass
``smoothing="method1"`` (add epsilon to zero counts, Chen & Cherry 2014) for tiny test sets.
Hypotheses and references are tokenised the same way as training captions
(`apps.captioning.text.standardize`: the vocabulary's own standardisation, Unicode lower
case, punctuation removed).
"""

from __future__ import annotations

import warnings

from apps.captioning.text import standardize
from kerasnets.checks import check_choice

__all__ = ["corpus_bleu_scores", "BLEU_WEIGHTS"]

BLEU_WEIGHTS = {
    "bleu1": (1.0, 0.0, 0.0, 0.0),
    "bleu2": (0.5, 0.5, 0.0, 0.0),
    "bleu3": (1 / 3, 1 / 3, 1 / 3, 0.0),
    "bleu4": (0.25, 0.25, 0.25, 0.25),
}
_SMOOTHING = (None, "method1", "method2", "method3", "method4", "method5", "method7")


def corpus_bleu_scores(references, hypotheses, *, smoothing: str | None = None) -> dict:
    """Corpus BLEU-1..4.

    Args:
        references: per image, a list of reference caption strings.
        hypotheses: per image, the generated caption string.
        smoothing: None, or an NLTK ``SmoothingFunction`` method name (``"method1"``, ...).

    Returns:
        ``{"bleu1": float, "bleu2": ..., "bleu3": ..., "bleu4": ...}`` in [0, 1].

    Raises:
        ValueError: different numbers of references and hypotheses, none at all, or an image
            with no reference caption.

    Example:
        >>> corpus_bleu_scores([["a red circle above a blue square"]], ["a red circle above a blue square"])["bleu4"]
        1.0
    """
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    check_choice("smoothing", smoothing, _SMOOTHING)
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses) or not hypotheses:
        raise ValueError(
            "`references` and `hypotheses` must be non-empty and of the same length (one entry per image). "
            f"Received: len(references)={len(references)}, len(hypotheses)={len(hypotheses)}"
        )
    refs = []
    for i, rs in enumerate(references):
        if isinstance(rs, str) or not rs:
            raise ValueError(
                f"`references` must hold a non-empty list of caption strings per image. Received: references[{i}]={rs!r}"
            )
        refs.append([standardize(r) for r in rs])
    hyps = [standardize(h) for h in hypotheses]
    smooth = None if smoothing is None else getattr(SmoothingFunction(), smoothing)
    scores = {}
    with warnings.catch_warnings():
        # NLTK warns when an n-gram order has no match; the score is then 0, as documented.
        warnings.simplefilter("ignore")
        for key, weights in BLEU_WEIGHTS.items():
            scores[key] = float(corpus_bleu(refs, hyps, weights=weights, smoothing_function=smooth))
    return scores
