"""DenseNet (Huang, Liu, van der Maaten & Weinberger 2016, "Densely connected convolutional
networks"): DenseNet-BC 121/169/201/264 (growth rate k=32), 161 (k=48) and the CIFAR
DenseNet-BC (L=100, k=12), all built by ONE generic builder, ``_build``, from
``CONFIGS``.

Structure (names follow ``keras.applications``):

- stem ``conv1``: ImageNet: 7x7/2 convolution of 2k maps (64 for k=32, 96 for k=48), BN,
  activation, 3x3/2 max-pool ``pool1``; CIFAR: one 3x3 convolution of 2k maps.
- dense blocks ``conv2`` ... (``conv{s}_block{i}``): each layer sees the concatenation of all
  earlier maps of its block: ``BN -> act -> 1x1 conv (4k maps, the "B" bottleneck) -> BN -> act
  -> 3x3 conv (k maps)``, concatenated to its input (``_concat``).
- transitions ``pool2`` ...: ``BN -> act -> 1x1 conv (floor(theta * m) maps, the "C"
  compression, theta = 0.5) -> 2x2/2 average pool``.
- ``final_bn``/``final_act``, global average pooling, the classifier.

Activations that change the channel count (``"crelu"``, ``"maxout"``): every activation here
is followed by a convolution (or by the head), which simply sees the changed width; the
concatenated feature maps are convolution outputs, so the growth rate and the transition
widths are unaffected.

Parameter counts (classes=1000, trainable) equal torchvision's densenet121/161/169/201 and
keras.applications' DenseNet121/169/201 (which have no convolution biases either; Keras also
lists the BN moving statistics as non-trainable parameters). ``keras_compatible=True`` only
changes BN epsilon to keras.applications' 1.001e-5 (and momentum to 0.99): weights saved from
``keras.applications.DenseNet121``/``169``/``201`` then load and give the same outputs.
"""

from __future__ import annotations

import dataclasses

from keras import layers

from kerasnets._registry import FeatureInfo
from kerasnets.blocks import apply_activation, classifier_head, finalize_model, model_input, prepare
from kerasnets.checks import check_bool, check_fraction
from kerasnets.models._variants import CIFAR_SIZES, IMAGENET_SIZES, Option, define_variants, variant

__all__ = [
    "DenseNetConfig",
    "CONFIGS",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "densenet264",
    "densenet_bc_100",
]


@dataclasses.dataclass(frozen=True)
class DenseNetConfig:
    """One DenseNet as data.

    Attributes:
        growth_rate: k, the maps each dense layer adds.
        block_layers: the number of dense layers in each dense block.
        stem: ``"imagenet"`` (7x7/2 conv, BN, act, 3x3/2 max-pool) or ``"cifar"`` (3x3 conv).
        stem_width: the stem's output maps (2k in DenseNet-BC).
        bottleneck_width: the 1x1 bottleneck outputs ``bottleneck_width * k`` maps (4 in
            DenseNet-B); None for no bottleneck (plain DenseNet).
        compression: theta, the fraction of maps a transition keeps (0.5 in DenseNet-C).
    """

    growth_rate: int
    block_layers: tuple[int, ...]
    stem: str = "imagenet"
    stem_width: int = 64
    bottleneck_width: int | None = 4
    compression: float = 0.5

    def stage_channels(self) -> tuple[int, ...]:
        """The channels at the end of each dense block."""
        out, m = [], self.stem_width
        for s, n in enumerate(self.block_layers):
            m += n * self.growth_rate
            out.append(m)
            if s < len(self.block_layers) - 1:
                m = int(m * self.compression)
        return tuple(out)


CONFIGS = {
    "densenet121": DenseNetConfig(32, (6, 12, 24, 16)),
    "densenet161": DenseNetConfig(48, (6, 12, 36, 24), stem_width=96),
    "densenet169": DenseNetConfig(32, (6, 12, 32, 32)),
    "densenet201": DenseNetConfig(32, (6, 12, 48, 32)),
    "densenet264": DenseNetConfig(32, (6, 12, 64, 48)),
    "densenet_bc_100": DenseNetConfig(12, (16, 16, 16), stem="cifar", stem_width=24),
}


@dataclasses.dataclass(frozen=True)
class _Options:
    activation: object
    bn_epsilon: float
    bn_momentum: float
    dropout: float


def _bn_act(x, name, opts):
    x = layers.BatchNormalization(epsilon=opts.bn_epsilon, momentum=opts.bn_momentum, name=f"{name}_bn")(x)
    return apply_activation(x, opts.activation, f"{name}_act")


def _conv(x, filters, kernel, name, opts):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name)(x)
    if opts.dropout:
        x = layers.Dropout(opts.dropout, name=f"{name}_drop")(x)
    return x


