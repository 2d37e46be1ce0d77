"""The one set of Inception building blocks, stems, heads and builder shared by every Inception network.

The papers describe their networks as tables and figures of "modules": parallel branches of
convolutions and pooling whose outputs are concatenated (GoogLeNet, BN-Inception, Inception-v3,
Inception-v4) or, for Inception-ResNet, concatenated, projected by a linear 1x1 convolution,
scaled and added to the module's input. Here those tables are data:

- [`Conv`][kerasnets.models.inception.blocks.Conv] and [`Pool`][kerasnets.models.inception.blocks.Pool] are one layer each (filters, kernel, stride, padding);
- [`Branch`][kerasnets.models.inception.blocks.Branch] is a named chain of them, optionally ending in a ``Branch.split`` (the
  "expanded" 8x8 modules of Inception-v3/v4, whose last 1x3 and 3x1 convolutions run in parallel
  and are concatenated);
- [`Module`][kerasnets.models.inception.blocks.Module] is the branches plus, for Inception-ResNet, the residual ``scale``;
- a network is a sequence of ``(name, item)`` pairs (``Layout``) where an item is a
  [`Conv`][kerasnets.models.inception.blocks.Conv], [`Pool`][kerasnets.models.inception.blocks.Pool], ``LRN`` or [`Module`][kerasnets.models.inception.blocks.Module];
- [`ConvStyle`][kerasnets.models.inception.blocks.ConvStyle] says what one "convolution" is in a given network (bias, batch norm and its
  constants): GoogLeNet's is conv + bias + ReLU, the later networks' conv + BN + ReLU.

``build_layout`` walks a layout, ``apply_module`` builds any module, and ``build`` is the
family's one builder: the checks, the layout, an optional last 1x1 convolution, the classifier
and the auxiliary heads of an [InceptionNet][kerasnets.models.inception.blocks.InceptionNet]
record. [`V3_STEM`][kerasnets.models.inception.blocks.V3_STEM] is Inception-v3's stem, which Inception-ResNet-v1 and -v2 share. Layer names are
``{module}_{branch}_{i}_conv`` / ``_bn`` / ``_act`` (``i`` dropped when a branch has one
convolution), ``{module}_{branch}_pool``; a plain module's concatenation is named ``{module}``,
a residual module's output (after its activation) is ``{module}``.

Keras saves weights by layer class and order, and orders a functional model's layers by their
depth in the graph then by traversal order, so a module built here from the same branch list as
``keras.applications`` has the same weight order: that is what the weights-interchange tests of
Inception-v3 and Inception-ResNet-v2 check.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Union

from keras import layers

from kerasnets.blocks import apply_activation, classifier_head, conv_bn_act, finalize_model, model_input, prepare
from kerasnets.checks import check_aux_logits, check_bool, check_fraction
from kerasnets.layers import LocalResponseNormalization
from kerasnets.models._variants import Option

__all__ = [
    "Conv",
    "Pool",
    "LRN",
    "Branch",
    "Module",
    "ConvStyle",
    "Layout",
    "apply_conv",
    "apply_module",
    "build_layout",
    "naive_module",
    "reduced_kernel",
    "AuxHead",
    "apply_aux_head",
    "V3_STEM",
    "InceptionNet",
    "build",
    "BN_SCALE",
    "moved_names",
]


@dataclasses.dataclass(frozen=True)
class Conv:
    """One convolution: ``filters`` maps, ``kernel`` (int or ``(rows, cols)``), stride, padding."""

    filters: int
    kernel: Any = 1
    strides: int = 1
    padding: str = "same"


@dataclasses.dataclass(frozen=True)
class Pool:
    """One pooling layer: ``kind`` is ``"max"`` or ``"avg"``.

    Attributes:
        ceil_mode: with ``padding="valid"``, PyTorch's (and Caffe's) ``ceil_mode``: the output
            side is ``ceil((n - size) / strides) + 1``, the last window overhanging the input's
            bottom/right edge (torchvision's GoogLeNet). Needs a static input size.
        count_include_pad: with ``padding="same"`` on an average pool, divide by the whole
            window, zero padding included (PyTorch's ``avg_pool2d`` default, torchvision's
            Inception-v3); Keras and TensorFlow divide by the real pixels only.
    """

    kind: str = "max"
    size: int = 3
    strides: int = 1
    padding: str = "same"
    ceil_mode: bool = False
    count_include_pad: bool = False


@dataclasses.dataclass(frozen=True)
class LRN:
    """Local response normalisation (GoogLeNet; Caffe's constants: n=5, k=1, alpha=1e-4/n, beta=0.75)."""

    size: int = 5
    k: float = 1.0
    alpha: float = 1e-4
    beta: float = 0.75
    alpha_mode: str = "mean"


@dataclasses.dataclass(frozen=True)
class Branch:
    """One branch of a module: its layers in order, then optionally parallel ``split`` convolutions.

    Attributes:
        name: the branch's name in layer names (``"b1x1"``, ``"b3x3"``, ``"b0"``, ``"bpool"``).
        layers: [`Conv`][kerasnets.models.inception.blocks.Conv]/[`Pool`][kerasnets.models.inception.blocks.Pool] records applied in order (may be empty only
            with ``split``).
        split: convolutions applied in parallel to the branch's output and concatenated
            (Inception-v3's 8x8 modules: ``(Conv(384, (1, 3)), Conv(384, (3, 1)))``).
    """

    name: str
    layers: tuple = ()
    split: tuple = ()

    @property
    def out_channels(self) -> int | None:
        """Output channels, or None for a pooling-only branch (it passes its input's channels)."""
        if self.split:
            return sum(c.filters for c in self.split)
        convs = [layer for layer in self.layers if isinstance(layer, Conv)]
        return convs[-1].filters if convs else None


@dataclasses.dataclass(frozen=True)
class Module:
    """An Inception module: parallel branches, concatenated.

    Attributes:
        branches: the branches in concatenation order.
        scale: None for a plain module; for an Inception-ResNet module, the residual scale
            (the output is ``act(x + scale * conv1x1(concat(branches)))``, the 1x1 convolution
            linear, with bias and no batch norm, and as many maps as ``x`` has).
        activation: for a residual module, whether the activation follows the sum (the last
            block of the released Inception-ResNet-v2 has none).
    """

    branches: tuple
    scale: float | None = None
    activation: bool = True

    def out_channels(self, in_channels: int) -> int:
        """The module's output channels for ``in_channels`` inputs (ReLU-like activations)."""
        if self.scale is not None:
            return in_channels
        return sum(in_channels if b.out_channels is None else b.out_channels for b in self.branches)


@dataclasses.dataclass(frozen=True)
class ConvStyle:
    """What one convolution unit is in a network.

    Attributes:
        batch_norm: a BatchNormalization after each convolution (all but GoogLeNet).
        use_bias: convolution biases (None: only without batch norm).
        bn_scale: learn BN's gamma (keras.applications' Inception-v3/ResNet-v2 do not).
        bn_epsilon: BN's epsilon (1e-3 in TensorFlow's Inception code and Keras).
        bn_momentum: BN's moving-average momentum (Keras convention: 0.99 = PyTorch 0.01).
    """

    batch_norm: bool = True
    use_bias: bool | None = None
    bn_scale: bool = True
    bn_epsilon: float = 1e-3
    bn_momentum: float = 0.99


Item = Union[Conv, Pool, LRN, Module]
Layout = tuple  # tuple[tuple[str, Item], ...]


def apply_conv(x, conv: Conv, *, name: str, style: ConvStyle, activation: Any):
    """One convolution unit (``{name}_conv``, ``{name}_bn``, ``{name}_act``).

    A strided ``"same"`` convolution pads symmetrically (``{name}_pad``, then ``"valid"``), as
    the papers' Caffe and Torch7 code and PyTorch do: Keras' ``"same"`` would pad (2, 3) for a
    7x7/2 on an even side. The output sizes are the same (``ceil(n / stride)`` for odd kernels).
    """
    padding = conv.padding
    kernel = (conv.kernel, conv.kernel) if isinstance(conv.kernel, int) else tuple(conv.kernel)
    if padding == "same" and conv.strides != 1 and max(kernel) > 1:
        x = layers.ZeroPadding2D((kernel[0] // 2, kernel[1] // 2), name=f"{name}_pad")(x)
        padding = "valid"
    return conv_bn_act(
        x,
        conv.filters,
        conv.kernel,
        name=name,
        strides=conv.strides,
        padding=padding,
        use_bias=style.use_bias,
        batch_norm=style.batch_norm,
        activation=activation,
        bn_epsilon=style.bn_epsilon,
        bn_momentum=style.bn_momentum,
        bn_scale=style.bn_scale,
    )


def apply_pool(x, pool: Pool, *, name: str):
    """One pooling layer; its output is the layer ``name``.

    PyTorch's pooling modes (see [Pool][kerasnets.models.inception.blocks.Pool]) add a
    ``{name}_pad`` zero padding before it and, in one ceil-mode case, a crop after it (the
    pooling layer is then ``{name}_pool``).
    """
    cls = layers.MaxPooling2D if pool.kind == "max" else layers.AveragePooling2D
    padding = pool.padding
    if pool.count_include_pad and pool.kind == "avg" and padding == "same":
        # Pad with zeros that count: an explicit zero padding, then "valid".
        x = layers.ZeroPadding2D(pool.size // 2, name=f"{name}_pad")(x)
        padding = "valid"
    crop = None
    if pool.ceil_mode and padding == "valid":
        padding, pad, crop = _ceil_mode(x, pool, name)
        if pad:
            x = layers.ZeroPadding2D(((0, pad[0]), (0, pad[1])), name=f"{name}_pad")(x)
    x = cls(pool.size, strides=pool.strides, padding=padding, name=name if crop is None else f"{name}_pool")(x)
    if crop is not None:
        x = layers.Cropping2D(((0, crop[0]), (0, crop[1])), name=name)(x)
    return x


def _ceil_mode(x, pool: Pool, name: str):
    """Keras padding that gives PyTorch's ``ceil_mode`` windows exactly: ``(padding, pad, crop)``.

    Per side ``n``: when the ceil-mode windows stay inside the input, "valid" gives them; when
    the last one overhangs, Keras' "same" does, if it pads only at the end (-inf for max
    pooling, uncounted for average). A side that wants "valid" while the other wants "same"
    gets one zero row/column at its end and loses the last output again: the only window that
    sees the zero is the one cropped away.
    """
    k, s = pool.size, pool.strides
    sides = x.shape[1:3]
    if any(n is None for n in sides):
        raise ValueError(
            f"Ceil-mode pooling (`{name}`, PyTorch's layout) needs a static input size. "
            f"Received: input_shape with spatial sides {tuple(sides)}"
        )

    def out(n):  # the ceil-mode output side
        return -(-(n - k) // s) + 1

    def same_fits(n):  # Keras' "same" pads only at the end and gives the ceil-mode windows
        total = max((-(-n // s) - 1) * s + k - n, 0)
        return total < 2 and -(-n // s) == out(n)

    def valid_fits(n):  # no ceil-mode window overhangs
        return (out(n) - 1) * s + k <= n

    if all(valid_fits(n) for n in sides):
        return "valid", None, None
    if all(same_fits(n) for n in sides):
        return "same", None, None
    pad = tuple(0 if same_fits(n) else 1 for n in sides)
    if not all(same_fits(n + p) and (p == 0 or valid_fits(n)) for n, p in zip(sides, pad)):  # pragma: no cover
        raise ValueError(f"Ceil-mode pooling `{name}` ({k}x{k}/{s}) on {tuple(sides)} has no exact Keras form.")
    return "same", pad, tuple(out(n + p) - out(n) for n, p in zip(sides, pad))


def _apply_branch(x, branch: Branch, *, prefix: str, style: ConvStyle, activation: Any):
    n_convs = sum(isinstance(layer, Conv) for layer in branch.layers)
    i = 0
    for layer in branch.layers:
        if isinstance(layer, Pool):
            x = apply_pool(x, layer, name=f"{prefix}_pool")
        else:
            i += 1
            unit = prefix if n_convs == 1 and not branch.split else f"{prefix}_{i}"
            x = apply_conv(x, layer, name=unit, style=style, activation=activation)
    if branch.split:
        parts = [
            apply_conv(x, conv, name=f"{prefix}_{i + 1}{chr(ord('a') + j)}", style=style, activation=activation)
            for j, conv in enumerate(branch.split)
        ]
        x = layers.Concatenate(axis=-1, name=f"{prefix}_concat")(parts)
    return x


def apply_module(x, module: Module, *, name: str, style: ConvStyle, activation: Any):
    """Build one Inception (or Inception-ResNet) module on ``x``.

    Args:
        x: the input tensor (NHWC).
        module: the branch-filter record.
        name: the module's name (``"inc3a"``, ``"mixed_6a"``, ``"block35_1"``).
        style: the network's convolution unit.
        activation: the network's nonlinearity (see [`kerasnets.blocks.apply_activation`][kerasnets.blocks.apply_activation]).

    Returns:
        The module's output tensor; its last layer is named ``name``.
    """
    outs = [
        _apply_branch(x, branch, prefix=f"{name}_{branch.name}", style=style, activation=activation)
        for branch in module.branches
    ]
    if module.scale is None:
        return layers.Concatenate(axis=-1, name=name)(outs)
    mixed = layers.Concatenate(axis=-1, name=f"{name}_mixed")(outs)
    # The projection back to the input's width is linear (no BN, no ReLU; paper sec. 3.2 and
    # TF-slim): the residual is scaled by 0.1-0.3 before the sum (paper sec. 3.3).
    up = layers.Conv2D(x.shape[-1], 1, use_bias=True, name=f"{name}_up_conv")(mixed)
    up = layers.Rescaling(module.scale, name=f"{name}_scale")(up)
    if not module.activation:
        return layers.Add(name=name)([x, up])
    out = layers.Add(name=f"{name}_add")([x, up])
    return apply_activation(out, activation, name)


def build_layout(x, layout: Layout, *, style: ConvStyle, activation: Any, stop_at: str | None = None, taps=None):
    """Apply a network's ``(name, item)`` sequence to ``x``.

    Args:
        x: input tensor.
        layout: ``((name, Conv | Pool | LRN | Module), ...)``.
        style: the network's convolution unit.
        activation: the nonlinearity.
        stop_at: stop after the item of this name (inclusive), if given.
        taps: optional dict filled with ``name -> output tensor`` of every item.

    Returns:
        The output tensor.
    """
    for item_name, item in layout:
        if isinstance(item, Module):
            x = apply_module(x, item, name=item_name, style=style, activation=activation)
        elif isinstance(item, Conv):
            x = apply_conv(x, item, name=item_name, style=style, activation=activation)
        elif isinstance(item, Pool):
            x = apply_pool(x, item, name=item_name)
        elif isinstance(item, LRN):
            x = LocalResponseNormalization(
                size=item.size, k=item.k, alpha=item.alpha, beta=item.beta, alpha_mode=item.alpha_mode, name=item_name
            )(x)
        else:  # pragma: no cover - layouts are module constants
            raise TypeError(f"Unknown layout item {item!r}")
        if taps is not None:
            taps[item_name] = x
        if item_name == stop_at:
            break
    return x


def naive_module(module: Module) -> Module:
    """The "naive" form of a GoogLeNet module (paper Fig. 2a): no 1x1 reductions, no pool projection.

    A branch keeps only its spatial (non-1x1) convolutions; a pooling branch keeps only its pool
    (it then passes all input channels to the concatenation); the 1x1 branch stays.
    """
    branches = []
    for branch in module.branches:
        if any(isinstance(layer, Pool) for layer in branch.layers):
            kept = tuple(layer for layer in branch.layers if isinstance(layer, Pool))
        else:
            spatial = tuple(layer for layer in branch.layers if isinstance(layer, Conv) and layer.kernel not in (1, (1, 1)))
            kept = spatial or branch.layers
        branches.append(dataclasses.replace(branch, layers=kept))
    return dataclasses.replace(module, branches=tuple(branches))


def reduced_kernel(kernel: int, size) -> int:
    """``kernel`` clipped to a static map side ``size`` (TF-slim's aux head on small inputs)."""
    if size is None:
        return kernel
    return max(1, min(kernel, int(size)))


@dataclasses.dataclass(frozen=True)
class AuxHead:
    """An auxiliary classifier on an intermediate map.

    GoogLeNet (sec. 5): 5x5/3 average pool, 1x1 conv 128, FC 1024, dropout 0.7, FC classes.
    Inception-v3 (TF-slim): 5x5/3 average pool, 1x1 conv 128, 5x5 conv 768 (valid), FC classes.

    Attributes:
        pool: the first pooling layer (``padding="valid"``).
        convs: convolution units after it (network's [`ConvStyle`][kerasnets.models.inception.blocks.ConvStyle]).
        fcs: widths of the hidden fully-connected layers (each followed by the activation).
        dropout: dropout before the classifier.
    """

    pool: Pool = Pool("avg", 5, 3, "valid")
    convs: tuple = (Conv(128, 1),)
    fcs: tuple = ()
    dropout: float = 0.0


def apply_aux_head(x, head: AuxHead, *, name: str, style: ConvStyle, activation: Any, classes: int, classifier_activation):
    """Build an auxiliary classifier; its output layer is ``{name}_predictions``.

    On inputs smaller than the paper's, the pool and "valid" convolution kernels are clipped to
    the map (as TF-slim's Inception-v3 does), so the head exists at any size the trunk accepts.
    """
    pool = dataclasses.replace(head.pool, size=reduced_kernel(head.pool.size, min(x.shape[1], x.shape[2])))
    x = apply_pool(x, pool, name=f"{name}_pool")
    for i, conv in enumerate(head.convs, start=1):
        if conv.padding == "valid" and isinstance(conv.kernel, int):
            conv = dataclasses.replace(conv, kernel=reduced_kernel(conv.kernel, min(x.shape[1], x.shape[2])))
        x = apply_conv(x, conv, name=f"{name}_conv{i}" if len(head.convs) > 1 else f"{name}_conv", style=style, activation=activation)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    for i, width in enumerate(head.fcs, start=1):
        x = layers.Dense(width, name=f"{name}_fc{i}")(x)
        x = apply_activation(x, activation, f"{name}_fc{i}_act")
    if head.dropout:
        x = layers.Dropout(head.dropout, name=f"{name}_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name=f"{name}_predictions")(x)


# Inception-v3's stem (Szegedy et al. 2015, Table 1), written once: Inception-v3 and the
# Inception-ResNets continue it. Output sizes at 299x299 in the comments.
V3_STEM = (
    ("conv1a", Conv(32, 3, 2, "valid")),  # 149x149x32
    ("conv2a", Conv(32, 3, 1, "valid")),  # 147x147x32
    ("conv2b", Conv(64, 3)),  # 147x147x64
    ("pool3a", Pool("max", 3, 2, "valid")),  # 73x73x64
    ("conv3b", Conv(80, 1, 1, "valid")),  # 73x73x80
    ("conv4a", Conv(192, 3, 1, "valid")),  # 71x71x192
)


@dataclasses.dataclass(frozen=True)
class InceptionNet:
    """One Inception network as data: what ``build`` needs.

    Attributes:
        layout: the ``(name, item)`` sequence from the image to the last module.
        style: the network's convolution unit.
        head_conv: filters of a final 1x1 convolution ``conv7b`` before pooling
            (Inception-ResNet-v2: 1536), or 0.
        aux_head: the auxiliary classifier, for networks that have one.
        aux_taps: ``(head name, layout item it reads)`` per auxiliary head.
        aux_min_size: the smallest input side the auxiliary heads accept.
    """

    layout: tuple
    style: ConvStyle
    head_conv: int = 0
    aux_head: AuxHead | None = None
    aux_taps: tuple = ()
    aux_min_size: int = 0


def _with_pytorch_pools(item):
    """``item`` with its "same" average pools counting their zero padding (PyTorch's default)."""
    if isinstance(item, Pool):
        return dataclasses.replace(item, count_include_pad=True) if item.kind == "avg" and item.padding == "same" else item
    if isinstance(item, Module):
        branches = tuple(dataclasses.replace(b, layers=tuple(map(_with_pytorch_pools, b.layers))) for b in item.branches)
        return dataclasses.replace(item, branches=branches)
    return item


def build(
    spec,
    net: InceptionNet,
    common: dict,
    *,
    dropout,
    aux_logits=False,
    naive=False,
    aux_dropout=None,
    bn_scale=None,
    count_include_pad=False,
):
    """Build any Inception network (the family's one builder).

    Args:
        spec: the variant's registry record.
        net: its [InceptionNet][kerasnets.models.inception.blocks.InceptionNet] record.
        common: the common builder arguments.
        dropout: dropout before the classifier.
        aux_logits: add the auxiliary heads (networks with ``aux_head``).
        naive: build every module in its naive form (GoogLeNet Fig. 2a).
        aux_dropout: the auxiliary heads' dropout (None: the head's own).
        bn_scale: learn batch norm's gamma (None: the network's own [`ConvStyle`][kerasnets.models.inception.blocks.ConvStyle]); PyTorch
            ports of TF-slim networks have it where Keras does not.
        count_include_pad: the modules' 3x3 average pools count their zero padding, as
            PyTorch's ``avg_pool2d`` (torchvision's Inception-v3) does.

    Returns:
        The ``keras.Model`` (a list of outputs, main first, with ``aux_logits``).
    """
    dropout = check_fraction("dropout", dropout)
    check_bool("naive", naive)
    if aux_dropout is not None:
        aux_dropout = check_fraction("aux_dropout", aux_dropout)
    args = prepare(spec, common)
    aux_logits = check_aux_logits(
        aux_logits,
        include_top=args.include_top,
        input_shape=args.input_shape,
        min_size=net.aux_min_size,
        model_name=spec.name,
    )
    check_bool("count_include_pad", count_include_pad)
    style = net.style if bn_scale is None else dataclasses.replace(net.style, bn_scale=check_bool("bn_scale", bn_scale))
    layout = net.layout
    if naive:
        layout = tuple((name, naive_module(item) if isinstance(item, Module) else item) for name, item in layout)
    if count_include_pad:
        layout = tuple((name, _with_pytorch_pools(item)) for name, item in layout)
    img = model_input(args)
    taps = {}
    x = build_layout(img, layout, style=style, activation=args.activation, taps=taps)
    if net.head_conv:
        x = apply_conv(x, Conv(net.head_conv, 1), name="conv7b", style=style, activation=args.activation)
    x = classifier_head(x, args, dropout=dropout)
    if not aux_logits:
        return finalize_model(img, x, args)
    head = net.aux_head if aux_dropout is None else dataclasses.replace(net.aux_head, dropout=aux_dropout)
    aux = [
        apply_aux_head(
            taps[tap],
            head,
            name=name,
            style=style,
            activation=args.activation,
            classes=args.classes,
            classifier_activation=args.classifier_activation,
        )
        for name, tap in net.aux_taps
    ]
    return finalize_model(img, [x, *aux], args)


BN_SCALE = Option(
    "bn_scale",
    None,
    "learn batch norm's scale (gamma): None keeps the network's own (keras.applications' Inception-v3 "
    "and Inception-ResNets have none, Inception-v4 has it); True is the PyTorch ports' form "
    "(torchvision, timm), which their weights names select. Adds one parameter per BN channel.",
)


def moved_names(module: str, moved: dict):
    """A module ``__getattr__`` serving names that moved elsewhere, with a DeprecationWarning.

    The training helpers that lived in the model modules (``compile_googlenet``, ...) keep
    working from their old home for one release.
    """

    def __getattr__(name):
        if name in moved:
            import importlib
            import warnings

            warnings.warn(
                f"{module}.{name} is deprecated and will be removed in the next release; use {moved[name]}.{name}",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(importlib.import_module(moved[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
