"""The serving graph: one classifier, two TF Serving signatures.

``serving_default``
    input ``images``: ``[batch, height, width, channels]`` pixel values in
    ``[0, 255]`` (``float32`` by default, ``uint8`` with ``image_dtype="uint8"``),
    any batch and any height/width (resized in-graph, bilinear by default).
``serving_bytes``
    input ``image_bytes``: ``[batch]`` strings, each an encoded JPEG, PNG, BMP
    or GIF file (what REST clients send as ``{"b64": ...}``); for 1-channel
    models a GIF (always a palette of RGB colours) is decoded as RGB and
    converted to grey (ITU-R 601 weights, ``tf.image.rgb_to_grayscale``).

Both return ``probabilities`` ``[batch, classes]`` (float32), ``classes``
``[batch, k]`` (int32, best first) and ``scores`` ``[batch, k]`` (their
probabilities), with ``k = min(top_k, classes)``. Preprocessing runs in the
graph with `kerasnets.preprocessing.preprocess_input`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kerasnets.preprocessing import MODES, check_mode, preprocess_input
from kerasnets.serving._deps import tensorflow

__all__ = [
    "SIGNATURE_IMAGES",
    "SIGNATURE_BYTES",
    "OUTPUTS",
    "PREPROCESSING",
    "RESIZE_METHODS",
    "check_model",
    "output_is_probability",
    "preprocess_fn",
    "build_archive",
]

SIGNATURE_IMAGES = "serving_default"
SIGNATURE_BYTES = "serving_bytes"
OUTPUTS = ("probabilities", "classes", "scores")
# The in-graph preprocessing modes (those of kerasnets.preprocessing.preprocess_input).
PREPROCESSING = MODES
RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3")


def check_model(model) -> tuple[int | None, int | None, int, int]:
    """Check ``model`` is a single-image-input classifier on TensorFlow; returns (height, width, channels, classes)."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Received: model={model!r}")
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "SavedModel export runs on the TensorFlow backend (the serving graph is TensorFlow); "
            "run the export with KERAS_BACKEND=tensorflow (weights saved under another backend "
            f"load unchanged). Received: backend={keras.backend.backend()!r}"
        )
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        shapes = [tuple(t.shape) for t in model.inputs]
        raise ValueError(
            "`model` must take one image input of shape (batch, height, width, channels). "
            f"Received: model input shapes={shapes!r}"
        )
    if len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
        shapes = [tuple(t.shape) for t in model.outputs]
        raise ValueError(
            "`model` must be a classifier with one (batch, classes) output; for a feature "
            "extractor (include_top=False) add a head, e.g. keras.layers.Dense(classes, "
            f"activation='softmax', name='predictions'). Received: model output shapes={shapes!r}"
        )
    _, height, width, channels = model.inputs[0].shape
    if channels is None:
        raise ValueError(
            f"`model` must have a known channel count. Received: model input shape={tuple(model.inputs[0].shape)!r}"
        )
    classes = model.outputs[0].shape[-1]
    if classes is None:
        raise ValueError(
            f"`model` must have a known number of classes. Received: model output shape={tuple(model.outputs[0].shape)!r}"
        )
    return height, width, int(channels), int(classes)


def output_is_probability(model) -> bool:
    """True when the model's last layer already applies softmax (looking through identity layers)."""
    import keras

    from kerasnets import _compat

    tensor = model.outputs[0]
    for _ in range(8):  # look through identity layers (e.g. a float32 "linear" output cast)
        layer = _compat.keras_history(tensor).operation
        activation = getattr(layer, "activation", None)
        if activation is keras.activations.softmax or isinstance(layer, keras.layers.Softmax):
            return True
        identity = isinstance(layer, keras.layers.Activation) and activation is keras.activations.linear
        nodes = _compat.inbound_nodes(layer) if identity else []
        inputs = _compat.node_input_tensors(nodes[0]) if nodes else []
        if len(inputs) != 1:
            return False
        tensor = inputs[0]
    return False


def preprocess_fn(preprocessing: Any, channels: int) -> Callable:
    """The in-graph preprocessing: a callable as given, or a mode of `preprocess_input`."""
    if callable(preprocessing):
        return preprocessing
    if not (preprocessing is None or isinstance(preprocessing, str)):
        raise TypeError(
            "`preprocessing` must be None, a mode name or a callable. "
            f"Allowed names: {', '.join(repr(k) for k in PREPROCESSING)}. Received: preprocessing={preprocessing!r}"
        )
    mode = check_mode(preprocessing, channels, arg="preprocessing")
    return lambda x: preprocess_input(x, mode, data_format="channels_last")


def _decode(data, *, channels: int):
    """One encoded image -> uint8 [h, w, channels]."""
    tf = tensorflow()
    if channels != 1:
        return tf.io.decode_image(data, channels=channels, dtype=tf.uint8, expand_animations=False)

    def grey_gif():
        # TensorFlow decodes GIFs only as RGB; the first frame, converted to grey.
        return tf.image.rgb_to_grayscale(tf.io.decode_gif(data)[0])

    def other():
        return tf.io.decode_image(data, channels=1, dtype=tf.uint8, expand_animations=False)

    is_gif = tf.equal(tf.strings.substr(data, 0, 3), "GIF")
    return tf.cond(is_gif, grey_gif, other)


def build_archive(model, *, height, width, channels, classes, preprocess, top_k, image_dtype, resize_method):
    """A ``keras.export.ExportArchive`` holding the model and both signatures."""
    import keras

    tf = tensorflow()
    k = min(top_k, classes)
    apply_softmax = not output_is_probability(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    if isinstance(preprocess, keras.layers.Layer):
        archive.track(preprocess)

    def to_model_size(images):
        # float32 pixels [b, h, w, c] -> [b, height, width, c]
        return tf.image.resize(images, (height, width), method=resize_method)

    # Traced once, at the model's size; both signatures call this one graph.
    @tf.function(input_signature=[tf.TensorSpec([None, height, width, channels], tf.float32)])
    def head(pixels):
        x = tf.cast(preprocess(pixels), model.inputs[0].dtype)
        out = tf.cast(model(x, training=False), tf.float32)
        probabilities = tf.nn.softmax(out, axis=-1) if apply_softmax else out
        scores, indices = tf.math.top_k(probabilities, k=k)
        return {"probabilities": probabilities, "classes": tf.cast(indices, tf.int32), "scores": scores}

    def serve_images(images):
        return head(to_model_size(tf.cast(images, tf.float32)))

    def serve_bytes(image_bytes):
        def decode(data):
            img = tf.cast(_decode(data, channels=channels), tf.float32)[tf.newaxis]
            return to_model_size(img)[0]

        pixels = tf.map_fn(
            decode, image_bytes, fn_output_signature=tf.TensorSpec((height, width, channels), tf.float32)
        )
        return head(pixels)

    archive.add_endpoint(
        SIGNATURE_IMAGES,
        serve_images,
        input_signature=[tf.TensorSpec([None, None, None, channels], tf.as_dtype(image_dtype), name="images")],
    )
    archive.add_endpoint(
        SIGNATURE_BYTES,
        serve_bytes,
        input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")],
    )
    return archive
