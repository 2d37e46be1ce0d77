"""The residual family: ResNet v1 (He et al. 2015), plain networks, pre-activation ResNet v2
(He et al. 2016), the CIFAR ResNets (6n+2 and the 1001-layer pre-activation network) and
ResNeXt (Xie et al. 2016), all built by ONE generic builder, ``_build``, from the stage
configurations in ``CONFIGS``.

Structure (names follow ``keras.applications``, so ``model.summary()`` and feature taps match):

- stem ``conv1``: ImageNet: 7x7/2 convolution (+ BN + activation in v1), 3x3/2 max-pool
  ``pool1``; CIFAR: one 3x3 convolution of 16 maps.
- stages ``conv2`` ... ``conv5`` (CIFAR: ``conv2`` ... ``conv4``) of blocks
  ``conv{s}_block{b}``; each block's output layer is ``conv{s}_block{b}_out``.
- v1 block (post-activation): ``x -> conv-BN-act -> ... -> conv-BN``, ``+ shortcut``, then
  the activation (``_out``). Plain networks are the same stacks without the shortcut and Add.
- v2 block (pre-activation): ``BN -> act`` (``_preact_bn``/``_preact_act``) then
  ``conv -> BN -> act -> ... -> conv``; the identity path carries ``x`` untouched and the
  block output is the Add (``_out``). The network ends with ``post_bn``/``post_act``.
- basic block: two 3x3 convolutions; bottleneck: 1x1 (width w), 3x3 (w, ``groups`` =
  cardinality for ResNeXt), 1x1 (4 x the stage's base width).

Shortcuts (the paper's options, sec. 3.3): ``"A"`` identity, subsampled and zero-padded with
extra channels ([ZeroPadChannels][kerasnets.layers.ZeroPadChannels], no parameters); ``"B"`` (default for
ImageNet nets) a projection (1x1 convolution + BN) only where the shape changes; ``"C"`` a
projection on every block. CIFAR 6n+2 nets default to ``"A"`` as in the paper's sec. 4.2.

Where the stride sits in a downsampling bottleneck: the paper (and Caffe, keras.applications)
put it on the first 1x1 convolution: that is ``resnet50`` here, 3.86 GMACs, Table 1's
"3.8 x 10^9". torchvision's "v1.5" puts it on the 3x3 convolution (4.09 GMACs, same
parameters): ``downsample_in_3x3=True``. ResNeXt and the pre-activation nets put it on the 3x3.

Activations that change the channel count (``"crelu"`` doubles, ``"maxout"`` divides): the
convolution after an activation simply sees the changed width. Where an activation's output
becomes a shortcut (the ``_out`` activation of a v1 block, the stem's activation) the residual
stream has the changed width; when that differs from the branch's output the shortcut adapts
like a dimension change: option A zero-pads when the stream is narrower (maxout) and uses a
projection when it is wider (crelu: zero-padding cannot drop channels); options B and C use a
projection. Pre-activation nets keep a clean residual stream, so only the projections and the
convolutions after an activation see the changed width.

Parameter counts (classes=1000, trainable; Keras also lists BN moving statistics as
non-trainable parameters) equal torchvision's for resnet18..152 and the ResNeXts
(see each variant's docstring and docs/models/resnet.md).

``keras_compatible=True`` follows keras.applications instead: convolution biases where it has
them (every v1 convolution; the stem, shortcut and last 1x1 convolutions of v2), BN epsilon
1.001e-5 and momentum 0.99, the stride on v1's first 1x1 convolution, and, in v2, downsampling
in the LAST block of a stage (its shortcut a 1x1/2 max-pool) with a stride-1 projection in the
first. Weights saved from ``keras.applications.ResNet50``/``101``/``152`` and
``ResNet50V2``/``101V2``/``152V2`` then load into ``resnet50(keras_compatible=True)`` etc. and
give the same outputs.
"""

from __future__ import annotations

import dataclasses

from keras import layers

from kerasnets._registry import FeatureInfo
from kerasnets.blocks import activation_channels, apply_activation, classifier_head, finalize_model, model_input, prepare
from kerasnets.checks import check_bool, check_choice, check_none_unless
from kerasnets.layers import ZeroPadChannels
from kerasnets.models._variants import CIFAR_SIZES, IMAGENET_SIZES, Option, define_variants, variant

