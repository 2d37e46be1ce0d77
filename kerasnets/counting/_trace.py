"""Counting subclassed models, which have no graph: trace one call and record shapes.

Every sub-layer is given, for the duration of one forward pass on a batch of
zeros, a subclass of its own class whose ``__call__`` records input and output
shapes and the nesting; the original classes are restored afterwards. Layers
with a counting rule are counted from the recorded shapes (their inner layers,
e.g. a Bidirectional's two RNNs, are then not counted again); container layers
without a rule become summary rows over their recorded children.
"""

from __future__ import annotations

import math
import threading

import keras
import numpy as np

from kerasnets import _compat
from kerasnets.counting._count import UNKNOWN_NOTE, LayerCount, _rule_for, count_layer
from kerasnets.counting._report import Report

__all__ = ["count_subclassed"]

_STATE = threading.local()
_HOOKED: dict[type, type] = {}


def _shapes(structure) -> list[tuple]:
    out = []
    for t in keras.tree.flatten(structure):
        if hasattr(t, "shape") and t.shape is not None:
            out.append(tuple(None if d is None else int(d) for d in t.shape))
    return out


def _hooked_class(cls: type) -> type:
    if cls in _HOOKED:
        return _HOOKED[cls]

    def __call__(self, *args, **kwargs):
        records = getattr(_STATE, "records", None)
        if records is None:
            return cls.__call__(self, *args, **kwargs)
        entry = {"layer": self, "depth": len(_STATE.stack), "parent": _STATE.stack[-1] if _STATE.stack else None}
        records.append(entry)
        _STATE.stack.append(len(records) - 1)
        try:
            out = cls.__call__(self, *args, **kwargs)
        finally:
            _STATE.stack.pop()
        entry["ins"] = _shapes((args, kwargs))
        entry["outs"] = _shapes(out)
        return out

    hooked = type(cls.__name__, (cls,), {"__call__": __call__, "__module__": cls.__module__})
    _HOOKED[cls] = hooked
    return hooked


def _weights(layer) -> tuple[int, int]:
    trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
    return trainable + sum(math.prod(w.shape) for w in layer.non_trainable_weights), trainable


def count_subclassed(model, *, input_shape=None):
    """Count a subclassed model by tracing one forward pass (batch of zeros).

    Raises:
        ValueError: without ``input_shape`` when the model's input shape is unknown.
    """
    if input_shape is None:
        build = _compat.build_input_shapes(model)
        shapes = list(build.values())
        if len(shapes) != 1 or shapes[0] is None:
            raise ValueError(
                f"{model.name} is a subclassed model whose input shape is unknown; pass `input_shape` "
                f"(without the batch dimension). Received: input_shape={input_shape!r}"
            )
        input_shape = tuple(shapes[0])[1:]
    input_shape = tuple(int(d) for d in input_shape)
    layers = _compat.sublayers(model)
    originals = [(layer, type(layer)) for layer in layers]
    _STATE.records, _STATE.stack = [], []
    try:
        for layer, cls in originals:
            object.__setattr__(layer, "__class__", _hooked_class(cls))
        model(np.zeros((1,) + input_shape, dtype="float32"))
        records = _STATE.records
    finally:
        for layer, cls in originals:
            object.__setattr__(layer, "__class__", cls)
        _STATE.records = None
        _STATE.stack = []

    rows: list[LayerCount] = []
    skip: set[int] = set()
    seen: set[int] = set()
    containers: dict[int, int] = {}
    for index, entry in enumerate(records):
        if entry["parent"] is not None and entry["parent"] in skip:
            skip.add(index)
            continue
        layer = entry["layer"]
        outs = entry.get("outs", [])
        shown = outs[0][1:] if len(outs) == 1 else tuple(s[1:] for s in outs)
        path = [layer.name]
        parent = entry["parent"]
        while parent is not None:
            path.insert(0, records[parent]["layer"].name)
            parent = records[parent]["parent"]
        name = "/".join(path)
        has_children = bool(_compat.sublayers(layer, recursive=False))
        if _rule_for(layer) is None and has_children:
            containers[index] = len(rows)
            rows.append(LayerCount(name, type(layer).__name__, shown, 0, 0, 0, 0, depth=entry["depth"], container=True))
            continue
        counted = count_layer(layer, entry.get("ins", []), outs)
        params, trainable = counted.params, _weights(layer)[1]
        note = counted.note
        if id(layer) in seen:
            params = trainable = 0
            note = "; ".join(n for n in (note, "shared layer: params counted at its first call") if n)
        seen.add(id(layer))
        skip.add(index)  # its inner layers were counted by its rule
        rows.append(
            LayerCount(name, type(layer).__name__, shown, params, trainable, int(counted.macs),
                       int(counted.other_ops), depth=entry["depth"], known=counted.known, note=note)
        )
    # Fill the container rows with their children's sums.
    for index, row_pos in sorted(containers.items(), key=lambda kv: -kv[1]):
        prefix = rows[row_pos].name + "/"
        leaves = [r for r in rows if r.name.startswith(prefix) and not r.container]
        r = rows[row_pos]
        rows[row_pos] = LayerCount(
            r.name, r.type, r.output_shape, sum(x.params for x in leaves), sum(x.trainable_params for x in leaves),
            sum(x.macs for x in leaves), sum(x.other_ops for x in leaves), depth=r.depth,
            known=all(x.known for x in leaves), container=True,
        )
    counted_params = sum(r.params for r in rows if not r.container)
    total, trainable = _weights(model)
    if total != counted_params:
        rows.append(
            LayerCount(f"{model.name}(own weights)", type(model).__name__, (), total - counted_params,
                       max(trainable - sum(r.trainable_params for r in rows if not r.container), 0), 0, 0,
                       known=False, note=UNKNOWN_NOTE)
        )
    return Report(model_name=model.name, input_shapes=(input_shape,), rows=tuple(rows))
