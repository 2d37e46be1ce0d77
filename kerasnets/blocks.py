"""Shared building blocks: functions ``(x, ..., name) -> tensor`` that create named layers.

Blocks are plain functions (keras-hub ``apply_*`` style) rather than Layer
subclasses, so every convolution, norm and activation stays a top-level layer
of the model: per-layer summaries, MAC counting and weight names stay
transparent, and files saved from ``keras.applications`` load by layer order.

Also here: the start and the end every builder shares ([prepare][kerasnets.blocks.prepare],
[model_input][kerasnets.blocks.model_input], [classifier_head][kerasnets.blocks.classifier_head],
[finalize_model][kerasnets.blocks.finalize_model]). The builders' signature and shared argument
text live in ``kerasnets.models._variants``; the checks in [kerasnets.checks][].
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import layers

from kerasnets import checks as V
from kerasnets.layers import CReLU, Maxout

__all__ = [
    "BuildArgs",
    "prepare",
    "model_input",
    "apply_activation",
    "activation_channels",
    "conv_bn_act",
    "classifier_head",
    "fc_head",
    "finalize_model",
    "global_pool",
]

@dataclasses.dataclass(frozen=True)
class BuildArgs:
    """The checked common arguments of a builder."""

    include_top: bool
    weights: str | None
    input_tensor: Any
    input_shape: tuple
    pooling: str | None
    classes: int
    classifier_activation: Any
    activation: Any
    name: str


def prepare(
    spec: Any,
    common: dict,
    *,
    fixed_size: bool | None = None,
    min_size: int | None = None,
    default_size: int | None = None,
) -> BuildArgs:
    """Check every common builder argument against the variant's registry record.

    Runs before any layer is created.

    Args:
        spec: the variant's [ModelSpec][kerasnets.ModelSpec] (its sizes and channels).
        common: the common arguments (``include_top``, ``weights``, ``input_tensor``,
            ``input_shape``, ``pooling``, ``classes``, ``classifier_activation``,
            ``activation``, ``name``), as ``kerasnets.models._variants`` passes them.
        fixed_size: overrides the spec's, for options (such as a fully-convolutional head)
            that lift the size constraint.
        min_size: overrides the spec's, for options that change it.
        default_size: overrides the spec's, for options that change it.

    Returns:
        The checked [BuildArgs][kerasnets.blocks.BuildArgs].
    """
    V.check_channels_last()
    include_top = V.check_bool("include_top", common["include_top"])
    weights = V.check_weights(common["weights"])
    pooling = V.check_pooling(common["pooling"])
    classes = V.check_classes(common["classes"])
    activation = V.check_activation(common["activation"])
    classifier_activation = V.check_classifier_activation(common["classifier_activation"])
    name = V.check_name(common["name"])
    V.check_head_arguments(
        include_top=include_top, pooling=pooling, classes=classes, default_classes=spec.default_classes, model_name=spec.name
    )
    shape = V.check_input_shape(
        common["input_shape"],
        input_tensor=common["input_tensor"],
        default_size=spec.default_size if default_size is None else default_size,
        min_size=spec.min_size if min_size is None else min_size,
        channels=spec.channels,
        include_top=include_top,
        fixed_size=spec.fixed_size if fixed_size is None else fixed_size,
        model_name=spec.name,
    )
    return BuildArgs(
        include_top=include_top,
        weights=weights,
        input_tensor=common["input_tensor"],
        input_shape=shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        activation=activation,
        name=name or spec.name,
    )


def model_input(args: BuildArgs):
    """The image input: ``keras.Input(name="images")`` or the user's tensor."""
    if args.input_tensor is None:
        return keras.Input(shape=args.input_shape, name="images")
    if keras.backend.is_keras_tensor(args.input_tensor):
        return args.input_tensor
    return keras.Input(tensor=args.input_tensor, shape=args.input_shape, name="images")


def _activation_parts(activation: Any) -> tuple[str, dict]:
    if isinstance(activation, (tuple, list)):
        return activation[0].lower(), dict(activation[1])
    return activation.lower(), {}


def activation_channels(activation: Any, channels: int) -> int:
    """How many channels ``activation`` outputs for ``channels`` inputs."""
    kind, options = _activation_parts(activation)
    if kind == "crelu":
        return 2 * channels
    if kind == "maxout":
        return channels // options.get("pieces", 2)
    return channels