__all__ = [
    "ResNetConfig",
    "CONFIGS",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "plain18",
    "plain34",
    "resnet50_v2",
    "resnet101_v2",
    "resnet152_v2",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet110",
    "resnet1001",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
]

SHORTCUTS = ("A", "B", "C")


@dataclasses.dataclass(frozen=True)
class ResNetConfig:
    """One residual architecture as data.

    Attributes:
        block: ``"basic"`` (two 3x3 convolutions) or ``"bottleneck"`` (1x1, 3x3, 1x1).
        depths: blocks per stage.
        widths: the base width of each stage (the basic block's width, the bottleneck's
            inner width before ResNeXt scaling).
        strides: the stride of each stage.
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool) or ``"cifar"`` (3x3 conv).
        stem_width: the stem's output channels.
        preact: pre-activation (v2) blocks.
        residual: False for the plain networks (no shortcuts).
        shortcut: the default shortcut option ("A", "B" or "C").
        expansion: bottleneck output = ``expansion`` x base width.
        cardinality: ResNeXt's C (groups of the 3x3 convolution); 1 for ResNet.
        group_width: ResNeXt's d at the first stage (width per group); the 3x3 width of
            stage i is ``cardinality * group_width * widths[i] // widths[0]``. None: ResNet.
        downsample_in_3x3: put a bottleneck's stride on the 3x3 (True) or the first 1x1.
    """

    block: str
    depths: tuple[int, ...]
    widths: tuple[int, ...] = (64, 128, 256, 512)
    strides: tuple[int, ...] = (1, 2, 2, 2)
    stem: str = "imagenet"
    stem_width: int = 64
    preact: bool = False
    residual: bool = True
    shortcut: str = "B"
    expansion: int = 4
    cardinality: int = 1
    group_width: int | None = None
    downsample_in_3x3: bool = False

    def inner_width(self, stage: int) -> int:
        """The width of the 3x3 (grouped) convolution of a bottleneck in ``stage``."""
        if self.group_width is None:
            return self.widths[stage]
        return self.cardinality * self.group_width * self.widths[stage] // self.widths[0]

    def out_width(self, stage: int) -> int:
        """The output channels of every block of ``stage``."""
        return self.widths[stage] * (self.expansion if self.block == "bottleneck" else 1)


_CIFAR = dict(widths=(16, 32, 64), strides=(1, 2, 2), stem="cifar", stem_width=16)


def _cifar_basic(n):
    return ResNetConfig(block="basic", depths=(n, n, n), shortcut="A", **_CIFAR)


CONFIGS = {
    "resnet18": ResNetConfig(block="basic", depths=(2, 2, 2, 2)),
    "resnet34": ResNetConfig(block="basic", depths=(3, 4, 6, 3)),
    "resnet50": ResNetConfig(block="bottleneck", depths=(3, 4, 6, 3)),
    "resnet101": ResNetConfig(block="bottleneck", depths=(3, 4, 23, 3)),
    "resnet152": ResNetConfig(block="bottleneck", depths=(3, 8, 36, 3)),
    "plain18": ResNetConfig(block="basic", depths=(2, 2, 2, 2), residual=False),
    "plain34": ResNetConfig(block="basic", depths=(3, 4, 6, 3), residual=False),
    "resnet50_v2": ResNetConfig(block="bottleneck", depths=(3, 4, 6, 3), preact=True, downsample_in_3x3=True),
    "resnet101_v2": ResNetConfig(block="bottleneck", depths=(3, 4, 23, 3), preact=True, downsample_in_3x3=True),
    "resnet152_v2": ResNetConfig(block="bottleneck", depths=(3, 8, 36, 3), preact=True, downsample_in_3x3=True),
    "resnet20": _cifar_basic(3),
    "resnet32": _cifar_basic(5),
    "resnet44": _cifar_basic(7),
    "resnet56": _cifar_basic(9),
    "resnet110": _cifar_basic(18),
    "resnet1001": ResNetConfig(
        block="bottleneck", depths=(111, 111, 111), preact=True, downsample_in_3x3=True, **_CIFAR
    ),
    "resnext50_32x4d": ResNetConfig(
        block="bottleneck", depths=(3, 4, 6, 3), cardinality=32, group_width=4, downsample_in_3x3=True
    ),
    "resnext101_32x8d": ResNetConfig(
        block="bottleneck", depths=(3, 4, 23, 3), cardinality=32, group_width=8, downsample_in_3x3=True
    ),
    "resnext101_64x4d": ResNetConfig(
        block="bottleneck", depths=(3, 4, 23, 3), cardinality=64, group_width=4, downsample_in_3x3=True
    ),
}


