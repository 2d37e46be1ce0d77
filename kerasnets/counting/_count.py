"""Analytic per-layer parameter and multiply-accumulate (MAC) counting.

The counter walks a model's graph (functional models, built ``Sequential``
models and models nested in them), propagating concrete shapes from the input,
and applies one closed-form rule per layer type. Nothing is executed: a count
costs a graph walk, not a forward pass, and the model is never rebuilt.

Conventions (see docs/summary.md):

- ``macs``: the multiply-accumulates of weight layers and products of tensors
  (convolutions of every kind, dense/einsum layers, recurrent matmuls, attention
  products, ``Dot``). A ``k x k`` convolution costs ``k*k*C_in/groups`` MACs per
  output element, padded taps included. This is the quantity the ResNet and
  VGG papers call "FLOPs" (multiply-adds). FLOPs are reported as ``2 * macs``.
- ``other_ops``: everything elementwise, counted in single operations and kept
  out of the headline figure: bias adds (1 per output element), fused and
  standalone activations (1 per element, whatever the function), inference
  batch normalisation (2 per element: one multiply, one add), pooling (window
  size - 1 comparisons for max, window size adds-and-divide for average),
  merges (``n - 1`` per element for ``n`` inputs), LRN (``n + 4`` per element),
  recurrent gate arithmetic.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import keras

__all__ = ["LayerCount", "Counted", "count_layer", "UNKNOWN_NOTE"]

UNKNOWN_NOTE = "unknown layer type: params from count_params(), MACs not counted"


@dataclasses.dataclass(frozen=True)
class LayerCount:
    """One row of a report: one call of one layer.

    Attributes:
        name: the layer's name; nested layers read ``outer/inner``.
        type: the layer's class name.
        output_shape: the output shape without the batch dimension (a tuple, or
            a tuple of tuples for several outputs).
        params: parameters (weights) of the layer, counted once per layer even
            when the layer is called several times.
        trainable_params: the trainable part of ``params``.
        macs: multiply-accumulates of this call (batch size 1).
        other_ops: elementwise operations of this call (see module docstring).
        depth: nesting depth (0 for the model's own layers).
        known: False when no counting rule exists for the layer type.
        container: True for a nested model's summary row (its children follow;
            totals add up the children only).
        note: a short remark (unknown layer, shared call, per-timestep count...).
    """

    name: str
    type: str
    output_shape: Any
    params: int
    trainable_params: int
    macs: int
    other_ops: int
    depth: int = 0
    known: bool = True
    container: bool = False
    note: str = ""


@dataclasses.dataclass
class Counted:
    """What a rule returns for one layer call."""

    macs: int | None = 0
    other_ops: int | None = 0
    params: int | None = None  # None: the rule has no analytic parameter formula
    note: str = ""
    known: bool = True


# --------------------------------------------------------------------------- helpers


def _prod(values) -> int | None:
    total = 1
    for v in values:
        if v is None:
            return None
        total *= int(v)
    return total


def _elements(shape) -> int | None:
    """Elements of one sample (batch dimension dropped)."""
    return _prod(shape[1:])


def _add(*values) -> int | None:
    if any(v is None for v in values):
        return None
    return sum(values)


def _mul(*values) -> int | None:
    return _prod(values)


def _tuple(value, rank: int) -> tuple:
    if isinstance(value, int):
        return (value,) * rank
    return tuple(value)


def _activation_name(activation) -> str:
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", type(activation).__name__)


def _act_ops(activation, elements) -> int | None:
    """1 op per element for a fused activation, 0 for linear."""
    if _activation_name(activation) == "linear":
        return 0
    return elements


def _bias_ops(use_bias: bool, elements) -> int | None:
    return elements if use_bias else 0


# --------------------------------------------------------------------------- rules
# Each rule: (layer, input_shapes, output_shapes, overrides) -> Counted.
# ``overrides`` replace config values (e.g. {"groups": 1}) so a check can ask
# "what would this layer cost ungrouped" without rebuilding anything.


def _kernel(layer) -> int:
    """Taps of one kernel window (9 for a 3x3)."""
    return _prod(_tuple(layer.kernel_size, layer.rank))


def _convolution(layer, outs, *, positions, weights, bias, use_bias=None) -> Counted:
    """Any convolution: ``weights`` applied at ``positions`` (one MAC each), plus its bias
    (``bias`` parameters, one add per output element) and fused activation."""
    use_bias = layer.use_bias if use_bias is None else use_bias
    out_el = _elements(outs[0])
    params = _add(weights, bias if use_bias else 0)
    ops = _add(_bias_ops(use_bias, out_el), _act_ops(layer.activation, out_el))
    return Counted(_mul(positions, weights), ops, params)


def _conv(layer, ins, outs, ov) -> Counted:
    groups = ov.get("groups", layer.groups)
    cin = ins[0][-1]
    weights = _kernel(layer) * (cin // groups) * layer.filters if cin is not None else None
    return _convolution(
        layer, outs, positions=_prod(outs[0][1:-1]), weights=weights, bias=layer.filters,
        use_bias=ov.get("use_bias", layer.use_bias),
    )


def _conv_transpose(layer, ins, outs, ov) -> Counted:
    # Every input pixel scatters a kernel-sized patch into all output channels.
    weights = _mul(_kernel(layer), ins[0][-1], layer.filters)
    return _convolution(layer, outs, positions=_prod(ins[0][1:-1]), weights=weights, bias=layer.filters)


def _depthwise(layer, ins, outs, ov) -> Counted:
    maps = _mul(ins[0][-1], layer.depth_multiplier)  # depth_multiplier maps per input channel
    return _convolution(layer, outs, positions=_prod(outs[0][1:-1]), weights=_mul(_kernel(layer), maps), bias=maps)


def _separable(layer, ins, outs, ov) -> Counted:
    # Depthwise k x k (depth_multiplier maps per channel) then a pointwise 1x1.
    maps = _mul(ins[0][-1], layer.depth_multiplier)
    weights = _add(_mul(_kernel(layer), maps), _mul(maps, layer.filters))
    return _convolution(layer, outs, positions=_prod(outs[0][1:-1]), weights=weights, bias=layer.filters)


def _dense(layer, ins, outs, ov) -> Counted:
    # Dense on a rank-n input applies the same matrix at every leading position.
    cin = ins[0][-1]
    units = layer.units
    positions = _prod(outs[0][1:-1])
    weights = _mul(cin, units)
    out_el = _elements(outs[0])
    use_bias = ov.get("use_bias", layer.use_bias)
    params = _add(weights, units if use_bias else 0)
    ops = _add(_bias_ops(use_bias, out_el), _act_ops(layer.activation, out_el))
    return Counted(_mul(positions, weights), ops, params)


def _einsum_dense(layer, ins, outs, ov) -> Counted:
    # MACs of an einsum = product of the sizes of all distinct indices.
    equation = layer.equation.replace(" ", "")
    lhs, out_spec = equation.split("->")
    in_spec, w_spec = lhs.split(",")
    sizes: dict[str, Any] = {}
    for letter, dim in zip(in_spec, ins[0]):
        sizes[letter] = dim
    for letter, dim in zip(w_spec, layer.kernel.shape):
        sizes.setdefault(letter, dim)
    for letter, dim in zip(out_spec, outs[0]):
        sizes.setdefault(letter, dim)
    batch_letter = in_spec[0]
    macs = _prod(v for k, v in sizes.items() if k != batch_letter)
    weights = _prod(layer.kernel.shape)
    bias = _prod(layer.bias.shape) if getattr(layer, "bias", None) is not None else 0
    out_el = _elements(outs[0])
    ops = _add(out_el if bias else 0, _act_ops(getattr(layer, "activation", None), out_el))
    return Counted(macs, ops, _add(weights, bias))


def _batchnorm(layer, ins, outs, ov) -> Counted:
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    channels = _prod(ins[0][a] for a in axes)
    per = 2 + int(layer.center) + int(layer.scale)
    # Inference form: a per-channel multiply and add (statistics folded in).
    return Counted(0, _mul(2, _elements(outs[0])), _mul(per, channels))


def _layernorm(layer, ins, outs, ov) -> Counted:
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    shape = ins[0]
    norm = _prod(shape[a] for a in axes)
    per = int(getattr(layer, "center", True)) + int(getattr(layer, "scale", True))
    if getattr(layer, "rms_scaling", False):
        per = 1
    # Statistics per sample (mean, variance) then scale and shift: 5 ops per element.
    return Counted(0, _mul(5, _elements(outs[0])), _mul(per, norm))


def _groupnorm(layer, ins, outs, ov) -> Counted:
    channels = ins[0][layer.axis]
    per = int(layer.center) + int(layer.scale)
    return Counted(0, _mul(5, _elements(outs[0])), _mul(per, channels))


def _activation(layer, ins, outs, ov) -> Counted:
    return Counted(0, _elements(outs[0]), 0)


def _prelu(layer, ins, outs, ov) -> Counted:
    shape = list(ins[0][1:])
    for axis in layer.shared_axes or ():
        shape[axis - 1] = 1
    return Counted(0, _elements(outs[0]), _prod(shape))


def _free(layer, ins, outs, ov) -> Counted:
    return Counted(0, 0, 0)


def _pool(layer, ins, outs, ov) -> Counted:
    window = _prod(_tuple(layer.pool_size, len(ins[0]) - 2))
    out_el = _elements(outs[0])
    is_max = "max" in type(layer).__name__.lower()
    return Counted(0, _mul(out_el, window - 1 if is_max else window), 0)


def _global_pool(layer, ins, outs, ov) -> Counted:
    in_el = _elements(ins[0])
    is_max = "max" in type(layer).__name__.lower()
    out_el = _elements(outs[0])
    if is_max and in_el is not None and out_el is not None:
        return Counted(0, in_el - out_el, 0)
    return Counted(0, in_el, 0)


def _merge(layer, ins, outs, ov) -> Counted:
    n = len(ins)
    out_el = _elements(outs[0])
    extra = 1 if type(layer).__name__ == "Average" else 0
    return Counted(0, _mul(out_el, n - 1 + extra), 0)


def _dot(layer, ins, outs, ov) -> Counted:
    axes = layer.axes if isinstance(layer.axes, (list, tuple)) else (layer.axes, layer.axes)
    a = ins[0]
    axis = axes[0] if axes[0] >= 0 else len(a) + axes[0]
    return Counted(_mul(_elements(outs[0]), a[axis]), 0, 0)


def _lrn(layer, ins, outs, ov) -> Counted:
    # Square, (n - 1) window adds, k + alpha * sum (2), power, divide.
    return Counted(0, _mul(layer.size + 4, _elements(outs[0])), 0)


def _crelu(layer, ins, outs, ov) -> Counted:
    return Counted(0, _elements(outs[0]), 0)


def _maxout(layer, ins, outs, ov) -> Counted:
    return Counted(0, _mul(layer.pieces - 1, _elements(outs[0])), 0)


def _affine_elementwise(layer, ins, outs, ov) -> Counted:
    return Counted(0, _mul(2, _elements(outs[0])), None)


def _embedding(layer, ins, outs, ov) -> Counted:
    return Counted(0, 0, layer.input_dim * layer.output_dim)


def _upsampling(layer, ins, outs, ov) -> Counted:
    interp = getattr(layer, "interpolation", "nearest")
    return Counted(0, 0 if interp == "nearest" else _mul(4, _elements(outs[0])), 0)


# ------------------------------------------------------------------ recurrent layers

# Elementwise gate arithmetic per unit and step (bias adds, gate activations,
# the products and sums that combine gates and state).
_CELL_OPS = {"SimpleRNNCell": 3, "GRUCell": 12, "LSTMCell": 13}


def _cell_counts(cell, input_dim) -> tuple[int | None, int | None, int | None, str]:
    """(macs per step, ops per step, params, kind) of one recurrent cell."""
    kind = type(cell).__name__
    gates = {"SimpleRNNCell": 1, "GRUCell": 3, "LSTMCell": 4}.get(kind)
    if gates is None:
        for base in type(cell).__mro__:
            if base.__name__ in _CELL_OPS:
                kind = base.__name__
                gates = {"SimpleRNNCell": 1, "GRUCell": 3, "LSTMCell": 4}[kind]
                break
    if gates is None:
        return None, None, None, kind
    units = cell.units
    macs = _mul(gates * units, _add(input_dim, units))
    bias = 0
    if cell.use_bias:
        bias = gates * units * (2 if getattr(cell, "reset_after", False) else 1)
    params = _add(_mul(gates * units, input_dim), gates * units * units, bias)
    ops = _CELL_OPS[kind] * units + (3 * units if getattr(cell, "reset_after", False) else 0)
    return macs, ops, params, kind


def _rnn(layer, ins, outs, ov) -> Counted:
    cell = layer.cell
    cells = list(getattr(cell, "cells", [cell]))  # StackedRNNCells
    steps = ins[0][1]
    input_dim = ins[0][-1]
    macs = ops = params = 0
    for c in cells:
        m, o, p, kind = _cell_counts(c, input_dim)
        if m is None and p is None:
            return Counted(None, None, None, note=f"unknown recurrent cell {kind}", known=False)
        macs, ops, params = _add(macs, m), _add(ops, o), _add(params, p)
        input_dim = c.units
    note = ""
    if steps is None:
        note = "sequence length unknown: MACs of one time step"
        steps = 1
    return Counted(_mul(macs, steps), _mul(ops, steps), params, note=note)


def _conv_lstm(layer, ins, outs, ov) -> Counted:
    cell = layer.cell
    rank = cell.rank
    kernel = _prod(_tuple(cell.kernel_size, rank))
    cin = ins[0][-1]
    filters = cell.filters
    steps = ins[0][1]
    out_shape = outs[0] if not isinstance(outs[0][0], tuple) else outs[0]
    positions = _prod(out_shape[-1 - rank : -1])
    per_step = _mul(positions, 4 * filters * kernel, _add(cin, filters))
    params = _add(_mul(4 * filters * kernel, _add(cin, filters)), 4 * filters if cell.use_bias else 0)
    note = ""
    if steps is None:
        note, steps = "sequence length unknown: MACs of one time step", 1
    return Counted(_mul(per_step, steps), _mul(positions, 13 * filters, steps), params, note=note)


def _bidirectional(layer, ins, outs, ov) -> Counted:
    total = Counted(0, 0, 0)
    for sub in (layer.forward_layer, layer.backward_layer):
        part = _rule_for(sub)[1](sub, ins, outs, ov) if _rule_for(sub) else None
        if part is None or not part.known:
            return Counted(None, None, None, note="unknown wrapped layer", known=False)
        total = Counted(
            _add(total.macs, part.macs),
            _add(total.other_ops, part.other_ops),
            _add(total.params, part.params),
            note=part.note,
        )
    if layer.merge_mode in ("sum", "mul", "ave"):
        total.other_ops = _add(total.other_ops, _elements(outs[0]))
    return total


def _time_distributed(layer, ins, outs, ov) -> Counted:
    inner = layer.layer
    rule = _rule_for(inner)
    steps = ins[0][1]
    inner_in = [(s[0],) + tuple(s[2:]) for s in ins]
    inner_out = [(s[0],) + tuple(s[2:]) for s in outs]
    if rule is None:
        return Counted(None, None, None, note=f"unknown wrapped layer {type(inner).__name__}", known=False)
    part = rule[1](inner, inner_in, inner_out, ov)
    if steps is None:
        return Counted(part.macs, part.other_ops, part.params, note="sequence length unknown: one step")
    return Counted(_mul(part.macs, steps), _mul(part.other_ops, steps), part.params, note=part.note)


# ------------------------------------------------------------------ attention


def _attention(layer, ins, outs, ov) -> Counted:
    # Luong (dot) or Bahdanau (additive) attention: scores T x S x d, then the
    # weighted sum T x S x d_v. Inputs [query, value(, key)].
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    t, s, d, dv = q[1], k[1], q[-1], v[-1]
    scores = _mul(t, s, d)
    macs = _add(scores, _mul(t, s, dv))
    ops = _mul(3, t, s)  # scale / softmax per score
    if type(layer).__name__ == "AdditiveAttention":
        ops = _add(ops, _mul(2, t, s, d))  # q + k and tanh per pair and feature
    return Counted(macs, ops, None)


def _mha(layer, ins, outs, ov) -> Counted:
    # Projections (query, key, value, output) plus the two batched products.
    q = ins[0]
    v = ins[1] if len(ins) > 1 else q
    k = ins[2] if len(ins) > 2 else v
    heads = layer.num_heads
    kd = layer.key_dim
    vd = layer.value_dim or kd
    t, s = _prod(q[1:-1]), _prod(k[1:-1])
    out_dim = outs[0][-1]
    macs = _add(
        _mul(t, q[-1], heads * kd),
        _mul(s, k[-1], heads * kd),
        _mul(s, v[-1], heads * vd),
        _mul(heads, t, s, kd),
        _mul(heads, t, s, vd),
        _mul(t, heads * vd, out_dim),
    )
    ops = _mul(3, heads, t, s)
    return Counted(macs, ops, None)


# ------------------------------------------------------------------ dispatch


def _kerasnets_layers():
    from kerasnets import layers as kl

    return kl


def _rules() -> list[tuple[tuple[type, ...], Callable]]:
    L = keras.layers
    kl = _kerasnets_layers()
    rules = [
        ((L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose), _conv_transpose),
        ((L.SeparableConv1D, L.SeparableConv2D), _separable),
        ((L.DepthwiseConv1D, L.DepthwiseConv2D), _depthwise),
        ((L.Conv1D, L.Conv2D, L.Conv3D), _conv),
        ((L.EinsumDense,), _einsum_dense),
        ((L.Dense,), _dense),
        ((L.BatchNormalization,), _batchnorm),
        ((L.LayerNormalization,), _layernorm),
        ((L.GroupNormalization,), _groupnorm),
        ((L.PReLU,), _prelu),
        ((L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.Softmax), _activation),
        ((kl.LocalResponseNormalization,), _lrn),
        ((kl.CReLU,), _crelu),
        ((kl.Maxout,), _maxout),
        ((kl.ZeroPadChannels,), _free),
        (
            (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
             L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D),
            _global_pool,
        ),
        (
            (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D,
             L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D),
            _pool,
        ),
        ((L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum), _merge),
        ((L.Dot,), _dot),
        ((L.Embedding,), _embedding),
        ((L.Bidirectional,), _bidirectional),
        ((L.TimeDistributed,), _time_distributed),
        ((L.ConvLSTM1D, L.ConvLSTM2D, L.ConvLSTM3D), _conv_lstm),
        ((L.RNN,), _rnn),
        ((L.MultiHeadAttention,), _mha),
        ((L.Attention, L.AdditiveAttention), _attention),
        ((L.Rescaling, L.Normalization), _affine_elementwise),
        ((L.UpSampling1D, L.UpSampling2D, L.UpSampling3D), _upsampling),
        (
            (L.InputLayer, L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
             L.GaussianNoise, L.GaussianDropout, L.AlphaDropout, L.Flatten, L.Reshape, L.Permute,
             L.RepeatVector, L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D, L.Cropping1D,
             L.Cropping2D, L.Cropping3D, L.Concatenate, L.Identity, L.Masking,
             L.ActivityRegularization),
            _free,
        ),
    ]
    return rules


_RULES: list | None = None
_RULE_CACHE: dict[type, Any] = {}


def _rule_for(layer):
    """The (classes, rule) pair for ``layer``'s type, or None; cached per class."""
    global _RULES
    cls = type(layer)
    if cls in _RULE_CACHE:
        return _RULE_CACHE[cls]
    if _RULES is None:
        _RULES = _rules()
    found = None
    for classes, rule in _RULES:
        if isinstance(layer, classes):
            found = (classes, rule)
            break
    _RULE_CACHE[cls] = found
    return found


