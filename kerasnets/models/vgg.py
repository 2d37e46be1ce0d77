"""VGG (Simonyan & Zisserman, 2014, "Very deep convolutional networks for large-scale image
recognition"), configurations A, A-LRN, B, C, D (VGG-16) and E (VGG-19) of the paper's Table 1.

One builder, driven by ``CONFIGS``: each configuration is its five blocks of 3x3 (or, in C,
1x1) convolutions, each block followed by a 2x2/2 max-pool, then fc6 4096, fc7 4096 (dropout 0.5
after each) and the classifier.

``fully_convolutional=True`` is the paper's dense-evaluation form (sec. 3.2): fc6 becomes a 7x7
convolution, fc7 and the classifier 1x1 convolutions, and the class score map is averaged
spatially. A 224x224 image gives a 1x1 map, a 448x448 image an 8x8 map (the 7x7 convolution
slides with stride 1 over the 14x14 pool5 map). The weights are the dense ones reshaped
(see kerasnets.training for the converter).

Parameter counts (classes=1000) equal torchvision's vgg11/13/16/19 and keras.applications'
VGG16/VGG19 (138,357,544 and 143,667,240); the paper's Table 2 gives 133M (A, A-LRN, B), 134M (C),
138M (D) and 144M (E). Weights saved from ``keras.applications.VGG16``/``VGG19`` load into
``vgg16``/``vgg19`` and give the same outputs (same layer order; names differ).
"""

from __future__ import annotations

import dataclasses

from keras import layers

from kerasnets._registry import FeatureInfo
from kerasnets.blocks import apply_activation, fc_head, finalize_model, global_pool, model_input, prepare
from kerasnets.checks import check_bool, check_fraction
from kerasnets.layers import LocalResponseNormalization
from kerasnets.models._variants import Option, define_variants, variant

__all__ = ["vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19", "CONFIGS", "VGGConfig"]


@dataclasses.dataclass(frozen=True)
class VGGConfig:
    """One column of the paper's Table 1.

    Attributes:
        blocks: per block, the kernel size of each convolution (3, or 1 for C's 1x1 layers).
        widths: the channels of each block.
        lrn: LRN after the first convolution (configuration A-LRN).
    """

    blocks: tuple[tuple[int, ...], ...]
    widths: tuple[int, ...] = (64, 128, 256, 512, 512)
    lrn: bool = False


CONFIGS = {
    "vgg11": VGGConfig(blocks=((3,), (3,), (3, 3), (3, 3), (3, 3))),
    "vgg11_lrn": VGGConfig(blocks=((3,), (3,), (3, 3), (3, 3), (3, 3)), lrn=True),
    "vgg13": VGGConfig(blocks=((3, 3), (3, 3), (3, 3), (3, 3), (3, 3))),
    "vgg16_c": VGGConfig(blocks=((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1))),
    "vgg16": VGGConfig(blocks=((3, 3), (3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3))),
    "vgg19": VGGConfig(blocks=((3, 3), (3, 3), (3, 3, 3, 3), (3, 3, 3, 3), (3, 3, 3, 3))),
}

_FEATURES = tuple(FeatureInfo(f"pool{i + 1}", w, 2 ** (i + 1)) for i, w in enumerate((64, 128, 256, 512, 512)))
_PAPER = "Simonyan & Zisserman 2014, Very deep convolutional networks for large-scale image recognition"