@dataclasses.dataclass(frozen=True)
class _Options:
    """Per-build choices shared by every block (resolved from the builder's arguments)."""

    activation: object
    shortcut: str
    downsample_in_3x3: bool
    conv_bias: bool  # keras.applications' biases (v1: all convolutions)
    bn_epsilon: float
    bn_momentum: float
    keras_compatible: bool


# ---------------------------------------------------------------------------------------------
# Layers


def _conv(x, filters, kernel, *, name, opts, strides=1, groups=1, use_bias=None):
    """A convolution with torchvision's symmetric padding.

    Strided convolutions with kernels > 1 pad explicitly (``{name}_pad``) and use "valid",
    so a 7x7/2 or 3x3/2 convolution pads (3, 3) or (1, 1) like torchvision and
    keras.applications (Keras' "same" would pad (0, 1) on even inputs).
    """
    padding = "same"
    if strides > 1 and kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        padding = "valid"
    return layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        groups=groups,
        use_bias=opts.conv_bias if use_bias is None else use_bias,
        name=f"{name}_conv",
    )(x)


def _bn(x, name, opts):
    return layers.BatchNormalization(epsilon=opts.bn_epsilon, momentum=opts.bn_momentum, name=name)(x)


def _conv_bn(x, filters, kernel, *, name, opts, strides=1, groups=1, act=True):
    x = _conv(x, filters, kernel, name=name, opts=opts, strides=strides, groups=groups)
    x = _bn(x, f"{name}_bn", opts)
    if act:
        x = apply_activation(x, opts.activation, f"{name}_act")
    return x


# ---------------------------------------------------------------------------------------------
# Blocks


@dataclasses.dataclass(frozen=True)
class _Block:
    """What one block does: its stride, widths and how its shortcut is formed."""

    name: str
    stride: int
    inner: int
    out: int
    groups: int
    shortcut: str  # "identity", "zero_pad", "projection", "subsample" (keras v2), "none" (plain)


def _shortcut_kind(in_ch, out_ch, stride, option):
    """The shortcut of a block whose input has ``in_ch`` channels (see the module notes)."""
    if option == "C":
        return "projection"
    if in_ch == out_ch and stride == 1:
        return "identity"
    if option == "A" and in_ch <= out_ch:
        return "zero_pad"
    return "projection"


def _apply_shortcut(x, block, opts, *, batch_norm):
    if block.shortcut == "identity":
        return x
    if block.shortcut == "zero_pad":
        return ZeroPadChannels(block.out, stride=block.stride, name=f"{block.name}_0_pad")(x)
    if block.shortcut == "subsample":
        return layers.MaxPooling2D(1, strides=block.stride, name=f"{block.name}_0_pool")(x)
    # Projection: 1x1 convolution with the block's stride (+ BN in v1; v2 projects the
    # pre-activated input, keras.applications with a bias).
    y = _conv(x, block.out, 1, name=f"{block.name}_0", opts=opts, strides=block.stride,
              use_bias=opts.conv_bias or (opts.keras_compatible and not batch_norm))
    if batch_norm:
        y = _bn(y, f"{block.name}_0_bn", opts)
    return y


def _branch(x, config, block, opts):
    """The residual function F(x): the block's convolutions (the last one without activation)."""
    name = block.name
    if config.block == "basic":
        x = _conv_bn(x, block.out, 3, name=f"{name}_1", opts=opts, strides=block.stride)
        return _conv_bn(x, block.out, 3, name=f"{name}_2", opts=opts, act=False)
    s1, s3 = (1, block.stride) if opts.downsample_in_3x3 else (block.stride, 1)
    x = _conv_bn(x, block.inner, 1, name=f"{name}_1", opts=opts, strides=s1)
    x = _conv_bn(x, block.inner, 3, name=f"{name}_2", opts=opts, strides=s3, groups=block.groups)
    return _conv_bn(x, block.out, 1, name=f"{name}_3", opts=opts, act=False)