def _weight_counts(layer) -> tuple[int, int]:
    trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
    return trainable + non_trainable, trainable


def count_layer(layer, input_shapes, output_shapes, overrides: dict | None = None) -> Counted:
    """Count one call of ``layer`` given its input and output shapes (with batch dim).

    Args:
        layer: a built Keras layer.
        input_shapes: list of input shapes (tuples, batch dimension first).
        output_shapes: list of output shapes.
        overrides: config values to use instead of the layer's (``{"groups": 1}``).

    Returns:
        A `Counted`; ``known=False`` with params from the layer's weights
        when no rule exists. ``params`` is the analytic count where a formula
        exists; when it disagrees with the weights the layer holds, the weights
        win and the note says so.
    """
    overrides = overrides or {}
    rule = _rule_for(layer)
    actual, _ = _weight_counts(layer)
    if rule is None:
        return Counted(0, 0, actual, note=UNKNOWN_NOTE, known=False)
    result = rule[1](layer, input_shapes, output_shapes, overrides)
    notes = [result.note] if result.note else []
    if result.macs is None or result.other_ops is None:
        if result.known:
            notes.append("shape not fully known: MACs not counted")
        result.macs = result.macs or 0
        result.other_ops = result.other_ops or 0
    if result.params is None:
        result.params = actual
    elif result.params != actual and not overrides and layer.built:
        notes.append(f"formula gives {result.params:,} params, layer holds {actual:,}")
        result.params = actual
    result.note = "; ".join(n for n in notes if n)
    return result
