"""The MNIST app's classifier: a registered kerasnets model behind a 28x28 input.

`build_classifier` takes any registered model that accepts small inputs
and puts the dataset's preprocessing in front of it, inside the model:

    images (28, 28, 1), raw pixels 0..255
      -> zero padding (black border) or bilinear resizing to the size the model wants
      -> normalisation ((x / 255 - mean) / std, the training-set statistics)
      -> the registered model (``kerasnets.get_model(name, input_tensor=...)``)

so a saved or exported model takes raw pixels, and training, evaluation,
prediction and export all see the same function.
"""

from __future__ import annotations

import keras
from keras import layers

import kerasnets
from kerasnets.checks import check_choice

__all__ = ["input_size_for", "build_classifier", "eligible_models", "MAX_INPUT_SIZE"]

# The largest input side the app upsamples MNIST to (28 -> 64 costs ~5x compute);
# models needing more (AlexNet, VGG, ImageNet-size Inceptions) are refused.
MAX_INPUT_SIZE = 64
# Up to this many extra pixels, 28x28 images are zero-padded (LeNet-5's 32x32 field);
# beyond it they are resized.
_MAX_PAD = 8


def input_size_for(name: str) -> int:
    """The input side length the app feeds model ``name``.

    The model's own default size when it is small (32 for LeNet-5 and the CIFAR
    nets), else 28 if the model accepts it, else its minimum size.

    Raises:
        ValueError: unknown model, or one that needs more than ``MAX_INPUT_SIZE`` pixels.
    """
    spec = kerasnets.get_spec(name)
    if spec.default_size <= MAX_INPUT_SIZE:
        return spec.default_size
    if not spec.fixed_size and spec.min_size <= MAX_INPUT_SIZE:
        return max(28, spec.min_size)
    raise ValueError(
        f"apps.mnist trains models that accept inputs of at most {MAX_INPUT_SIZE}x{MAX_INPUT_SIZE} pixels; "
        f"{spec.name} needs {spec.default_size if spec.fixed_size else spec.min_size}. Models that fit: "
        f"{', '.join(eligible_models())}. Received: model={name!r}"
    )


def eligible_models() -> list[str]:
    """Registered models the app can train (their input fits in ``MAX_INPUT_SIZE``)."""
    names = []
    for name in kerasnets.list_models():
        spec = kerasnets.get_spec(name)
        if spec.default_size <= MAX_INPUT_SIZE or (not spec.fixed_size and spec.min_size <= MAX_INPUT_SIZE):
            names.append(name)
    return names


def build_classifier(
    name: str = "lenet5",
    *,
    classes: int = 10,
    mean: float = 0.0,
    std: float = 1.0,
    resize: str = "auto",
    model_kwargs: dict | None = None,
    float32_output: bool = False,
    input_shape: tuple = (28, 28, 1),
) -> keras.Model:
    """Build registered model ``name`` for images of raw pixels (0..255), 28x28x1 by default.

    Args:
        name: a registered model (see `eligible_models`).
        classes: number of classes.
        mean: mean pixel value of the training set, on the 0..1 scale.
        std: standard deviation of the pixels, on the 0..1 scale.
        resize: ``"auto"`` (zero-pad up to 8 pixels, else bilinear resize),
            ``"pad"`` or ``"resize"``.
        model_kwargs: extra keyword arguments for the builder (e.g. ``{"form": "modern"}``).
        float32_output: end with a float32 ``probabilities`` layer (for mixed precision).
        input_shape: ``(height, width, channels)`` of the raw images (e.g. ``(32, 32, 3)``
            for CIFAR-10 in the image-folder mode).

    Returns:
        A functional ``keras.Model`` with input ``images`` (``input_shape``) and softmax output.

    Raises:
        ValueError: unknown or too-large model, bad ``resize``.

    Example:
        >>> model = build_classifier("lenet5", mean=0.13, std=0.31)
        >>> model.input_shape, model.output_shape
        ((None, 28, 28, 1), (None, 10))
    """
    check_choice("resize", resize, ("auto", "pad", "resize"))
    size = input_size_for(name)
    height, width, channels = (int(v) for v in input_shape)
    inputs = keras.Input((height, width, channels), name="images")
    x = inputs
    if (height, width) != (size, size):
        extra_h, extra_w = size - height, size - width
        if resize == "pad" or (resize == "auto" and 0 <= min(extra_h, extra_w) and max(extra_h, extra_w) <= _MAX_PAD):
            if min(extra_h, extra_w) < 0:
                raise ValueError(f"`resize`='pad' cannot shrink {height}x{width} images to {size}. "
                                 f"Received: resize={resize!r}")
            x = layers.ZeroPadding2D(((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2)),
                                     name="pad_input")(x)
        else:
            x = layers.Resizing(size, size, interpolation="bilinear", name="resize_input")(x)
    x = layers.Rescaling(1.0 / (255.0 * std), offset=-mean / std, name="normalize")(x)
    kwargs = dict(model_kwargs or {})
    outputs = kerasnets.get_model(
        name, input_tensor=x, input_shape=(size, size, channels), classes=classes, weights=None, **kwargs
    ).output
    if float32_output:
        outputs = layers.Activation("linear", dtype="float32", name="probabilities")(outputs)
    return keras.Model(inputs, outputs, name=f"{name}_mnist")