def _block_v1(x, config, block, opts):
    """Post-activation block (He et al. 2015): ``act(F(x) + shortcut(x))``."""
    y = _branch(x, config, block, opts)
    if block.shortcut != "none":
        shortcut = _apply_shortcut(x, block, opts, batch_norm=True)
        y = layers.Add(name=f"{block.name}_add")([shortcut, y])
    return apply_activation(y, opts.activation, f"{block.name}_out")


def _block_v2(x, config, block, opts):
    """Pre-activation block (He et al. 2016): ``x' + F(act(BN(x)))`` with F ending in a conv."""
    name = block.name
    pre = _bn(x, f"{name}_preact_bn", opts)
    pre = apply_activation(pre, opts.activation, f"{name}_preact_act")
    # A projection reads the pre-activated input (He et al. 2016, keras.applications); the
    # identity, zero-pad and subsample shortcuts read x itself: the clean path.
    shortcut = _apply_shortcut(pre if block.shortcut == "projection" else x, block, opts, batch_norm=False)
    if config.block == "basic":
        y = _conv_bn(pre, block.out, 3, name=f"{name}_1", opts=opts, strides=block.stride)
        y = _conv(y, block.out, 3, name=f"{name}_2", opts=opts)
    else:
        s1, s3 = (1, block.stride) if opts.downsample_in_3x3 else (block.stride, 1)
        y = _conv_bn(pre, block.inner, 1, name=f"{name}_1", opts=opts, strides=s1)
        y = _conv_bn(y, block.inner, 3, name=f"{name}_2", opts=opts, strides=s3, groups=block.groups)
        y = _conv(y, block.out, 1, name=f"{name}_3", opts=opts, use_bias=opts.keras_compatible)
    return layers.Add(name=f"{name}_out")([shortcut, y])


# ---------------------------------------------------------------------------------------------
# The generic builder


def _stem(x, config, opts):
    if config.stem == "cifar":
        if config.preact:
            return _conv(x, config.stem_width, 3, name="conv1", opts=opts, use_bias=opts.keras_compatible)
        return _conv_bn(x, config.stem_width, 3, name="conv1", opts=opts)
    if config.preact:
        # v2 stem (keras.applications, timm): the first block's pre-activation normalises it.
        x = _conv(x, config.stem_width, 7, name="conv1", opts=opts, strides=2, use_bias=opts.keras_compatible)
    else:
        x = _conv_bn(x, config.stem_width, 7, name="conv1", opts=opts, strides=2)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


def _stage_blocks(config, stage, in_ch, opts):
    """The blocks of one stage, given the channels of the stage's input."""
    out = config.out_width(stage)
    inner = config.inner_width(stage)
    depth = config.depths[stage]
    stride = config.strides[stage]
    # keras.applications' v2 downsamples in the LAST block of a stage (a 1x1/2 max-pool on the
    # shortcut) and projects with stride 1 in the first; everyone else downsamples first. So
    # there the last block of stage i does the downsampling of stage i + 1.
    last_downsamples = config.preact and opts.keras_compatible
    if last_downsamples:
        stride = config.strides[stage + 1] if stage + 1 < len(config.strides) else 1
    blocks = []
    for b in range(depth):
        if last_downsamples:
            s = stride if b == depth - 1 else 1
        else:
            s = stride if b == 0 else 1
        if not config.residual:
            kind = "none"
        elif last_downsamples and b == 0:
            kind = "projection"
        elif last_downsamples and s > 1:
            kind = "subsample"
        else:
            kind = _shortcut_kind(in_ch, out, s, opts.shortcut)
        blocks.append(_Block(f"conv{stage + 2}_block{b + 1}", s, inner, out, config.cardinality, kind))
        # The next block's input: v1 blocks end in the activation (which may change the width),
        # v2 blocks in the Add (the residual stream keeps the configured width).
        in_ch = out if config.preact else activation_channels(opts.activation, out)
    return blocks, in_ch


