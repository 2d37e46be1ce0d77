"""Test-time evaluation protocols of the papers (backend-agnostic).

* 10-crop (AlexNet, Krizhevsky et al. 2012, section 4.1): "five 224x224
  patches (the four corner patches and the center patch) as well as their
  horizontal reflections (hence ten patches in all), and averaging the
  predictions made by the network's softmax layer on the ten patches".
  `ten_crop_boxes`, `ten_crop`, `predict_ten_crop`.
* Multi-crop (VGG, Simonyan & Zisserman 2015, section 3.2 / 4.3; GoogLeNet's
  144 crops): a regular grid of crops per test scale Q and their flips
  (VGG: 5x5 grid x 2 flips x 3 scales = 150 crops), softmax averaged.
  `grid_crop_boxes`, `multi_crop`, `predict_multi_crop`.
* Dense evaluation (VGG section 3.2, after OverFeat): "the fully-connected
  layers are first converted to convolutional layers (the first FC layer to a
  7x7 conv. layer, the last two FC layers to 1x1 conv. layers)"; the
  fully-convolutional net applied to the whole (uncropped) image gives a class
  score map that is spatially averaged. `to_fully_convolutional`,
  `predict_dense`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from kerasnets._compat import inbound_nodes, keras_history, node_input_tensors
from kerasnets.checks import check_bool, check_choice, check_positive_int

__all__ = [
    "resize_shorter_side",
    "ten_crop_boxes",
    "ten_crop",
    "predict_ten_crop",
    "grid_crop_boxes",
    "multi_crop",
    "predict_multi_crop",
    "to_fully_convolutional",
    "predict_dense",
]


def _pair(arg: str, value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return check_positive_int(arg, value[0]), check_positive_int(arg, value[1])
    value = check_positive_int(arg, value)
    return value, value


def _check_images(images: Any) -> Any:
    shape = getattr(images, "shape", None)
    if shape is None:
        images = np.asarray(images)
        shape = images.shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ValueError(
            "`images` must be a batch of images with static size, shape (batch, height, width, channels). "
            f"Received: images with shape {tuple(shape)}"
        )
    return images


def _model_crop_size(model: keras.Model, crop_size: Any) -> tuple[int, int]:
    if crop_size is not None:
        return _pair("crop_size", crop_size)
    shape = tuple(model.inputs[0].shape)
    if shape[1] is None or shape[2] is None:
        raise ValueError(
            "The model accepts any input size; pass `crop_size` explicitly. Received: crop_size=None"
        )
    return int(shape[1]), int(shape[2])


def resize_shorter_side(images: Any, size: int, *, interpolation: str = "bilinear") -> Any:
    """Isotropically rescale a batch so its shorter side equals ``size`` (VGG's S or Q).

    Args:
        images: ``(batch, H, W, C)`` with static ``H, W``.
        size: target length of the shorter side.
        interpolation: ``keras.ops.image.resize`` interpolation.

    Returns:
        Tensor ``(batch, H', W', C)`` with ``min(H', W') == size`` (antialiased when shrinking).

    Examples:
        >>> import numpy as np
        >>> tuple(resize_shorter_side(np.zeros((1, 20, 40, 3)), 10).shape)
        (1, 10, 20, 3)
    """
    images = _check_images(images)
    size = check_positive_int("size", size)
    height, width = int(images.shape[1]), int(images.shape[2])
    scale = size / min(height, width)
    target = (max(size, int(round(height * scale))), max(size, int(round(width * scale))))
    if target == (height, width):
        return ops.convert_to_tensor(images)
    return ops.image.resize(images, target, interpolation=interpolation, antialias=scale < 1)


# ---------------------------------------------------------------------------
# 10-crop and multi-crop
# ---------------------------------------------------------------------------


def ten_crop_boxes(image_size: Any, crop_size: Any = 224) -> list[tuple[int, int, int, int, bool]]:
    """The ten AlexNet test crops as ``(top, left, height, width, flipped)`` boxes.

    Order (as torchvision's ``TenCrop``): top-left, top-right, bottom-left,
    bottom-right, centre, then the same five mirrored. The centre offset is
    ``round((H - h) / 2)`` (as ``keras.layers.CenterCrop``).

    Args:
        image_size: ``H`` or ``(H, W)`` of the (256x256) image.
        crop_size: ``h`` or ``(h, w)`` of the crops.

    Returns:
        List of 10 tuples.

    Raises:
        ValueError: a crop larger than the image.

    Examples:
        >>> ten_crop_boxes(256, 224)[:5]
        [(0, 0, 224, 224, False), (0, 32, 224, 224, False), (32, 0, 224, 224, False), (32, 32, 224, 224, False), (16, 16, 224, 224, False)]
    """
    height, width = _pair("image_size", image_size)
    crop_h, crop_w = _pair("crop_size", crop_size)
    if crop_h > height or crop_w > width:
        raise ValueError(
            f"`crop_size` must fit in the image of size {(height, width)}. Received: crop_size={crop_size!r}"
        )
    corners = [
        (0, 0),
        (0, width - crop_w),
        (height - crop_h, 0),
        (height - crop_h, width - crop_w),
        (int(round((height - crop_h) / 2)), int(round((width - crop_w) / 2))),
    ]
    return [(top, left, crop_h, crop_w, flip) for flip in (False, True) for top, left in corners]


def grid_crop_boxes(
    image_size: Any, crop_size: Any = 224, *, grid: int = 5, flip: bool = True
) -> list[tuple[int, int, int, int, bool]]:
    """A regular ``grid x grid`` of crops covering the image, and their mirrors (VGG multi-crop).

    Simonyan & Zisserman 2015, section 4.3: "a regular 5x5 grid with 2 flips"
    (50 crops per scale). Offsets are evenly spaced from 0 to ``H - h``
    (rounded); ``grid=1`` gives the centre crop.

    Args:
        image_size: ``H`` or ``(H, W)``.
        crop_size: ``h`` or ``(h, w)``.
        grid: crops per side.
        flip: add the mirrored crops.

    Returns:
        List of ``grid**2 * (2 if flip else 1)`` boxes ``(top, left, h, w, flipped)``.

    Examples:
        >>> [b[:2] for b in grid_crop_boxes(256, 224, grid=3, flip=False)][:3]
        [(0, 0), (0, 16), (0, 32)]
    """
    height, width = _pair("image_size", image_size)
    crop_h, crop_w = _pair("crop_size", crop_size)
    grid = check_positive_int("grid", grid)
    check_bool("flip", flip)
    if crop_h > height or crop_w > width:
        raise ValueError(
            f"`crop_size` must fit in the image of size {(height, width)}. Received: crop_size={crop_size!r}"
        )

    def offsets(free: int) -> list[int]:
        if grid == 1:
            return [int(round(free / 2))]
        return [int(round(i * free / (grid - 1))) for i in range(grid)]

    positions = [(top, left) for top in offsets(height - crop_h) for left in offsets(width - crop_w)]
    flips = (False, True) if flip else (False,)
    return [(top, left, crop_h, crop_w, f) for f in flips for top, left in positions]


def _apply_boxes(images: Any, boxes: Sequence[tuple]) -> list:
    crops = []
    for top, left, h, w, flipped in boxes:
        crop = images[:, top : top + h, left : left + w, :]
        crops.append(ops.flip(crop, axis=2) if flipped else ops.convert_to_tensor(crop))
    return crops


def ten_crop(images: Any, crop_size: Any = 224) -> Any:
    """The ten crops of every image: tensor ``(10, batch, h, w, C)`` in `ten_crop_boxes` order.

    Args:
        images: ``(batch, H, W, C)``.
        crop_size: ``h`` or ``(h, w)``.

    Returns:
        Stacked crops.

    Examples:
        >>> import numpy as np
        >>> tuple(ten_crop(np.zeros((2, 8, 8, 3)), 6).shape)
        (10, 2, 6, 6, 3)
    """
    images = _check_images(images)
    boxes = ten_crop_boxes((int(images.shape[1]), int(images.shape[2])), crop_size)
    return ops.stack(_apply_boxes(images, boxes), axis=0)


def multi_crop(images: Any, crop_size: Any = 224, *, grid: int = 5, flip: bool = True) -> Any:
    """Grid crops (and mirrors) of every image: tensor ``(n_crops, batch, h, w, C)``.

    Args:
        images: ``(batch, H, W, C)``.
        crop_size: ``h`` or ``(h, w)``.
        grid: crops per side.
        flip: add mirrored crops.

    Returns:
        Stacked crops in `grid_crop_boxes` order.

    Examples:
        >>> import numpy as np
        >>> tuple(multi_crop(np.zeros((1, 10, 10, 3)), 8, grid=2).shape)
        (8, 1, 8, 8, 3)
    """
    images = _check_images(images)
    boxes = grid_crop_boxes((int(images.shape[1]), int(images.shape[2])), crop_size, grid=grid, flip=flip)
    return ops.stack(_apply_boxes(images, boxes), axis=0)


def _average_predictions(
    model: keras.Model, images: Any, per_scale: Sequence[tuple], batch_size: Any, apply_softmax: Any
) -> np.ndarray:
    """Average the model's outputs over every crop of each image.

    ``per_scale`` lists ``(scale, boxes)``: the crops ``boxes`` of the images with the
    shorter side resized to ``scale`` (None: the images as they are).
    Images are processed in chunks of ``max(1, batch_size // n_crops)`` so that
    one ``predict`` call sees about ``batch_size`` crops and memory stays bounded.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    apply_softmax = check_bool("apply_softmax", apply_softmax)
    n_crops = sum(len(boxes) for _, boxes in per_scale)

    def make_crops(chunk: Any) -> Any:
        crops = []
        for scale, boxes in per_scale:
            crops.extend(_apply_boxes(chunk if scale is None else resize_shorter_side(chunk, scale), boxes))
        return ops.stack(crops, axis=0)

    chunk = max(1, batch_size // n_crops)
    results = []
    for start in range(0, int(images.shape[0]), chunk):
        crops = make_crops(images[start : start + chunk])  # (n_crops, c, h, w, C)
        count = int(crops.shape[1])
        flat = ops.reshape(crops, (n_crops * count, *crops.shape[2:]))
        pred = model.predict(flat, batch_size=batch_size, verbose=0)
        if isinstance(pred, (list, tuple, dict)):
            raise ValueError("Crop evaluation needs a single-output model; use strip_aux_heads(model) first.")
        pred = np.asarray(pred, dtype="float64").reshape(n_crops, count, -1)
        if apply_softmax:
            pred = np.exp(pred - pred.max(axis=-1, keepdims=True))
            pred /= pred.sum(axis=-1, keepdims=True)
        results.append(pred.mean(axis=0))
    return np.concatenate(results).astype("float32")


def predict_ten_crop(
    model: keras.Model,
    images: Any,
    *,
    crop_size: Any = None,
    batch_size: int = 32,
    apply_softmax: bool = False,
) -> np.ndarray:
    """AlexNet's 10-crop prediction: softmax outputs averaged over 4 corners + centre and mirrors.

    Args:
        model: single-output classifier taking ``crop_size`` inputs.
        images: ``(batch, H, W, C)`` (AlexNet: the 256x256 images).
        crop_size: crop side (default: the model's input size).
        batch_size: batch size for ``model.predict``.
        apply_softmax: the model outputs logits; apply softmax per crop first.

    Returns:
        ``(batch, classes)`` averaged probabilities.

    Examples:
        >>> import kerasnets, numpy as np
        >>> predict_ten_crop(kerasnets.lenet5(), np.zeros((2, 36, 36, 1))).shape  # 32x32 crops
        (2, 10)
    """
    images = _check_images(images)
    size = _model_crop_size(model, crop_size)
    boxes = ten_crop_boxes((int(images.shape[1]), int(images.shape[2])), size)
    return _average_predictions(model, images, [(None, boxes)], batch_size, apply_softmax)


def predict_multi_crop(
    model: keras.Model,
    images: Any,
    *,
    scales: Sequence[int] = (256, 384, 512),
    crop_size: Any = None,
    grid: int = 5,
    flip: bool = True,
    batch_size: int = 32,
    apply_softmax: bool = False,
) -> np.ndarray:
    """VGG's multi-crop evaluation: grid crops at several test scales Q, softmax averaged.

    Simonyan & Zisserman 2015, section 4.3: 50 crops per scale (5x5 grid x 2
    flips) over three scales, 150 crops in all; for VGG-16 (D) multi-crop gave
    24.6% top-1 / 7.5% top-5 (24.4 / 7.2 combined with dense evaluation).

    Args:
        model: single-output classifier taking ``crop_size`` inputs.
        images: ``(batch, H, W, C)``.
        scales: test scales Q; each image's shorter side is rescaled to Q.
        crop_size: crop side (default: the model's input size).
        grid: crops per side at each scale.
        flip: add mirrored crops.
        batch_size: batch size for ``model.predict``.
        apply_softmax: the model outputs logits.

    Returns:
        ``(batch, classes)`` averaged probabilities.

    Examples:
        >>> import kerasnets, numpy as np
        >>> predict_multi_crop(kerasnets.lenet5(), np.zeros((1, 40, 40, 1)), scales=(36, 40), grid=2).shape
        (1, 10)
    """
    images = _check_images(images)
    size = _model_crop_size(model, crop_size)
    if not isinstance(scales, (tuple, list)) or not scales:
        raise ValueError(f"`scales` must be a non-empty list of test scales Q. Received: scales={scales!r}")
    per_scale = []
    for scale in scales:
        scaled_shape = tuple(resize_shorter_side(images[:1], scale).shape[1:3])
        per_scale.append((scale, grid_crop_boxes(scaled_shape, size, grid=grid, flip=flip)))
    return _average_predictions(model, images, per_scale, batch_size, apply_softmax)


# ---------------------------------------------------------------------------
# Dense (fully-convolutional) evaluation
# ---------------------------------------------------------------------------

# Layers that act on the last axis only and can therefore be applied unchanged to a class map.
_PER_POSITION = (
    keras.layers.Dropout,
    keras.layers.Activation,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.PReLU,
    keras.layers.ELU,
    keras.layers.Softmax,
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
)


def _head_chain(model: keras.Model) -> tuple[Any, list]:
    """Walk back from the single output to the Flatten layer; return (flatten input tensor, head layers)."""
    if not isinstance(model, keras.Model) or not getattr(model, "outputs", None):
        raise TypeError(f"`model` must be a built functional or Sequential keras.Model. Received: model={model!r}")
    if len(model.outputs) != 1:
        raise ValueError(
            "`model` must have a single output (remove auxiliary heads with strip_aux_heads). "
            f"Received: model with {len(model.outputs)} outputs"
        )
    if not any(isinstance(layer, keras.layers.Flatten) for layer in model.layers):
        raise ValueError(
            "`model` must end in Flatten followed by Dense layers (AlexNet/VGG-style head); "
            f"it has no Flatten layer. Received: model={model.name!r}"
        )
    chain = []
    tensor = model.outputs[0]
    while True:
        operation, node_index, _ = keras_history(tensor)
        nodes = inbound_nodes(operation)
        if isinstance(operation, keras.layers.InputLayer) or not nodes:
            raise ValueError(
                "`model` must end in Flatten followed by Dense layers (AlexNet/VGG-style head); "
                f"no Flatten layer found before the output. Received: model={model.name!r}"
            )
        node_inputs = node_input_tensors(nodes[node_index])
        if isinstance(operation, keras.layers.Flatten):
            return node_inputs[0], chain[::-1]
        if len(node_inputs) != 1 or isinstance(operation, keras.Model):
            raise ValueError(
                "The head after Flatten must be a chain of single-input layers. "
                f"Received: layer {operation.name!r} ({type(operation).__name__})"
            )
        if not isinstance(operation, (keras.layers.Dense, *_PER_POSITION)):
            raise ValueError(
                "Only Dense, dropout, activation and normalisation layers can follow Flatten for dense "
                f"evaluation. Received: layer {operation.name!r} ({type(operation).__name__})"
            )
        chain.append(operation)
        tensor = node_inputs[0]


def to_fully_convolutional(
    model: keras.Model,
    *,
    spatial_average: bool = True,
    average: str = "logits",
    name: str | None = None,
) -> keras.Model:
    """Turn a Flatten+Dense classifier into a fully-convolutional one with the same weights.

    VGG's dense evaluation (Simonyan & Zisserman 2015, section 3.2; Sermanet
    et al. 2014, OverFeat): the first Dense after ``Flatten`` becomes a
    ``k x k`` convolution, ``k`` being the spatial size of the Flatten input
    (7x7 for AlexNet/VGG at 224), and every later Dense a 1x1 convolution;
    the kernels are the Dense kernels reshaped (``(k*k*C, units) -> (k, k, C,
    units)``, which matches channels_last flattening order). Dropout,
    activation and normalisation layers of the head are reused as they are.

    The result accepts any image size at least as large as the original
    input: at the training size (224) it computes exactly the original
    output; a larger image gives a class map (for VGG: 2x2 at 256, 8x8 at
    448) that is averaged over positions (VGG's dense evaluation).

    Args:
        model: single-output model whose head is Flatten -> Dense [-> Dropout/
            Activation/...] -> ... -> Dense; the layers before Flatten must
            accept other image sizes (convolutions, pooling, normalisation).
        spatial_average: average the class map to ``(batch, classes)``; False
            returns the map ``(batch, h, w, classes)``.
        average: ``"logits"`` (VGG: "the class score map is spatially
            averaged", then the softmax) averages the class scores and applies
            the final activation after; ``"probabilities"`` applies the final
            activation (softmax) at every position, then averages (as the
            10-crop averages softmax outputs).
        name: name of the new model (default ``<model name>_fcn``).

    Returns:
        ``keras.Model`` with input ``(None, None, None, C)`` sharing the trunk's
        layers and weights with ``model``.

    Raises:
        ValueError: no Flatten, a head layer that is not per-position, a
            multi-output model, or an unknown ``average``.

    Examples:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
        ...     keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
        >>> fcn = to_fully_convolutional(model)
        >>> fcn.predict(np.zeros((1, 16, 16, 3)), verbose=0).shape
        (1, 5)
    """
    check_bool("spatial_average", spatial_average)
    check_choice("average", average, ("probabilities", "logits"))
    flatten_input, chain = _head_chain(model)
    spatial = tuple(flatten_input.shape[1:])
    if len(spatial) != 3 or any(d is None for d in spatial):
        raise ValueError(
            "The Flatten layer's input must have a static (height, width, channels) shape. "
            f"Received: shape {tuple(flatten_input.shape)}"
        )
    dense_layers = [layer for layer in chain if isinstance(layer, keras.layers.Dense)]
    if not dense_layers:
        raise ValueError(f"`model` has no Dense layer after Flatten. Received: model={model.name!r}")
    input_tensor = model.inputs[0]
    # Re-run the trunk's own layers (shared, with their weights) on an input of any size.
    if len(model.inputs) != 1:
        raise ValueError(f"`model` must have a single image input. Received: model with {len(model.inputs)} inputs")
    trunk = keras.Model(input_tensor, flatten_input, name=f"{model.name}_trunk")
    inputs = keras.Input(shape=(None, None, input_tensor.shape[-1]), name=input_tensor.name)
    x = keras.models.clone_model(trunk, input_tensors=inputs, clone_function=lambda layer: layer).outputs[0]

    last_dense = dense_layers[-1]
    deferred = []  # layers applied after the spatial average ("logits" mode)
    for layer in chain:
        if deferred:
            deferred.append(layer)
            continue
        if isinstance(layer, keras.layers.Dense):
            first = layer is dense_layers[0]
            kernel_size = spatial[:2] if first else (1, 1)
            weights = layer.get_weights()
            in_channels = spatial[2] if first else weights[0].shape[0]
            weights[0] = weights[0].reshape(*kernel_size, in_channels, layer.units)
            defer = layer is last_dense and spatial_average and average == "logits"
            conv = keras.layers.Conv2D(
                layer.units,
                kernel_size,
                activation=None if defer else layer.activation,
                use_bias=layer.use_bias,
                dtype=layer.dtype_policy,
                name=layer.name,
            )
            x = conv(x)
            conv.set_weights(weights)
            if defer:
                deferred.append(keras.layers.Activation(layer.activation, name=f"{layer.name}_activation"))
        else:
            x = layer(x)
    if spatial_average:
        x = keras.layers.GlobalAveragePooling2D(name="class_map_average")(x)
        for layer in deferred:
            x = layer(x)
    return keras.Model(inputs, x, name=name or f"{model.name}_fcn")


def predict_dense(
    fcn: keras.Model,
    images: Any,
    *,
    scales: Sequence[int] | None = None,
    flip: bool = True,
    batch_size: int = 8,
) -> np.ndarray:
    """VGG's dense evaluation: the fully-convolutional net on whole images, plus mirrors, averaged.

    Simonyan & Zisserman 2015, section 3.2: the image is rescaled to the test
    scale Q, the class score map is spatially averaged, and the posteriors of
    the original and flipped images are averaged; over several scales
    (multi-scale evaluation, section 4.2) the results are averaged again.

    Args:
        fcn: from `to_fully_convolutional` (``spatial_average=True``).
        images: ``(batch, H, W, C)``.
        scales: test scales Q (shorter side); None uses the images as given.
        flip: also evaluate the mirrored images.
        batch_size: batch size for ``predict``.

    Returns:
        ``(batch, classes)`` averaged outputs.

    Examples:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
        ...                           keras.layers.Dense(5, activation="softmax")])
        >>> predict_dense(to_fully_convolutional(model), np.zeros((2, 10, 12, 3)), scales=(8, 10)).shape
        (2, 5)
    """
    images = _check_images(images)
    check_bool("flip", flip)
    batch_size = check_positive_int("batch_size", batch_size)
    if len(fcn.outputs[0].shape) != 2:
        raise ValueError(
            "`fcn` must output (batch, classes); build it with to_fully_convolutional(model, "
            f"spatial_average=True). Received: output shape {tuple(fcn.outputs[0].shape)}"
        )
    versions = [ops.convert_to_tensor(images)] if scales is None else [resize_shorter_side(images, s) for s in scales]
    total, count = None, 0
    for version in versions:
        for mirrored in (False, True) if flip else (False,):
            batch = ops.flip(version, axis=2) if mirrored else version
            pred = np.asarray(fcn.predict(batch, batch_size=batch_size, verbose=0), dtype="float64")
            total = pred if total is None else total + pred
            count += 1
    return (total / count).astype("float32")
