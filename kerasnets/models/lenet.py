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

Beyond the paper (off by default, so the default count stays 61,706): ``filters`` and
``units`` widen the layers, ``batch_norm`` puts batch normalisation after every
convolution and F6 (the convolutions then drop their biases, as in d2l.ai's "LeNet with
batch normalization"), ``dropout`` drops F6's input and output. The MNIST app's
Fashion-MNIST recipe uses ``filters=(32, 64, 256), units=128, batch_norm=True``.
"""

from __future__ import annotations

from keras import layers

from kerasnets._registry import FeatureInfo
from kerasnets.blocks import apply_activation, finalize_model, global_pool, model_input, prepare
from kerasnets.checks import check_bool, check_choice, check_fraction, check_input_shape, check_int_tuple, check_positive_int
from kerasnets.models._variants import Option, define_variants, variant

__all__ = ["lenet5"]

_FORMS = {"classic": ("tanh", layers.AveragePooling2D), "modern": ("relu", layers.MaxPooling2D)}


def _build(spec, config, common: dict, *, form, filters, units, batch_norm, dropout):
    """Build LeNet-5 (the family's one builder)."""
    check_choice("form", form, tuple(_FORMS))
    filters = check_int_tuple("filters", filters, 3, what="C1, C3, C5")
    units = check_positive_int("units", units)
    check_bool("batch_norm", batch_norm)
    dropout = check_fraction("dropout", dropout)
    default_act, pool_cls = _FORMS[form]
    activation = default_act if common["activation"] is None else common["activation"]
    args = prepare(spec, {**common, "activation": activation}, fixed_size=False)
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
    for index, (layer, pool) in enumerate((("c1", "s2"), ("c3", "s4"), ("c5", None))):
        x = layers.Conv2D(filters[index], 5, use_bias=not batch_norm, name=layer)(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"{layer}_bn")(x)
        x = apply_activation(x, activation, f"{layer}_act")
        if pool:
            x = pool_cls(2, name=pool)(x)
    if args.include_top:
        x = layers.Flatten(name="flatten")(x)
        if dropout:
            x = layers.Dropout(dropout, name="f6_dropout")(x)
        x = layers.Dense(units, use_bias=not batch_norm, name="f6")(x)
        if batch_norm:
            x = layers.BatchNormalization(name="f6_bn")(x)
        x = apply_activation(x, activation, "f6_act")
        if dropout:
            x = layers.Dropout(dropout, name="predictions_dropout")(x)
        x = layers.Dense(args.classes, activation=args.classifier_activation, name="predictions")(x)
    else:
        x = global_pool(x, args.pooling)
    return finalize_model(img, x, args)


(lenet5,) = define_variants(
    "lenet",
    _build,
    (
        variant(
            "lenet5",
            doc="""LeNet-5 (LeCun et al. 1998).

            Inputs of 28x28 to 31x31 (MNIST's 28x28 digits) are zero-padded to 32x32, as the
            paper placed its 28x28 digits in a 32x32 field. The parameter count is the hand
            count of this layout (see the module docstring for the two deviations from the
            paper's C3 table and RBF output).
            """,
            example="""
            >>> kerasnets.lenet5(input_shape=(28, 28, 1)).count_params()
            61706
            """,
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
            preprocessing="tf",
        ),
    ),
    options=(
        Option(
            "activation",
            None,
            'the nonlinearity; None means the form\'s (``"tanh"`` or ``"relu"``). Any name accepted by the '
            'other builders (``"relu"``, ``"leaky_relu"``, ..., or a ``(name, options)`` pair).',
        ),
        Option(
            "form",
            "classic",
            '``"classic"`` (tanh, average pooling) or ``"modern"`` (ReLU, max pooling). ``activation`` '
            "overrides the form's nonlinearity.",
        ),
        Option("filters", (6, 16, 120), "output maps of C1, C3 and C5 (the paper: 6, 16, 120)."),
        Option("units", 84, "units of F6 (the paper: 84)."),
        Option(
            "batch_norm",
            False,
            "batch normalisation after C1, C3, C5 and F6, before the nonlinearity (not in the paper; "
            "convolutions and F6 then have no bias).",
        ),
        Option("dropout", 0.0, "dropout rate on F6's input and output (0: none, the paper)."),
    ),
    returns="A ``keras.Model`` with layers ``c1, s2, c3, s4, c5, f6, predictions``.",
)