def _build(spec, config: ResNetConfig, common: dict, *, shortcut, keras_compatible, downsample_in_3x3):
    """Build any residual network of ``CONFIGS`` (the family's one builder)."""
    check_bool("keras_compatible", keras_compatible)
    check_none_unless(
        "shortcut", shortcut, config.residual, f"residual networks; {spec.name} is a plain network (no shortcuts)"
    )
    if shortcut is not None:
        check_choice("shortcut", shortcut, SHORTCUTS)
    check_none_unless(
        "downsample_in_3x3", downsample_in_3x3, config.block == "bottleneck",
        f"bottleneck networks; {spec.name} uses basic blocks",
    )
    if downsample_in_3x3 is not None:
        check_bool("downsample_in_3x3", downsample_in_3x3)
    args = prepare(spec, common)
    opts = _Options(
        activation=args.activation,
        shortcut=shortcut or config.shortcut,
        downsample_in_3x3=config.downsample_in_3x3 if downsample_in_3x3 is None else downsample_in_3x3,
        conv_bias=keras_compatible and not config.preact,
        bn_epsilon=1.001e-5 if keras_compatible else 1e-5,
        bn_momentum=0.99 if keras_compatible else 0.9,
        keras_compatible=keras_compatible,
    )
    img = model_input(args)
    x = _stem(img, config, opts)
    in_ch = config.stem_width if config.preact else activation_channels(opts.activation, config.stem_width)
    block_fn = _block_v2 if config.preact else _block_v1
    for stage in range(len(config.depths)):
        blocks, in_ch = _stage_blocks(config, stage, in_ch, opts)
        for block in blocks:
            x = block_fn(x, config, block, opts)
    if config.preact:
        x = _bn(x, "post_bn", opts)
        x = apply_activation(x, opts.activation, "post_act")
    return finalize_model(img, classifier_head(x, args), args)


# ---------------------------------------------------------------------------------------------
# Public variants

_PAPERS = {
    "v1": "He, Zhang, Ren & Sun 2015, Deep residual learning for image recognition",
    "v2": "He, Zhang, Ren & Sun 2016, Identity mappings in deep residual networks",
    "resnext": "Xie, Girshick, Dollar, Tu & He 2016, Aggregated residual transformations for deep neural networks",
}

def _features(config: ResNetConfig):
    out = []
    total = 4 if config.stem == "imagenet" else 1
    for stage, depth in enumerate(config.depths):
        total *= config.strides[stage]
        out.append(FeatureInfo(f"conv{stage + 2}_block{depth}_out", config.out_width(stage), total))
    if config.preact:
        last = out[-1]
        out[-1] = FeatureInfo("post_act", last.channels, last.stride)
    return tuple(out)


_KERAS_APPLICATIONS = {
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet152": "ResNet152",
    "resnet50_v2": "ResNet50V2",
    "resnet101_v2": "ResNet101V2",
    "resnet152_v2": "ResNet152V2",
}


def _shortcut_doc(v):
    if not v.config.residual:
        return "must be None: a plain network has no shortcuts."
    return (
        '"A" (zero-padded identity), "B" (projection where the shape changes) or "C" (projections '
        f'everywhere); None means "{v.config.shortcut}", this variant\'s paper setting.'
    )


def _keras_doc(v):
    text = "follow keras.applications (convolution biases, BN epsilon 1.001e-5, its stride placement and layer order)"
    if v.name in _KERAS_APPLICATIONS:
        text += f"; then keras.applications.{_KERAS_APPLICATIONS[v.name]} weight files load and give its outputs"
    return text + "."


def _downsample_doc(v):
    if v.config.block != "bottleneck":
        return "must be None (basic blocks have no 1x1 convolution)."
    where = "3x3" if v.config.downsample_in_3x3 else "first 1x1"
    return (
        "put a downsampling bottleneck's stride on the 3x3 convolution (True, torchvision's v1.5) or on "
        f"the first 1x1 (False, the paper); None means this variant's {where}."
    )


_OPTIONS = (
    Option("shortcut", None, _shortcut_doc),
    Option("keras_compatible", False, _keras_doc),
    Option("downsample_in_3x3", None, _downsample_doc),
)


def _depth(config: ResNetConfig) -> int:
    """The weighted layers of the name (ResNet-50): the blocks' convolutions, the stem and the classifier."""
    return (3 if config.block == "bottleneck" else 2) * sum(config.depths) + 2