def _build(spec, config: VGGConfig, common: dict, *, fully_convolutional, dropout, batch_norm):
    """Build any VGG configuration of ``CONFIGS`` (the family's one builder)."""
    check_bool("fully_convolutional", fully_convolutional)
    check_bool("batch_norm", batch_norm)
    dropout = check_fraction("dropout", dropout)
    args = prepare(spec, common, fixed_size=not fully_convolutional)
    act = args.activation
    img = model_input(args)
    x = img
    for b, (kernels, width) in enumerate(zip(config.blocks, config.widths), start=1):
        for i, k in enumerate(kernels, start=1):
            x = layers.Conv2D(width, k, padding="same", name=f"conv{b}_{i}")(x)
            if batch_norm:
                # Not in the paper (2014 predates batch norm): torchvision's vgg*_bn form, BN
                # (epsilon 1e-5) between each convolution, which keeps its bias, and its ReLU.
                x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"conv{b}_{i}_bn")(x)
            x = apply_activation(x, act, f"conv{b}_{i}_act")
            if config.lrn and b == 1 and i == 1:
                x = LocalResponseNormalization(name="lrn1")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"pool{b}")(x)
    if not args.include_top:
        return finalize_model(img, global_pool(x, args.pooling), args)
    if fully_convolutional:
        # Dense evaluation (sec. 3.2): fc6 -> 7x7 conv, fc7 and fc8 -> 1x1 convs, then the
        # class score map is averaged spatially before the softmax.
        x = layers.Conv2D(4096, 7, name="fc6")(x)
        x = apply_activation(x, act, "fc6_act")
        x = layers.Dropout(dropout, name="drop6")(x)
        x = layers.Conv2D(4096, 1, name="fc7")(x)
        x = apply_activation(x, act, "fc7_act")
        x = layers.Dropout(dropout, name="drop7")(x)
        x = layers.Conv2D(args.classes, 1, name="fc8")(x)
        x = layers.GlobalAveragePooling2D(name="score_avg")(x)
        x = layers.Activation(args.classifier_activation or "linear", name="predictions")(x)
        return finalize_model(img, x, args)
    x = fc_head(x, args, dropout=dropout)
    return finalize_model(img, x, args)


_OPTIONS = (
    Option(
        "fully_convolutional",
        False,
        "the paper's dense-evaluation form (fc layers as 7x7 and 1x1 convolutions, class scores "
        "averaged); any input size >= 224.",
    ),
    Option("dropout", 0.5, "dropout rate after fc6 and fc7 (the paper's 0.5)."),
    Option(
        "batch_norm",
        False,
        "batch normalisation after every convolution (not in the paper; torchvision's "
        "``vgg*_bn`` form, whose published weights load with ``weights=\"timm/vgg16_bn.tv_in1k\"``).",
    ),
)
_TV_MACS = "torchvision's published GFLOPS (multiply-adds at 224x224)"


def _entry(name, config_letter, paper_name, params, source, macs=None, macs_source=""):
    """One variant record: the docstring's text and the registry fields."""
    return variant(
        name,
        CONFIGS[name],
        doc=f"VGG configuration {config_letter} ({paper_name}; Simonyan & Zisserman 2014, Table 1).",
        ref_params=params,
        ref_params_source=source,
        ref_macs=macs,
        ref_macs_source=macs_source,
    )


vgg11, vgg11_lrn, vgg13, vgg16_c, vgg16, vgg19 = define_variants(
    "vgg",
    _build,
    (
        _entry("vgg11", "A", "VGG-11", 132_863_336, "torchvision vgg11; paper Table 2: 133M", 7_610_000_000, _TV_MACS),
        _entry(
            "vgg11_lrn", "A-LRN", "VGG-11 with LRN", 132_863_336, "same as A (LRN has no parameters); paper: 133M",
            7_610_000_000, _TV_MACS + " for A (LRN has no multiply-adds by our convention)",
        ),
        _entry("vgg13", "B", "VGG-13", 133_047_848, "torchvision vgg13; paper Table 2: 133M", 11_310_000_000, _TV_MACS),
        _entry(
            "vgg16_c", "C", "VGG-16 with 1x1 convolutions", 133_638_952,
            "hand count of Table 1 column C; paper Table 2: 134M",
        ),
        _entry(
            "vgg16", "D", "VGG-16", 138_357_544, "torchvision vgg16 and keras.applications.VGG16; paper: 138M",
            15_470_000_000, _TV_MACS,
        ),
        _entry(
            "vgg19", "E", "VGG-19", 143_667_240, "torchvision vgg19 and keras.applications.VGG19; paper: 144M",
            19_630_000_000, _TV_MACS,
        ),
    ),
    options=_OPTIONS,
    returns="A ``keras.Model`` with layers ``conv1_1 ... pool5, fc6, fc7, predictions``.",
    defaults=dict(
        paper=_PAPER, default_size=224, min_size=32, fixed_size=True, features=_FEATURES, preprocessing="caffe"
    ),
)
