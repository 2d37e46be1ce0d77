"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012, "ImageNet classification with deep
convolutional neural networks").

The layout of the project card's table: conv1 96@11x11/4, LRN, overlapping max-pool 3x3/2,
conv2 256@5x5 pad 2, LRN, pool, conv3 384@3x3, conv4 384@3x3, conv5 256@3x3 (pad 1), pool,
fc6 4096, fc7 4096 (each followed by dropout 0.5), fc8 -> softmax.

``towers=2`` is the paper's two-GPU form: conv2, conv4 and conv5 only see the half of the
previous layer's maps that lives on their GPU, which is exactly a grouped convolution with
``groups=2``; conv3 and the fully-connected layers talk across GPUs. ``towers=1`` is the
one-tower form most re-implementations use (torchvision's differs again: 64/192/384/256/256).

The grouped layers are [`GroupedConv2D`][kerasnets.layers.GroupedConv2D]: a ``Conv2D`` with the same
configuration, the same kernel ``(kh, kw, in/2, filters)`` and the same outputs, computed as one
convolution per group. TensorFlow's CPU kernels run ``Conv2D(groups=2)`` 5-14x slower forward +
backward than the two halves (bench/bench_layers.py), which made the two-tower model slower than
one tower with twice the MACs. The class name changes the keys of a ``.weights.h5`` file (Keras
keys layers by class and position); [`load_weights`][kerasnets.load_weights] still loads files
saved when these layers were ``Conv2D(groups=2)``.

Input: the paper says 224x224, but 224 only gives conv1's 55x55 map with padding; the
``padded=True`` form pads 2 pixels on each side (floor((224 + 4 - 11) / 4) + 1 = 55), the
``padded=False`` form takes 227x227 without padding ((227 - 11) / 4 + 1 = 55).

Parameters (classes=1000): 60,965,224 with two towers, 62,378,344 with one tower
(hand counts from the layer table; the paper says "60 million").
"""

from __future__ import annotations

from keras import layers

from kerasnets._registry import FeatureInfo
from kerasnets.blocks import apply_activation, fc_head, finalize_model, global_pool, model_input, prepare
from kerasnets.checks import check_bool, check_choice, check_fraction
from kerasnets.layers import GroupedConv2D, LocalResponseNormalization
from kerasnets.models._variants import Option, define_variants, variant

__all__ = ["alexnet"]


def _build(spec, config, common: dict, *, towers, padded, lrn, dropout):
    """Build AlexNet (the family's one builder)."""
    check_choice("towers", towers, (1, 2))
    check_bool("padded", padded)
    check_bool("lrn", lrn)
    dropout = check_fraction("dropout", dropout)
    args = prepare(spec, common, default_size=224 if padded else 227, min_size=63 if padded else 67)
    act = args.activation
    # conv2/conv4/conv5: one group per tower (towers=1: a plain Conv2D, as before).
    grouped = GroupedConv2D if towers > 1 else layers.Conv2D
    img = model_input(args)
    x = img
    if padded:
        x = layers.ZeroPadding2D(2, name="conv1_pad")(x)
    x = layers.Conv2D(96, 11, strides=4, name="conv1")(x)
    x = apply_activation(x, act, "conv1_act")
    if lrn:
        x = LocalResponseNormalization(name="lrn1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = grouped(256, 5, padding="same", groups=towers, name="conv2")(x)
    x = apply_activation(x, act, "conv2_act")
    if lrn:
        x = LocalResponseNormalization(name="lrn2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", name="conv3")(x)
    x = apply_activation(x, act, "conv3_act")
    x = grouped(384, 3, padding="same", groups=towers, name="conv4")(x)
    x = apply_activation(x, act, "conv4_act")
    x = grouped(256, 3, padding="same", groups=towers, name="conv5")(x)
    x = apply_activation(x, act, "conv5_act")
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = fc_head(x, args, dropout=dropout) if args.include_top else global_pool(x, args.pooling)
    return finalize_model(img, x, args)


(alexnet,) = define_variants(
    "alexnet",
    _build,
    (
        variant(
            "alexnet",
            doc="""AlexNet (Krizhevsky et al. 2012), two-tower (default) or one-tower.

            The parameter count is that of the default two towers (the paper says "60 million");
            ``towers=1``: 62,378,344.
            """,
            example="""
            >>> kerasnets.alexnet(towers=1).count_params()
            62378344
            """,
            paper="Krizhevsky et al. 2012, ImageNet classification with deep convolutional neural networks",
            default_size=224,
            min_size=63,
            fixed_size=True,
            ref_params=60_965_224,
            ref_params_source="hand count of the paper's two-tower layer table (paper: '60 million')",
            ref_macs=724_406_816,
            ref_macs_source="hand count of the two-tower layer table (the widely quoted 0.72 GMACs); the project "
            "card's per-layer table is checked row by row by `kerasnets summary alexnet --check`",
            features=(FeatureInfo("pool1", 96, 8), FeatureInfo("pool2", 256, 16), FeatureInfo("pool5", 256, 32)),
            preprocessing="caffe",
        ),
    ),
    options=(
        Option("towers", 2, "2 (the paper's two-GPU grouping of conv2/conv4/conv5) or 1."),
        Option("padded", True, "True for 224x224 inputs padded by 2 before conv1, False for 227x227 unpadded."),
        Option(
            "lrn",
            True,
            "apply local response normalisation after conv1 and conv2 (the paper's k=2, n=5, "
            "alpha=1e-4, beta=0.75).",
        ),
        Option("dropout", 0.5, "dropout rate after fc6 and fc7 (the paper's 0.5)."),
    ),
    returns="A ``keras.Model`` with layers ``conv1, lrn1, pool1, conv2, ..., fc6, fc7, predictions``.",
)
