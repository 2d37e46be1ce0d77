"""Input preprocessing: the pixel normalisation a network was trained with.

`preprocess_input` is ``keras.applications.imagenet_utils.preprocess_input``
(the same ``"tf"``, ``"torch"`` and ``"caffe"`` modes, computed by that function)
with what kerasnets adds around it: ``None`` (the network takes raw ``[0, 255]``
pixels, e.g. models that normalise inside) and ``"scale"`` (``x / 255``); a
check that ``"torch"``/``"caffe"`` get three channels (Keras would broadcast a
grey image to three channels or fail deep inside); and NumPy input is never
modified in place (Keras' NumPy path divides the caller's float array).

The SavedModel export (`kerasnets.serving`) runs the same function inside
its serving graph, so a served model and ``model(preprocess_input(x, mode))``
give the same numbers. A registered model names its mode in its spec
(``kerasnets.get_spec(name).preprocessing``, where the registry records it).

Examples:
    >>> import numpy as np
    >>> from kerasnets.preprocessing import preprocess_input
    >>> x = np.full((1, 2, 2, 3), 255.0, dtype="float32")
    >>> preprocess_input(x, "tf")[0, 0, 0].tolist()
    [1.0, 1.0, 1.0]
    >>> x[0, 0, 0].tolist()  # the input is left as it was
    [255.0, 255.0, 255.0]
"""

from __future__ import annotations

from typing import Any

__all__ = ["MODES", "preprocess_input", "check_mode"]

# What each mode does to float pixels in [0, 255] (the names of keras.applications' modes).
MODES = {
    None: "none: the network takes pixels in [0, 255] (e.g. models that normalise inside, like apps.mnist)",
    "scale": "x / 255, to [0, 1]",
    "tf": "x / 127.5 - 1, to [-1, 1]",
    "torch": "x / 255, then per-channel (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] (RGB)",
    "caffe": "RGB -> BGR, then subtract the ImageNet BGR mean [103.939, 116.779, 123.68]",
}
_RGB_MODES = ("torch", "caffe")


def check_mode(mode: Any, channels: int | None = None, *, arg: str = "mode") -> Any:
    """Check a preprocessing mode (and, for ``"torch"``/``"caffe"``, that there are 3 channels); return it.

    Raises:
        ValueError: an unknown mode, or an RGB mode for another channel count.
    """
    if not (mode is None or isinstance(mode, str)) or mode not in MODES:
        allowed = ", ".join(repr(m) for m in MODES)
        raise ValueError(f"`{arg}` must be one of {allowed}. Received: {arg}={mode!r}")
    if mode in _RGB_MODES and channels is not None and channels != 3:
        raise ValueError(
            f"`{arg}={mode!r}` normalises RGB images; the input has {channels} channel(s); "
            f"use None, 'scale', 'tf' or 3-channel images. Received: {arg}={mode!r}"
        )
    return mode


def preprocess_input(x, mode: Any, *, data_format: str | None = None):
    """Normalise a batch of images (pixels in ``[0, 255]``) the way a network was trained.

    Args:
        x: images, ``(..., height, width, channels)`` (or channels first with
            ``data_format="channels_first"``): a NumPy array, a backend tensor
            or a symbolic Keras tensor. Integer arrays are converted to floats.
        mode: ``None`` (unchanged, as floats), ``"scale"`` (``x / 255``),
            ``"tf"`` (``x / 127.5 - 1``), ``"torch"`` (``/ 255`` then ImageNet
            mean/std per RGB channel) or ``"caffe"`` (RGB to BGR, minus the
            ImageNet BGR mean); see `MODES`. No default: the wrong
            normalisation gives plausible but wrong predictions, so name it.
        data_format: ``"channels_last"`` or ``"channels_first"``; default:
            ``keras.config.image_data_format()``.

    Returns:
        The preprocessed images, a new float array or tensor (NumPy input is
        never modified).

    Raises:
        ValueError: an unknown ``mode`` or ``data_format``, or ``"torch"``/``"caffe"``
            for images that do not have 3 channels.

    Examples:
        >>> import numpy as np
        >>> preprocess_input(np.array([[[[0, 128, 255]]]], dtype="uint8"), "caffe")[0, 0, 0].astype(float).round(3).tolist()
        [151.061, 11.221, -123.68]
    """
    import keras
    import numpy as np
    from keras.applications import imagenet_utils

    if data_format is None:
        data_format = keras.config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"`data_format` must be 'channels_last' or 'channels_first'. Received: data_format={data_format!r}"
        )
    shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
    if len(shape) < 3:
        raise ValueError(
            "`x` must be images of shape (..., height, width, channels) or (..., channels, height, width). "
            f"Received: x.shape={shape!r}"
        )
    channels = shape[-1] if data_format == "channels_last" else shape[-3]
    check_mode(mode, channels)

    if isinstance(x, np.ndarray) or not hasattr(x, "dtype"):
        array = np.asarray(x)
        dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else keras.config.floatx()
        x = np.array(array, dtype=dtype, copy=True)  # Keras' NumPy path works in place
    elif "float" not in str(getattr(x.dtype, "name", x.dtype)):
        x = keras.ops.cast(x, keras.config.floatx())
    if mode is None:
        return x
    if mode == "scale":
        return x / 255.0
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)
