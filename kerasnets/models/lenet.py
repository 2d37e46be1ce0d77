"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998, "Gradient-based learning applied to document recognition").

Layout (the paper's Fig. 2): input 32x32x1 -> C1 6@5x5 (28x28) -> S2 2x2 subsampling (14x14)
-> C3 16@5x5 (10x10) -> S4 (5x5) -> C5 120@5x5 (1x1) -> F6 84 -> output 10.

Two forms:
- ``form="classic"``: tanh units and average-pool subsampling (the paper's squashing
  function and averaging, without the paper's per-map trainable subsampling coefficients).
- ``form="modern"``: ReLU and max-pooling (the usual teaching variant).

Deviations from the 1998 paper, both for the standard reason (no library implements them):
C3 connects to all six S2 maps (the paper's sparse connection table, Table I, gives
1,516 instead of 2,416 parameters) and the output is a Dense softmax layer instead of the
paper's Euclidean RBF units (which had fixed, not learned, parameters).

Hand count of this layout (both forms): C1 156 + C3 2,416 + C5 48,120 + F6 10,164 +
output 850 = 61,706 parameters.
"""

from __future__ import annotations

from keras import layers

from kerasnets._registry import FeatureInfo, register_model
from kerasnets._validation import check_choice, check_input_shape
from kerasnets.blocks import apply_activation, document, finalize_model, global_pool, model_input, prepare

__all__ = ["lenet5"]

_FORMS = {"classic": ("tanh", layers.AveragePooling2D), "modern": ("relu", layers.MaxPooling2D)}


@register_model(
    family="lenet",
    paper="LeCun et al. 1998, Gradient-based learning applied to document recognition",
    default_size=32,
    min_size=28,
    channels=1,
    fixed_size=True,
    ref_params=61_706,
    ref_params_source="hand count of the 1998 layout with full C3 connectivity and a dense output layer",
    ref_macs=416_520,
    ref_macs_source="hand count: C1 117,600 + C3 240,000 + C5 48,000 + F6 10,080 + output 840",
    features=(FeatureInfo("s2", 6, 2), FeatureInfo("s4", 16, 4), FeatureInfo("c5_act", 120, 32)),
    default_classes=10,
)
@document
def lenet5(
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    form="classic",
    activation=None,
    name="lenet5",
):
    """LeNet-5 (LeCun et al. 1998).

    Inputs of 28x28 to 31x31 (MNIST's 28x28 digits) are zero-padded to 32x32, as the
    paper placed its 28x28 digits in a 32x32 field. Parameter count (classes=10):
    61,706, the hand count of this layout (see the module docstring for the two
    deviations from the paper's C3 table and RBF output).

    Args:
        {common_args}
        form: ``"classic"`` (tanh, average pooling) or ``"modern"`` (ReLU, max pooling).
            ``activation`` overrides the form's nonlinearity.

    Returns:
        A ``keras.Model`` with layers ``c1, s2, c3, s4, c5, f6, predictions``.

    Examples:
        >>> import kerasnets
        >>> kerasnets.lenet5(input_shape=(28, 28, 1)).count_params()
        61706
    """
    check_choice("form", form, tuple(_FORMS))
    default_act, pool_cls = _FORMS[form]
    activation = default_act if activation is None else activation
    args = prepare(
        "lenet5",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        activation=activation,
        name=name,
        fixed_size=False,
    )
    height, width, channels = args.input_shape
    # 28..31-pixel inputs are zero-padded to the paper's 32x32 field.
    pad_h = 0 if height is None else max(0, 32 - height)
    pad_w = 0 if width is None else max(0, 32 - width)
    padded_shape = (None if height is None else height + pad_h, None if width is None else width + pad_w, channels)
    check_input_shape(
        padded_shape,
        input_tensor=None,
        default_size=32,
        min_size=32,
        channels=channels,
        include_top=args.include_top,
        fixed_size=True,
        model_name="lenet5 (after padding 28..31-pixel inputs to 32)",
    )
    img = model_input(args)
    x = img
    if pad_h or pad_w:
        x = layers.ZeroPadding2D(((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)), name="pad")(x)
    x = layers.Conv2D(6, 5, name="c1")(x)
    x = apply_activation(x, activation, "c1_act")
    x = pool_cls(2, name="s2")(x)
    x = layers.Conv2D(16, 5, name="c3")(x)
    x = apply_activation(x, activation, "c3_act")
    x = pool_cls(2, name="s4")(x)
    x = layers.Conv2D(120, 5, name="c5")(x)
    x = apply_activation(x, activation, "c5_act")
    if args.include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(84, name="f6")(x)
        x = apply_activation(x, activation, "f6_act")
        x = layers.Dense(args.classes, activation=args.classifier_activation, name="predictions")(x)
    else:
        x = global_pool(x, args.pooling)
    return finalize_model(img, x, args)
