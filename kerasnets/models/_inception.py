"""The one set of Inception building blocks shared by every Inception network.

The papers describe their networks as tables and figures of "modules": parallel branches of
convolutions and pooling whose outputs are concatenated (GoogLeNet, BN-Inception, Inception-v3,
Inception-v4) or, for Inception-ResNet, concatenated, projected by a linear 1x1 convolution,
scaled and added to the module's input. Here those tables are data:

- :class:`Conv` and :class:`Pool` are one layer each (filters, kernel, stride, padding);
- :class:`Branch` is a named chain of them, optionally ending in a :class:`Branch.split` (the
  "expanded" 8x8 modules of Inception-v3/v4, whose last 1x3 and 3x1 convolutions run in parallel
  and are concatenated);
- :class:`Module` is the branches plus, for Inception-ResNet, the residual ``scale``;
- a network is a sequence of ``(name, item)`` pairs (:data:`Layout`) where an item is a
  :class:`Conv`, :class:`Pool`, :class:`LRN` or :class:`Module`;
- :class:`ConvStyle` says what one "convolution" is in a given network (bias, batch norm and its
  constants): GoogLeNet's is conv + bias + ReLU, the later networks' conv + BN + ReLU.

:func:`build_layout` walks a layout, :func:`apply_module` builds any module. Layer names are
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

from kerasnets.blocks import apply_activation, conv_bn_act
from kerasnets.layers import LocalResponseNormalization

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
    """One pooling layer: ``kind`` is ``"max"`` or ``"avg"``."""

    kind: str = "max"
    size: int = 3
    strides: int = 1
    padding: str = "same"


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
        layers: :class:`Conv`/:class:`Pool` records applied in order (may be empty only
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
    """One convolution unit (``{name}_conv``, ``{name}_bn``, ``{name}_act``)."""
    return conv_bn_act(
        x,
        conv.filters,
        conv.kernel,
        name=name,
        strides=conv.strides,
        padding=conv.padding,
        use_bias=style.use_bias,
        batch_norm=style.batch_norm,
        activation=activation,
        bn_epsilon=style.bn_epsilon,
        bn_momentum=style.bn_momentum,
        bn_scale=style.bn_scale,
    )


def apply_pool(x, pool: Pool, *, name: str):
    """One pooling layer named ``name``."""
    cls = layers.MaxPooling2D if pool.kind == "max" else layers.AveragePooling2D
    return cls(pool.size, strides=pool.strides, padding=pool.padding, name=name)(x)


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
        activation: the network's nonlinearity (see :func:`kerasnets.blocks.apply_activation`).

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
        convs: convolution units after it (network's :class:`ConvStyle`).
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
