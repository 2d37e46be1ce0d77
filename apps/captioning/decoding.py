"""Greedy and beam-search decoding with the decoder's one-step function.

Beam search keeps the ``K`` best partial captions per image; a caption ends when it produces
``<end>`` or reaches ``max_length`` words. Finished captions are ranked by their log-probability
divided by ``length ** length_penalty`` (``length`` counts the words plus ``<end>``):
``length_penalty=0`` is the raw log-probability (which prefers short captions), 1 the mean
per-word log-probability; 0.7 is a common compromise (Wu et al. 2016 use a similar
normaliser). Search for an image stops once it has ``K`` finished captions, or at
``max_length``, where unfinished beams are ranked with the finished ones.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from apps.captioning.text import END_ID, START_ID
from kerasnets.checks import check_positive_int, check_positive_number

__all__ = ["Decoded", "greedy_decode", "beam_search"]


@dataclasses.dataclass
class Decoded:
    """Decoded captions for a batch.

    Attributes:
        tokens: per image, the word ids (without ``<start>``/``<end>``).
        scores: per image, the (length-normalised, for beam search) log-probability.
        attention: per image, ``(len(tokens) + 1, L)`` attention weights (one row per produced
            word and one for ``<end>``), or None without attention.
    """

    tokens: list
    scores: list
    attention: list | None


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    m = logits.max(axis=-1, keepdims=True)
    z = logits - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _np(x):
    return keras.ops.convert_to_numpy(x)


def greedy_decode(decoder, features, *, max_length: int = 20) -> Decoded:
    """The most likely word at each step, until ``<end>`` or ``max_length`` words.

    Args:
        decoder: a `CaptionDecoder`.
        features: ``(B, L, d)`` encoder features.
        max_length: maximum number of words.

    Returns:
        A `Decoded`.
    """
    max_length = check_positive_int("max_length", max_length)
    features = np.asarray(features, np.float32)
    batch = features.shape[0]
    memory, states = decoder.prepare(features)
    token = np.full((batch,), START_ID, np.int32)
    done = np.zeros(batch, bool)
    tokens = [[] for _ in range(batch)]
    scores = np.zeros(batch)
    alphas = [[] for _ in range(batch)]
    for _ in range(max_length + 1):
        logits, states, alpha = decoder.step(token, states, memory)
        logp = _log_softmax(_np(logits))
        if _ == max_length:  # the last step may only end the caption
            token = np.full((batch,), END_ID, np.int32)
        else:
            token = logp.argmax(-1).astype(np.int32)
        alpha = None if alpha is None else _np(alpha)
        for i in np.flatnonzero(~done):
            scores[i] += logp[i, token[i]]
            if alpha is not None:
                alphas[i].append(alpha[i])
            if token[i] == END_ID:
                done[i] = True
            else:
                tokens[i].append(int(token[i]))
        if done.all():
            break
    attention = None if not decoder.config.attention else [np.stack(a) for a in alphas]
    return Decoded(tokens=tokens, scores=list(scores), attention=attention)


def beam_search(decoder, features, *, beam_size: int = 3, max_length: int = 20, length_penalty: float = 0.7) -> Decoded:
    """Beam search with length normalisation (see the module docstring).

    Args:
        decoder: a `CaptionDecoder`.
        features: ``(B, L, d)`` encoder features.
        beam_size: beams per image (1 is greedy decoding).
        max_length: maximum number of words.
        length_penalty: exponent of the length normaliser (>= 0).

    Returns:
        A `Decoded` with the best caption per image.
    """
    k = check_positive_int("beam_size", beam_size)
    max_length = check_positive_int("max_length", max_length)
    length_penalty = check_positive_number("length_penalty", length_penalty, allow_zero=True)
    features = np.asarray(features, np.float32)
    batch = features.shape[0]
    # Every image starts with K copies of its features; only beam 0 is live at first.
    memory, states = decoder.prepare(np.repeat(features, k, axis=0))
    memory = tuple(_np(m) for m in memory)
    states = [_np(s) for s in states]
    seqs = [[[] for _ in range(k)] for _ in range(batch)]
    atts = [[[] for _ in range(k)] for _ in range(batch)]
    beam_scores = np.full((batch, k), -np.inf)
    beam_scores[:, 0] = 0.0
    token = np.full((batch * k,), START_ID, np.int32)
    finished = [[] for _ in range(batch)]  # (normalised score, raw, tokens, attention)
    active = np.ones(batch, bool)

    def norm(raw, length):
        return raw / (length**length_penalty)

    for t in range(max_length + 1):
        logits, new_states, alpha = decoder.step(token, states, memory)
        logp = _log_softmax(_np(logits)).reshape(batch, k, -1)
        new_states = [_np(s) for s in new_states]
        alpha = None if alpha is None else _np(alpha).reshape(batch, k, -1)
        vocab = logp.shape[-1]
        if t == max_length:  # only <end> is allowed now
            mask = np.full(vocab, -np.inf)
            mask[END_ID] = 0.0
            logp = logp + mask
        total = beam_scores[:, :, None] + logp  # (B, K, V)
        flat = total.reshape(batch, -1)
        order = np.argsort(-flat, axis=1)[:, : 2 * k]
        next_token = np.full((batch, k), END_ID, np.int32)
        source = np.zeros((batch, k), np.int64)
        next_scores = np.full((batch, k), -np.inf)
        next_seqs = [[[] for _ in range(k)] for _ in range(batch)]
        next_atts = [[[] for _ in range(k)] for _ in range(batch)]
        for b in range(batch):
            if not active[b]:
                continue
            slot = 0
            for idx in order[b]:
                score = flat[b, idx]
                if not np.isfinite(score):
                    break
                beam, word = divmod(int(idx), vocab)
                att = atts[b][beam] + ([alpha[b, beam]] if alpha is not None else [])
                if word == END_ID:
                    length = len(seqs[b][beam]) + 1
                    finished[b].append((norm(score, length), score, list(seqs[b][beam]), att))
                else:
                    next_token[b, slot] = word
                    source[b, slot] = beam
                    next_scores[b, slot] = score
                    next_seqs[b][slot] = seqs[b][beam] + [word]
                    next_atts[b][slot] = att
                    slot += 1
                if slot == k:
                    break
            if len(finished[b]) >= k or slot == 0:
                active[b] = False
        if not active.any():
            break
        gather = (np.arange(batch)[:, None] * k + source).reshape(-1)
        states = [s[gather] for s in new_states]
        beam_scores, seqs, atts = next_scores, next_seqs, next_atts
        token = next_token.reshape(-1)

    tokens, scores, attention = [], [], []
    for b in range(batch):
        best = max(finished[b], key=lambda item: item[0])
        tokens.append(best[2])
        scores.append(float(best[0]))
        attention.append(np.stack(best[3]) if best[3] else None)
    return Decoded(tokens=tokens, scores=scores, attention=attention if decoder.config.attention else None)
