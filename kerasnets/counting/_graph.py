"""Walk a Keras model's graph (functional, Sequential, nested, shared layers) into a [`Report`][kerasnets.counting.Report].

Subclassed models, which have no graph, are traced by `kerasnets.counting._trace`.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from kerasnets import _compat
from kerasnets.counting._count import LayerCount, count_layer
from kerasnets.counting._report import Report
from kerasnets.counting._trace import count_subclassed

__all__ = ["count"]

def _strip(shape) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def _functional_of(model, input_shape):
    """The functional graph of ``model``: itself, or a built Sequential's."""
    if isinstance(model, keras.Sequential):
        if _compat.sequential_functional(model) is None:
            if input_shape is None:
                raise ValueError(
                    "The Sequential model is not built, so its shapes are unknown; pass "
                    "`input_shape` (without the batch dimension) or build it first. "
                    f"Received: input_shape={input_shape!r}"
                )
            model.build((None,) + tuple(input_shape))
        return _compat.sequential_functional(model)
    if _compat.is_functional(model):
        return model
    return None


def _order_of(fmodel) -> dict[int, int]:
    return {id(op): i for i, op in enumerate(fmodel.operations)}


def _walk(fmodel, in_specs, prefix: str, depth: int, seen: set) -> tuple[list[LayerCount], list]:
    """Count every node of a functional graph; returns (rows, output specs)."""
    tensors: dict[int, Any] = {}
    for x, spec in zip(fmodel.inputs, in_specs):
        tensors[id(x)] = spec
    order = _order_of(fmodel)
    entries: list[tuple[tuple[int, int], list[LayerCount]]] = []
    by_depth = _compat.nodes_by_depth(fmodel)
    for level in sorted(by_depth, reverse=True):
        for node in by_depth[level]:
            op = _compat.node_operation(node)
            if op is None or _compat.node_is_input(node):
                continue
            recorded = _compat.node_input_tensors(node)
            if any(id(x) not in tensors for x in recorded):
                continue
            ins = [tensors[id(x)] for x in recorded]
            same = all(_strip(a.shape)[1:] == _strip(b.shape)[1:] for a, b in zip(ins, recorded))
            nested = _functional_of(op, None) if isinstance(op, keras.Model) else None
            child_rows: list[LayerCount] = []
            if nested is not None:
                child_rows, out_specs = _walk(nested, ins, f"{prefix}{op.name}/", depth + 1, seen)
                outs = out_specs
            elif same:
                outs = _compat.node_output_tensors(node)
            else:
                args, kwargs = _compat.node_call_arguments(node, tensors)
                outs = keras.tree.flatten(op.compute_output_spec(*args, **kwargs))
            for x, y in zip(_compat.node_output_tensors(node), outs):
                tensors[id(x)] = y
            in_shapes = [_strip(t.shape) for t in ins]
            out_shapes = [_strip(t.shape) for t in outs]
            shown_shape = out_shapes[0][1:] if len(out_shapes) == 1 else tuple(s[1:] for s in out_shapes)
            calls = _compat.inbound_nodes(op)
            call_index = calls.index(node) if node in calls else 0
            name = f"{prefix}{op.name}"
            if nested is not None:
                leaves = [r for r in child_rows if not r.container]
                row = LayerCount(
                    name=name,
                    type=type(op).__name__,
                    output_shape=shown_shape,
                    params=sum(r.params for r in leaves),
                    trainable_params=sum(r.trainable_params for r in leaves),
                    macs=sum(r.macs for r in leaves),
                    other_ops=sum(r.other_ops for r in leaves),
                    depth=depth,
                    known=all(r.known for r in leaves),
                    container=True,
                )
                rows = [row] + child_rows
            else:
                rows = [_row(op, in_shapes, out_shapes, shown_shape, name, depth, seen)]
            entries.append(((order.get(id(op), len(order)), call_index), rows))
    entries.sort(key=lambda e: e[0])
    out_specs = [tensors[id(x)] for x in fmodel.outputs]
    return [r for _, rows in entries for r in rows], out_specs


def _row(op, in_shapes, out_shapes, shown_shape, name, depth, seen) -> LayerCount:
    if not isinstance(op, keras.layers.Layer):
        # A keras.ops call inside a functional model (e.g. keras.ops.matmul).
        return LayerCount(
            name=name, type=type(op).__name__, output_shape=shown_shape, params=0, trainable_params=0,
            macs=0, other_ops=0, depth=depth, known=False, note="operation without a counting rule",
        )
    counted = count_layer(op, in_shapes, out_shapes)
    params = counted.params
    trainable = sum(math.prod(w.shape) for w in op.trainable_weights)
    note = counted.note
    if id(op) in seen:
        params = trainable = 0
        note = "; ".join(n for n in (note, "shared layer: params counted at its first call") if n)
    seen.add(id(op))
    return LayerCount(
        name=name, type=type(op).__name__, output_shape=shown_shape, params=params,
        trainable_params=trainable, macs=int(counted.macs), other_ops=int(counted.other_ops),
        depth=depth, known=counted.known, note=note,
    )


def _input_specs(fmodel, input_shape):
    recorded = list(fmodel.inputs)
    if input_shape is None:
        return recorded
    shapes = input_shape
    if not (isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple))):
        shapes = [shapes]
    if len(shapes) != len(recorded):
        raise ValueError(
            f"`input_shape` must give one shape per model input ({len(recorded)}). "
            f"Received: input_shape={input_shape!r}"
        )
    specs = []
    for shape, x in zip(shapes, recorded):
        shape = tuple(shape)
        if len(shape) != len(x.shape) - 1:
            raise ValueError(
                f"`input_shape` must have rank {len(x.shape) - 1} (no batch dimension) to match "
                f"the model input {tuple(x.shape[1:])}. Received: input_shape={input_shape!r}"
            )
        specs.append(keras.KerasTensor((None,) + shape, dtype=x.dtype))
    return specs


def count(model, *, input_shape=None) -> Report:
    """Count parameters and MACs of every layer of a Keras model, analytically.

    Works for functional models, Sequential models (built, or given
    ``input_shape``), models nested inside them (rows ``outer/inner``), shared
    layers (MACs per call, params once) and subclassed models (traced once on a
    batch of zeros). Nothing is rebuilt.

    Args:
        model: a ``keras.Model``.
        input_shape: optional input shape without the batch dimension (a list of
            shapes for several inputs) to count at instead of the built one.

    Returns:
        A [`Report`][kerasnets.counting.Report].

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: an unbuilt Sequential without ``input_shape``, or an
            ``input_shape`` of the wrong rank.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Received: model={model!r}")
    fmodel = _functional_of(model, input_shape)
    if fmodel is None:
        return count_subclassed(model, input_shape=input_shape)
    specs = _input_specs(fmodel, input_shape)
    rows, _ = _walk(fmodel, specs, "", 0, set())
    shapes = tuple(_strip(s.shape)[1:] for s in specs)
    return Report(model_name=model.name, input_shapes=shapes, rows=tuple(rows))