def _entry(name, *, title, description, **spec):
    """One variant record: the docstring's text and the registry fields."""
    config = CONFIGS[name]
    cifar = config.stem == "cifar"
    # keras.applications: caffe for v1, tf for v2; torchvision-style (ResNeXt) and CIFAR nets: torch.
    preprocessing = "torch" if cifar or config.cardinality > 1 else ("tf" if config.preact else "caffe")
    paper = "resnext" if config.cardinality > 1 else ("v2" if config.preact else "v1")
    return variant(
        name,
        config,
        doc=f"{title}\n\n{description}",
        paper=_PAPERS[paper],
        features=_features(config),
        preprocessing=preprocessing,
        **(CIFAR_SIZES if cifar else IMAGENET_SIZES),
        **spec,
    )


_T1 = "He et al. 2015, Table 1 FLOPs column (multiply-adds)"
_TV = "torchvision {0} (num_params)"
_T6 = "He et al. 2015, Table 6"
_XIE = "Xie et al. 2016"


def _torchvision_macs(name, macs, note=""):
    """torchvision's published multiply-adds, which ``macs`` holds (1_814_000_000: "1.814 GFLOPS")."""
    return f"torchvision {name}: {macs / 1e9:g} GFLOPS (multiply-adds{note})"


def _v1_entry(name, params, macs, table1, description=None):
    """An ImageNet ResNet v1; ``table1``: its multiply-adds in Table 1 (x 10^9)."""
    config = CONFIGS[name]
    if config.block == "basic":
        counted = _torchvision_macs(name, macs)
    else:
        # torchvision's bottleneck nets stride the 3x3 (v1.5): their figure is not this layout's.
        counted = "analytic count (stride on the first 1x1)"
        description = description or (
            "The stride of a downsampling block is on its first 1x1 convolution (the paper, keras.applications)."
        )
    return _entry(
        name, title=f"ResNet-{_depth(config)} (He et al. 2015): {config.block} blocks, stages {config.depths}.",
        description=description, ref_params=params, ref_params_source=_TV.format(name),
        ref_macs=macs, ref_macs_source=f"{counted}; {_T1}: {table1} x 10^9",
    )


def _plain_entry(name, params, macs, table1, where):
    """A plain network: its ResNet's stack without the 3 projection shortcuts (173,824 parameters)."""
    depth = _depth(CONFIGS[name])
    return _entry(
        name, title=f"Plain-{depth} (He et al. 2015, {where}): ResNet-{depth}'s stack without shortcuts.",
        description="The degradation experiment's baseline: no shortcuts and no Add layers.",
        ref_params=params, ref_params_source=f"hand count: resnet{depth} less its 3 projection shortcuts (173,824)",
        ref_macs=macs, ref_macs_source=f"analytic count; {_T1}: {table1} x 10^9 (plain and residual nets alike)",
    )


def _v2_entry(name, params, macs):
    """An ImageNet pre-activation ResNet (the v2 paper gives no FLOPs)."""
    config = CONFIGS[name]
    return _entry(
        name,
        title=f"Pre-activation ResNet-{_depth(config)} (He et al. 2016): BN -> act -> conv bottlenecks, {config.depths}.",
        description="A clean identity path; the network ends with ``post_bn``/``post_act``.",
        ref_params=params, ref_params_source=f"hand count (keras.applications.{_KERAS_APPLICATIONS[name]} less its conv biases)",
        ref_macs=macs, ref_macs_source="analytic count of this layout (the v2 paper gives no FLOPs)",
    )


_CIFAR_DESC = (
    "CIFAR ResNet (He et al. 2015, sec. 4.2): a 3x3 conv of 16 maps, three stages of {n} basic "
    "blocks at 16, 32 and 64 maps (32x32, 16x16, 8x8), global average pooling and the classifier; "
    "option A (parameter-free) shortcuts by default."
)


def _cifar_entry(depth, params, paper_params, macs):
    n = (depth - 2) // 6
    return _entry(
        f"resnet{depth}", title=f"ResNet-{depth} for CIFAR (6n+2 with n={n}; He et al. 2015, sec. 4.2).",
        description=_CIFAR_DESC.format(n=n), ref_params=params,
        ref_params_source=f"hand count with option A and 10 classes; {_T6}: {paper_params}",
        ref_macs=macs, ref_macs_source="analytic count of this layout at 32x32 (the paper gives none)",
    )