def apply_activation(x, activation: Any, name: str):
    """Apply a nonlinearity as one named layer.

    Args:
        x: input tensor.
        activation: a name (see [ACTIVATIONS][kerasnets.checks.ACTIVATIONS]) or a
            ``(name, options)`` pair, e.g. ``("leaky_relu", {"negative_slope": 0.1})``,
            ``("maxout", {"pieces": 3})``.
        name: the layer name.

    Returns:
        The activated tensor. ``crelu`` doubles and ``maxout`` divides the channels.
    """
    kind, options = _activation_parts(activation)
    if kind == "linear":
        return x
    if kind == "leaky_relu":
        return layers.LeakyReLU(negative_slope=options.get("negative_slope", 0.01), name=name)(x)
    if kind == "prelu":
        shared = [1, 2] if len(x.shape) == 4 else None
        return layers.PReLU(shared_axes=shared, name=name)(x)
    if kind == "crelu":
        return CReLU(name=name)(x)
    if kind == "maxout":
        return Maxout(pieces=options.get("pieces", 2), name=name)(x)
    if kind == "dynamic_relu":
        from kerasnets.layers import DynamicReLU  # added with the residual family

        return DynamicReLU(name=name, **options)(x)
    keras_name = {"swish": "silu"}.get(kind, kind)
    return layers.Activation(keras_name, name=name)(x)


def conv_bn_act(
    x,
    filters: int,
    kernel_size,
    *,
    name: str,
    strides=1,
    padding: str = "same",
    groups: int = 1,
    use_bias: bool | None = None,
    batch_norm: bool = True,
    activation: Any = "relu",
    bn_epsilon: float = 1e-5,
    bn_momentum: float = 0.9,
    bn_scale: bool = True,
    conv_name: str | None = None,
    bn_name: str | None = None,
    act_name: str | None = None,
):
    """Convolution, optional batch norm, optional activation, as named layers.

    Layer names: ``{name}_conv``, ``{name}_bn``, ``{name}_act`` (overridable).
    ``use_bias`` defaults to ``not batch_norm`` (a bias before BN is redundant).
    ``bn_epsilon=1e-5``/``bn_momentum=0.9`` follow torchvision (momentum 0.1 there).
    """
    if use_bias is None:
        use_bias = not batch_norm
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        groups=groups,
        use_bias=use_bias,
        name=conv_name or f"{name}_conv",
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(
            epsilon=bn_epsilon, momentum=bn_momentum, scale=bn_scale, name=bn_name or f"{name}_bn"
        )(x)
    if activation is not None:
        x = apply_activation(x, activation, act_name or f"{name}_act")
    return x


def classifier_head(x, args: BuildArgs, *, dropout: float = 0.0, pool_name: str = "avg_pool"):
    """Global-average-pooled head (GoogLeNet, ResNet, DenseNet, NiN style).

    With ``include_top``: global average pooling, optional dropout, Dense
    ``predictions``. Without: the feature map, or global pooling per ``pooling``.
    """
    if args.include_top:
        x = layers.GlobalAveragePooling2D(name=pool_name)(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        return layers.Dense(args.classes, activation=args.classifier_activation, name="predictions")(x)
    return global_pool(x, args.pooling)


def fc_head(x, args: BuildArgs, *, dropout: float, widths=(4096, 4096), first: int = 6):
    """The fully-connected head of AlexNet and VGG: Flatten, then per hidden layer Dense, activation
    and dropout (``fc6``, ``fc6_act``, ``drop6``, ``fc7`` ...), then Dense ``predictions``.

    Dropout zeroes the outputs of the hidden neurons (AlexNet sec. 4.2, Caffe's order).
    """
    x = layers.Flatten(name="flatten")(x)
    for i, width in enumerate(widths, start=first):
        x = layers.Dense(width, name=f"fc{i}")(x)
        x = apply_activation(x, args.activation, f"fc{i}_act")
        x = layers.Dropout(dropout, name=f"drop{i}")(x)
    return layers.Dense(args.classes, activation=args.classifier_activation, name="predictions")(x)


def global_pool(x, pooling: str | None):
    """Apply the ``pooling`` option of an ``include_top=False`` model."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def finalize_model(img_input, outputs, args: BuildArgs) -> keras.Model:
    """Wrap the graph as a functional model and load ``weights`` if given."""
    if args.input_tensor is not None:
        inputs = keras.utils.get_source_inputs(args.input_tensor)
    else:
        inputs = img_input
    model = keras.Model(inputs, outputs, name=args.name)
    if args.weights is not None:
        from kerasnets.pretrained import is_pretrained_reference

        if is_pretrained_reference(args.weights):
            from kerasnets.pretrained import load_pretrained

            load_pretrained(model, args.weights)
        else:
            from kerasnets._weights import load_weights

            load_weights(model, args.weights)
    return model
