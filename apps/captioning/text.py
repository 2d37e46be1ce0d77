"""Caption text <-> token ids, with Keras ``TextVectorization``.

Captions are standardised by one function, `standardize_text` (Unicode NFC, full
Unicode lower case, ASCII punctuation stripped, whitespace collapsed), on both sides: it
prepares the text handed to ``TextVectorization`` (built with ``standardize=None``) and the
reference captions BLEU is scored against (`standardize`), so "CAFÉ" is "café" in the
vocabulary and in the references alike. (``TextVectorization``'s own
``lower_and_strip_punctuation`` lower-cases ASCII letters only, which made non-ASCII captions
lose BLEU.) The vocabulary is the ``max_tokens - 4`` most frequent training words
plus four special tokens with fixed ids::

    0 ""        padding (masked out of the loss)
    1 "[UNK]"   out-of-vocabulary words
    2 "<start>" first decoder input
    3 "<end>"   last decoder target; decoding stops when it is produced

``<start>``/``<end>`` contain ``<>``, which standardisation strips from text, so no caption
word can collide with them. The vocabulary is saved as ``vocab.txt`` (one token a line, in id
order) next to the model weights.
"""

from __future__ import annotations

import os
import re
import string
import unicodedata

import numpy as np

from kerasnets.checks import check_positive_int

__all__ = ["CaptionVocabulary", "PAD", "UNK", "START", "END", "standardize", "standardize_text"]

PAD, UNK, START, END = "", "[UNK]", "<start>", "<end>"
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
_PUNCT = re.compile("[%s]" % re.escape(string.punctuation))


def standardize_text(text: str) -> str:
    """The standardised form of a caption: the one text normalisation of the app.

    Unicode NFC (a precomposed "é" and "e" + combining accent are one letter), full Unicode
    lower case (``str.lower``: "CAFÉ" -> "café"), the ASCII punctuation
    ``string.punctuation`` removed (the set TextVectorization strips), and runs of whitespace
    collapsed to one space. For ASCII text this equals TextVectorization's
    ``lower_and_strip_punctuation``.

    Example:
        >>> standardize_text("  A CAFÉ, by the sea!")
        'a café by the sea'
    """
    text = unicodedata.normalize("NFC", str(text)).lower()
    return " ".join(_PUNCT.sub("", text).split())


def standardize(text: str) -> list[str]:
    """The words of ``text`` after `standardize_text`, as the vocabulary sees them.

    Used to tokenise reference captions for BLEU the same way as training targets.
    """
    return standardize_text(text).split()


def _standardized_array(captions) -> np.ndarray:
    return np.array([standardize_text(c) for c in captions], dtype=object)


class CaptionVocabulary:
    """Maps captions to padded id sequences and ids back to words.

    Args:
        tokens: the full vocabulary in id order, starting with the four special tokens.

    Example:
        >>> vocab = CaptionVocabulary.adapt(["a red circle", "a blue square"], max_tokens=20)
        >>> vocab.decode(vocab.encode(["a red square"], max_length=5)[0][1:])
        'a red square'
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tokens[:4] != [PAD, UNK, START, END]:
            raise ValueError(
                f"A caption vocabulary must start with {[PAD, UNK, START, END]!r}. Received: tokens[:4]={tokens[:4]!r}"
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError("A caption vocabulary must not repeat tokens. Received: duplicated tokens")
        self.tokens = tokens
        import keras

        # TextVectorization reserves "" (0) and "[UNK]" (1) itself. Its input is already
        # standardised by standardize_text (the same function the BLEU references go through).
        self.vectorizer = keras.layers.TextVectorization(
            standardize=None,
            split="whitespace",
            output_mode="int",
            vocabulary=tokens[2:],
        )
        self._words = np.array(tokens, dtype=object)

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def adapt(cls, captions, *, max_tokens: int = 5000, min_count: int = 1) -> "CaptionVocabulary":
        """Build a vocabulary of the most frequent words of ``captions``.

        Args:
            captions: iterable of caption strings (training split only).
            max_tokens: vocabulary cap including the 4 special tokens (>= 5).
            min_count: drop words seen fewer times (they become ``[UNK]``).

        Returns:
            A `CaptionVocabulary`.
        """
        import keras

        max_tokens = check_positive_int("max_tokens", max_tokens, minimum=5)
        min_count = check_positive_int("min_count", min_count)
        captions = list(captions)
        if not captions:
            raise ValueError("Cannot build a vocabulary from no captions. Received: captions=[]")
        layer = keras.layers.TextVectorization(max_tokens=max_tokens - 2, standardize=None, split="whitespace")
        layer.adapt(_standardized_array(captions))
        words = [w for w in layer.get_vocabulary()[2:]]
        if min_count > 1:
            from collections import Counter

            counts = Counter(w for c in captions for w in standardize(c))
            words = [w for w in words if counts[w] >= min_count]
        return cls([PAD, UNK, START, END] + words)

    def encode(self, captions, *, max_length: int) -> np.ndarray:
        """``(n, max_length + 2)`` int32 ids: ``<start> w1 .. wk <end>`` then padding.

        Captions longer than ``max_length`` words are truncated (and still end with ``<end>``).
        """
        ids = self.vectorizer(_standardized_array(captions))
        ids = ids.numpy() if hasattr(ids, "numpy") else np.asarray(ids)
        out = np.zeros((len(ids), max_length + 2), np.int32)
        for i, row in enumerate(ids):
            words = [t for t in row if t != PAD_ID][:max_length]
            out[i, 0] = START_ID
            out[i, 1 : len(words) + 1] = words
            out[i, len(words) + 1] = END_ID
        return out

    def decode(self, ids) -> str:
        """Words of ``ids`` up to the first ``<end>``, skipping padding and ``<start>``."""
        words = []
        for t in np.asarray(ids).reshape(-1):
            t = int(t)
            if t == END_ID:
                break
            if t in (PAD_ID, START_ID):
                continue
            words.append(self.tokens[t])
        return " ".join(words)

    def save(self, path: str) -> None:
        """Write the tokens, one a line, in id order (the padding token is the empty first line)."""
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(self.tokens) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "CaptionVocabulary":
        """Read a file written by `save`."""
        with open(path, encoding="utf-8") as f:
            tokens = f.read().split("\n")
        if tokens and tokens[-1] == "":
            tokens = tokens[:-1]
        return cls(tokens)