def _resnext_entry(name, params, macs, *, paper_params="", macs_source):
    """A ResNeXt; ``paper_params``: the paper's Table 1 figure where it gives one."""
    config = CONFIGS[name]
    c, d = config.cardinality, config.group_width
    return _entry(
        name, title=f"ResNeXt-{_depth(config)} ({c}x{d}d) (Xie et al. 2016): cardinality {c}, bottleneck width {d}.",
        description="Aggregated transformations as grouped 3x3 convolutions (the paper's form (c), Fig. 3).",
        ref_params=params, ref_params_source=_TV.format(name) + (f"; {_XIE} Table 1: {paper_params}" if paper_params else ""),
        ref_macs=macs, ref_macs_source=macs_source,
    )


(
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    plain18,
    plain34,
    resnet50_v2,
    resnet101_v2,
    resnet152_v2,
    resnet20,
    resnet32,
    resnet44,
    resnet56,
    resnet110,
    resnet1001,
    resnext50_32x4d,
    resnext101_32x8d,
    resnext101_64x4d,
) = define_variants(
    "resnet",
    _build,
    (
        _v1_entry(
            "resnet18", 11_689_512, 1_814_000_000, "1.8",
            description="Post-activation basic blocks; projection shortcuts where the shape changes (option B).",
        ),
        _v1_entry(
            "resnet34", 21_797_672, 3_664_000_000, "3.6",
            description="Post-activation basic blocks; ``shortcut='A'`` gives the paper's parameter-free 34-layer A net.",
        ),
        _v1_entry("resnet50", 25_557_032, 3_857_973_248, "3.8"),
        _v1_entry("resnet101", 44_549_160, 7_570_194_432, "7.6"),
        _v1_entry("resnet152", 60_192_808, 11_282_415_616, "11.3"),
        _plain_entry("plain18", 11_515_688, 1_794_805_760, "1.8", where="sec. 4.1"),
        _plain_entry("plain34", 21_623_848, 3_644_493_824, "3.6", where="Fig. 3 middle"),
        _v2_entry("resnet50_v2", 25_549_352, 4_089_184_256),
        _v2_entry("resnet101_v2", 44_541_480, 7_801_405_440),
        _v2_entry("resnet152_v2", 60_185_128, 11_513_626_624),

        _cifar_entry(20, 269_722, "0.27M", 40_551_040),
        _cifar_entry(32, 464_154, "0.46M", 68_862_592),
        _cifar_entry(44, 658_586, "0.66M", 97_174_144),
        _cifar_entry(56, 853_018, "0.85M", 125_485_696),
        _cifar_entry(110, 1_727_962, "1.7M", 252_887_680),
        _entry(
            "resnet1001", title="Pre-activation ResNet-1001 for CIFAR (He et al. 2016, sec. 4.3 and Table 3).",
            description=(
                "9n+2 layers with n=111 pre-activation bottleneck blocks per stage (outputs 64, 128, 256; "
                "inner widths 16, 32, 64) and projection shortcuts where the shape changes."
            ),
            ref_params=10_327_706, ref_params_source="hand count with 10 classes; He et al. 2016, Table 3: 10.2M",
            ref_macs=1_490_995_712, ref_macs_source="analytic count of this layout at 32x32 (the paper gives none)",
        ),

        _resnext_entry(
            "resnext50_32x4d", 25_028_904, 4_230_000_000, paper_params="25.0M",
            macs_source=_torchvision_macs("resnext50_32x4d", 4_230_000_000) + f"; {_XIE}, Table 1: 4.2 x 10^9",
        ),
        _resnext_entry(
            "resnext101_32x8d", 88_791_336, 16_410_000_000,
            macs_source=_torchvision_macs("resnext101_32x8d", 16_410_000_000, "; not in the paper"),
        ),
        _resnext_entry(
            "resnext101_64x4d", 83_455_272, 15_460_000_000,
            macs_source=_torchvision_macs("resnext101_64x4d", 15_460_000_000) + "; the paper's Table 4 lists it "
            "among the '2x complexity' models (twice ResNet-101's 7.8 x 10^9)",
        ),
    ),
    options=_OPTIONS,
    returns="A ``keras.Model``; stage outputs ``conv2_block{b}_out`` ... (see ``get_spec(name).features``).",
)
