"""Network in Network (Lin, Chen & Yan, 2013).

Each mlpconv block is a spatial convolution followed by two 1x1 convolutions (the "micro
network" shared across positions), all with ReLU; the classifier is the last block itself
(its last 1x1 convolution has one map per class) followed by global average pooling, with
no fully-connected layer.

- ``nin_cifar``: three mlpconv blocks for 32x32 inputs, the authors' CIFAR-10 configuration
  (192-160-96 5x5, 192-192-192 5x5, 192-192-classes 3x3; max-pool then average-pool 3x3/2,
  dropout 0.5 after the first two blocks). 966,986 parameters with 10 classes.
- ``nin``: four mlpconv blocks for 224x224 ImageNet inputs, the authors' released ImageNet
  model (96 11x11/4, 256 5x5, 384 3x3, 1024 3x3 with 1x1 layers of the same width and a
  final 1x1 to ``classes``; 3x3/2 max-pools; dropout 0.5 before the last block).
  7,595,176 parameters with 1000 classes.

With ``include_top=False`` the last 1x1 convolution (the class maps) is left out.
"""

from __future__ import annotations

import dataclasses

from keras import layers

from kerasnets._registry import FeatureInfo
from kerasnets.blocks import activation_channels, apply_activation, finalize_model, global_pool, model_input, prepare
from kerasnets.models._variants import define_variants, variant

__all__ = ["nin", "nin_cifar", "NiNBlock", "CONFIGS"]


@dataclasses.dataclass(frozen=True)
class NiNBlock:
    """One mlpconv block: a ``kernel`` convolution of ``widths[0]`` maps, then 1x1 convs.

    ``widths[-1] is None`` means "classes" (the classifier block). ``pool`` is "max", "avg"
    or None (3x3 stride 2, padding as in the authors' model); ``dropout`` follows the pool.
    """

    widths: tuple
    kernel: int
    strides: int = 1
    padding: str = "same"
    pool: str | None = "max"
    dropout: float = 0.0
    dropout_before: float = 0.0


CONFIGS = {
    "nin_cifar": (
        NiNBlock((192, 160, 96), 5, pool="max", dropout=0.5),
        NiNBlock((192, 192, 192), 5, pool="avg", dropout=0.5),
        NiNBlock((192, 192, None), 3, pool=None),
    ),
    "nin": (
        NiNBlock((96, 96, 96), 11, strides=4, padding="valid", pool="max"),
        NiNBlock((256, 256, 256), 5, pool="max"),
        NiNBlock((384, 384, 384), 3, pool="max"),
        NiNBlock((1024, 1024, None), 3, pool=None, dropout_before=0.5),
    ),
}


def _build(spec, blocks, common: dict):
    """Build any NiN of ``CONFIGS`` (the family's one builder)."""
    model_name = spec.name
    args = prepare(spec, common)
    img = model_input(args)
    x = img
    for b, block in enumerate(blocks, start=1):
        if block.dropout_before:
            x = layers.Dropout(block.dropout_before, name=f"block{b}_dropout")(x)
        for i, width in enumerate(block.widths):
            if width is None and not args.include_top:
                break
            name = f"block{b}_conv" if i == 0 else f"block{b}_mlp{i}"
            x = layers.Conv2D(
                args.classes if width is None else width,
                block.kernel if i == 0 else 1,
                strides=block.strides if i == 0 else 1,
                padding=block.padding if i == 0 else "valid",
                name=name,
            )(x)
            act = args.activation
            if width is None and activation_channels(act, args.classes) != args.classes:
                # The class maps must stay one per class: a width-changing activation
                # (crelu, maxout) is replaced there by the paper's ReLU.
                act = "relu"
            x = apply_activation(x, act, f"{name}_act")
        if block.pool:
            pool = layers.MaxPooling2D if block.pool == "max" else layers.AveragePooling2D
            x = pool(3, strides=2, padding="same" if model_name == "nin_cifar" else "valid", name=f"pool{b}")(x)
        if block.dropout:
            x = layers.Dropout(block.dropout, name=f"block{b}_dropout")(x)
    if args.include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Activation(args.classifier_activation or "linear", name="predictions")(x)
    else:
        x = global_pool(x, args.pooling)
    return finalize_model(img, x, args)


nin_cifar, nin = define_variants(
    "nin",
    _build,
    (
        variant(
            "nin_cifar",
            CONFIGS["nin_cifar"],
            doc="""Network in Network for 32x32 images (three mlpconv blocks; Lin et al. 2013).

            The classifier is the last 1x1 convolution (``block3_mlp2``) plus global average pooling.
            """,
            example="""
            >>> kerasnets.nin_cifar().count_params()
            966986
            """,
            default_size=32,
            min_size=8,
            ref_params=966_986,
            ref_params_source="hand count of the authors' CIFAR-10 configuration (Lin et al. 2013)",
            features=(FeatureInfo("pool1", 96, 2), FeatureInfo("pool2", 192, 4)),
            default_classes=10,
            preprocessing="torch",
        ),
        variant(
            "nin",
            CONFIGS["nin"],
            doc="Network in Network for 224x224 ImageNet images (four mlpconv blocks; Lin et al. 2013).",
            example="""
            >>> kerasnets.nin().output.shape
            (None, 1000)
            """,
            default_size=224,
            min_size=67,
            ref_params=7_595_176,
            ref_params_source="hand count of the authors' released ImageNet NiN model (4 mlpconv blocks)",
            features=(FeatureInfo("pool1", 96, 8), FeatureInfo("pool2", 256, 16), FeatureInfo("pool3", 384, 32)),
            preprocessing="caffe",
        ),
    ),
    returns="A ``keras.Model``; without the top, the last 1x1 convolution (the class maps) is left out.",
    defaults=dict(paper="Lin, Chen & Yan 2013, Network in network"),
)