def _dense_layer(x, config, name, opts):
    """One composite function H: (BN-act-1x1 conv) -> BN-act-3x3 conv, concatenated to x."""
    y = x
    if config.bottleneck_width:
        y = _bn_act(y, f"{name}_0", opts)
        y = _conv(y, config.bottleneck_width * config.growth_rate, 1, f"{name}_1_conv", opts)
        y = _bn_act(y, f"{name}_1", opts)
    else:
        y = _bn_act(y, f"{name}_1", opts)
    y = _conv(y, config.growth_rate, 3, f"{name}_2_conv", opts)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def _transition(x, config, name, opts):
    """BN-act-1x1 conv to floor(theta * m) maps, then 2x2/2 average pooling."""
    channels = int(x.shape[-1] * config.compression)
    x = _bn_act(x, name, opts)
    x = _conv(x, channels, 1, f"{name}_conv", opts)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _build(spec, config: DenseNetConfig, common: dict, *, keras_compatible, dropout):
    """Build any DenseNet of ``CONFIGS`` (the family's one builder)."""
    check_bool("keras_compatible", keras_compatible)
    dropout = check_fraction("dropout", dropout)
    args = prepare(spec, common)
    opts = _Options(
        activation=args.activation,
        bn_epsilon=1.001e-5 if keras_compatible else 1e-5,
        bn_momentum=0.99 if keras_compatible else 0.9,
        dropout=dropout,
    )
    img = model_input(args)
    if config.stem == "cifar":
        x = layers.Conv2D(config.stem_width, 3, padding="same", use_bias=False, name="conv1_conv")(img)
    else:
        # 7x7/2 and 3x3/2 with symmetric padding (torchvision, keras.applications). The max-pool's
        # zero padding equals -inf padding after a ReLU (the default).
        x = layers.ZeroPadding2D(3, name="conv1_pad")(img)
        x = layers.Conv2D(config.stem_width, 7, strides=2, use_bias=False, name="conv1_conv")(x)
        x = _bn_act(x, "conv1", opts)
        x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for s, n in enumerate(config.block_layers):
        for i in range(n):
            x = _dense_layer(x, config, f"conv{s + 2}_block{i + 1}", opts)
        if s < len(config.block_layers) - 1:
            x = _transition(x, config, f"pool{s + 2}", opts)
    x = _bn_act(x, "final", opts)
    return finalize_model(img, classifier_head(x, args), args)


_PAPER = "Huang, Liu, van der Maaten & Weinberger 2016, Densely connected convolutional networks"

def _features(config: DenseNetConfig):
    out = []
    stride = 4 if config.stem == "imagenet" else 1
    channels = config.stage_channels()
    for s, n in enumerate(config.block_layers):
        last = s == len(config.block_layers) - 1
        layer = "final_act" if last else f"conv{s + 2}_block{n}_concat"
        out.append(FeatureInfo(layer, channels[s], stride))
        stride *= 2
    return tuple(out)


_KERAS_APPLICATIONS = {"densenet121": "DenseNet121", "densenet169": "DenseNet169", "densenet201": "DenseNet201"}


def _keras_doc(v):
    text = "use keras.applications' BN epsilon 1.001e-5 (and momentum 0.99)"
    if v.name in _KERAS_APPLICATIONS:
        text += f"; then keras.applications.{_KERAS_APPLICATIONS[v.name]} weight files load and give its outputs"
    return text + "."


_OPTIONS = (
    Option("keras_compatible", False, _keras_doc),
    Option(
        "dropout",
        0.0,
        "dropout rate after each convolution of the dense layers and transitions (the paper uses "
        "0.2 on CIFAR without data augmentation; 0 by default).",
    ),
)


def _entry(name, *, title, **spec):
    """One variant record: the docstring's text and the registry fields."""
    config = CONFIGS[name]
    return variant(
        name,
        config,
        doc=f"""{title}

            Growth rate k={config.growth_rate}, dense blocks of {config.block_layers} layers, DenseNet-BC
            (1x1 bottleneck to 4k maps, compression 0.5).
        """,
        features=_features(config),
        preprocessing="torch",
        **(CIFAR_SIZES if config.stem == "cifar" else IMAGENET_SIZES),
        **spec,
    )


def _torchvision_entry(depth, params, macs):
    """A DenseNet torchvision has, with its published counts (``macs`` holds its GFLOPS figure)."""
    name = f"densenet{depth}"
    growth_rate = CONFIGS[name].growth_rate
    k = "" if growth_rate == 32 else f"; k={growth_rate}"
    return _entry(
        name, title=f"DenseNet-{depth} (Huang et al. 2016, Table 1{k}).",
        ref_params=params, ref_params_source=f"torchvision {name} (num_params)",
        ref_macs=macs,
        ref_macs_source=f"torchvision {name}: {macs / 1e9:g} GFLOPS (multiply-adds; the paper only plots FLOPs, Fig. 3)",
    )


(
    densenet121,
    densenet161,
    densenet169,
    densenet201,
    densenet264,
    densenet_bc_100,
) = define_variants(
    "densenet",
    _build,
    (
        _torchvision_entry(121, 7_978_856, 2_834_000_000),
        _torchvision_entry(161, 28_681_000, 7_728_000_000),
        _torchvision_entry(169, 14_149_480, 3_360_000_000),
        _torchvision_entry(201, 20_013_928, 4_291_000_000),
        _entry(
            "densenet264", title="DenseNet-264 (Huang et al. 2016, Table 1).",
            ref_params=33_337_704, ref_params_source="hand count of Table 1's DenseNet-264 (not in torchvision or keras.applications)",
            ref_macs=5_751_653_376, ref_macs_source="analytic count of this layout (no published figure)",
        ),
        _entry(
            "densenet_bc_100", title="DenseNet-BC (L=100, k=12) for CIFAR (Huang et al. 2016, sec. 3 and Table 2).",
            ref_params=769_162, ref_params_source="hand count with 10 classes; paper Table 2: 0.8M",
            ref_macs=287_929_692, ref_macs_source="analytic count of this layout at 32x32 (the paper gives none)",
        ),
    ),
    options=_OPTIONS,
    returns=(
        "A ``keras.Model``; dense-block outputs ``conv{s}_block{i}_concat`` (see ``get_spec(name).features``)."
    ),
    defaults=dict(paper=_PAPER),
)
