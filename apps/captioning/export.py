"""Export a captioner as a SavedModel for TensorFlow Serving (TensorFlow only).

The serving graph does everything a client would otherwise do in Python: resize the uint8
image to the encoder's input size (bilinear), run the encoder, decode greedily inside a
``tf.while_loop`` of ``max_length`` steps (stopping words after ``<end>``), and join the words
with the vocabulary held as a constant in the graph. Signature ``serving_default``:

* input ``images``: ``uint8 [batch, height, width, 3]`` (any size; resized in-graph);
* outputs ``caption``: ``string [batch]``, and ``token_ids``: ``int32 [batch, max_length]``
  (the produced ids, ``<end>`` = 3 and then padding 0).

The version directory is written by `kerasnets.serving.versions.write_version`, the
same atomic versioned write as the classifier export: a hidden temporary directory inside the
base directory, renamed into place; concurrent exports get distinct versions, an existing
version is never overwritten, and the temporary directories of killed exports are removed by
the next export.

Example:
    >>> from apps.captioning.export import export_captioner  # doctest: +SKIP
    >>> path = export_captioner(captioner, "/tmp/serving/captioner")  # doctest: +SKIP
    >>> import tensorflow as tf  # doctest: +SKIP
    >>> tf.saved_model.load(path).signatures["serving_default"](images=img)["caption"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os

import numpy as np

from apps.captioning.text import END_ID, PAD_ID, START_ID
from kerasnets.checks import check_positive_int

__all__ = ["export_captioner", "SIGNATURE"]

SIGNATURE = "serving_default"


def _serving_fn(captioner, max_length):
    import tensorflow as tf

    encoder, decoder = captioner.encoder, captioner.decoder
    size = captioner.config.image_size
    vocab = tf.constant(captioner.vocab.tokens)

    def caption(images):
        x = tf.image.resize(tf.cast(images, tf.float32), (size, size), method="bilinear")
        memory, states = decoder.prepare(encoder(x, training=False))
        batch = tf.shape(images)[0]
        token = tf.fill([batch], tf.constant(START_ID, tf.int32))
        finished = tf.zeros([batch], tf.bool)
        ids = tf.TensorArray(tf.int32, size=max_length)

        def body(t, token, finished, states, ids):
            logits, states, _ = decoder.step(token, states, memory)
            token = tf.argmax(logits, axis=-1, output_type=tf.int32)
            # As in greedy_decode: the last step may only end the caption.
            token = tf.where(tf.equal(t, max_length - 1), tf.constant(END_ID, tf.int32), token)
            token = tf.where(finished, tf.constant(PAD_ID, tf.int32), token)
            ids = ids.write(t, token)
            return t + 1, token, finished | tf.equal(token, END_ID), states, ids

        _, _, _, _, ids = tf.while_loop(
            lambda t, token, finished, states, ids: tf.logical_and(t < max_length, tf.logical_not(tf.reduce_all(finished))),
            body,
            (tf.constant(0), token, finished, list(states), ids),
            maximum_iterations=max_length,
        )
        steps = ids.size()
        ids = tf.transpose(ids.stack())  # (batch, steps)
        ids = tf.pad(ids, [[0, 0], [0, max_length - steps]])
        ids = tf.ensure_shape(ids, [None, max_length])
        keep = tf.logical_and(
            tf.equal(tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=1), 0), tf.not_equal(ids, PAD_ID)
        )
        words = tf.gather(vocab, tf.ragged.boolean_mask(ids, keep))
        return {"caption": tf.strings.reduce_join(words, axis=1, separator=" "), "token_ids": ids}

    return caption


def export_captioner(captioner, base_dir, version: int | None = None, *, max_length: int | None = None) -> str:
    """Write ``base_dir/<version>``: a SavedModel captioning uint8 images with greedy decoding.

    Args:
        captioner: a `Captioner` (TensorFlow backend).
        base_dir: TF Serving base directory (created if missing).
        version: version number; default: the next free one.
        max_length: maximum caption length in words; default: the captioner's.

    Returns:
        The path of the version directory.

    Raises:
        kerasnets.serving.VersionExistsError: ``version`` already exists (a FileExistsError).
        kerasnets.serving.ExportError: the base directory cannot be written, naming the path.
        ValueError: a non-TensorFlow Keras backend, or bad arguments.
    """
    import keras
    import tensorflow as tf

    from kerasnets.serving.versions import write_version

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "SavedModel export needs the TensorFlow backend (KERAS_BACKEND=tensorflow). "
            f"Received: backend={keras.backend.backend()!r}"
        )
    # Greedy decoding produces up to max_length words, then <end>: max_length + 1 steps.
    words = check_positive_int("max_length", captioner.config.max_length if max_length is None else max_length)
    steps = words + 1

    def write(tmp: str) -> None:
        archive = keras.export.ExportArchive()
        archive.track(captioner.encoder)
        archive.track(captioner.decoder)
        archive.add_endpoint(
            SIGNATURE,
            _serving_fn(captioner, steps),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")],
        )
        archive.write_out(tmp, verbose=False)
        extra = os.path.join(tmp, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        with open(os.path.join(extra, "captioner.json"), "w") as f:
            json.dump(
                {
                    "config": captioner.config.to_json(),
                    "max_length": words,
                    "signature": {"inputs": {"images": "uint8 [batch, h, w, 3]"}, "outputs": ["caption", "token_ids"]},
                },
                f,
                indent=2,
            )

    return write_version(base_dir, write, version)


def caption_with_saved_model(path: str, images) -> list[str]:
    """Caption uint8 images with an exported SavedModel (only TensorFlow is used)."""
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    out = loaded.signatures[SIGNATURE](images=tf.constant(np.asarray(images, np.uint8)))
    return [c.decode("utf-8") for c in out["caption"].numpy()]
