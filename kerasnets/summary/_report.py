"""Walk a Keras model's graph and assemble a :class:`Report` of per-layer counts."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras

from kerasnets.summary._count import LayerCount, count_layer

__all__ = ["Report", "count", "CONVENTION", "human"]

CONVENTION = (
    "MACs = multiply-accumulates of convolutions, dense/einsum layers, recurrent matmuls and "
    "attention products (batch 1; padded taps included) -- the multiply-adds the AlexNet/VGG/"
    "ResNet papers call 'FLOPs'. FLOPs = 2 x MACs. Elementwise work (bias adds, batch norm, "
    "activations, pooling, merges, LRN) is counted separately as 'other ops' and is not in MACs."
)


def human(value: float | int | None, digits: int = 1) -> str:
    """``105415200 -> '105.4M'``; small values are printed whole."""
    if value is None:
        return "-"
    value = float(value)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f}{unit}"
    return f"{int(value)}"


def _shape_text(shape) -> str:
    if shape and isinstance(shape[0], tuple):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


@dataclasses.dataclass(frozen=True)
class Report:
    """Per-layer parameter and MAC counts of one model, with totals.

    Attributes:
        model_name: the model's name.
        input_shapes: the input shape(s) counted, without the batch dimension.
        rows: one :class:`~kerasnets.summary.LayerCount` per layer call, in
            layer order; a nested model's row comes before its children.

    Totals (properties) add up the leaf rows (nested models' summary rows are
    skipped, so nothing counts twice): ``params``, ``trainable_params``,
    ``non_trainable_params``, ``macs``, ``flops`` (= 2 x macs), ``other_ops``
    and ``unknown`` (names of layers without a counting rule).
    """

    model_name: str
    input_shapes: tuple
    rows: tuple[LayerCount, ...]

    def _leaves(self):
        return (r for r in self.rows if not r.container)

    @property
    def params(self) -> int:
        return sum(r.params for r in self._leaves())

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self._leaves())

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self._leaves())

    @property
    def flops(self) -> int:
        """FLOPs = 2 x MACs (a multiply and an add each)."""
        return 2 * self.macs

    @property
    def other_ops(self) -> int:
        return sum(r.other_ops for r in self._leaves())

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rows if not r.known)

    def layer(self, name: str) -> LayerCount:
        """The (first) row of the layer called ``name``.

        Raises:
            KeyError: no such layer, listing a few names.
        """
        for row in self.rows:
            if row.name == name:
                return row
        names = ", ".join(r.name for r in self.rows[:8])
        raise KeyError(f"No layer named {name!r} in {self.model_name}; layers include: {names}, ...")

    def totals(self) -> dict[str, int]:
        return {
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "flops": self.flops,
            "other_ops": self.other_ops,
        }

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: model, input shapes, rows, totals, convention."""
        return {
            "model": self.model_name,
            "input_shapes": [list(s) for s in self.input_shapes],
            "convention": CONVENTION,
            "rows": [dataclasses.asdict(r) for r in self.rows],
            "totals": self.totals(),
        }

    # ------------------------------------------------------------ rendering

    def _columns(self, flops: bool) -> list[str]:
        cols = ["Layer", "Type", "Output shape", "Params", "MACs"]
        if flops:
            cols.append("FLOPs")
        return cols + ["Other ops", "Note"]

    def _cells(self, row: LayerCount, flops: bool, indent: str = "  ") -> list[str]:
        name = indent * row.depth + row.name.split("/")[-1] if row.depth else row.name
        note = row.note
        if not row.known and not note:
            note = "unknown layer"
        cells = [name, row.type, _shape_text(row.output_shape), f"{row.params:,}", f"{row.macs:,}"]
        if flops:
            cells.append(f"{2 * row.macs:,}")
        return cells + [f"{row.other_ops:,}", note]

    def _footer_lines(self, flops: bool) -> list[str]:
        lines = [
            f"Total params: {self.params:,} (trainable {self.trainable_params:,}, "
            f"non-trainable {self.non_trainable_params:,})",
            f"Total MACs: {self.macs:,} ({human(self.macs, 2)})",
        ]
        if flops:
            lines.append(f"Total FLOPs (2 x MACs): {self.flops:,} ({human(self.flops, 2)})")
        lines.append(f"Other (elementwise) ops, not in MACs: {self.other_ops:,} ({human(self.other_ops, 2)})")
        if self.unknown:
            lines.append(
                f"Unknown layer types (MACs not counted, params from count_params()): {', '.join(self.unknown)}"
            )
        lines.append("Convention: " + CONVENTION)
        return lines

    def title(self) -> str:
        shapes = ", ".join(_shape_text(s) for s in self.input_shapes)
        return f"{self.model_name} -- input {shapes}"

    def rich_table(self, *, flops: bool = False):
        """A ``rich.table.Table`` of the rows (totals as the caption)."""
        from rich.table import Table

        table = Table(title=self.title(), caption="\n".join(self._footer_lines(flops)), caption_justify="left")
        for col in self._columns(flops):
            numeric = col in ("Params", "MACs", "FLOPs", "Other ops")
            table.add_column(col, justify="right" if numeric else "left", overflow="fold")
        for row in self.rows:
            style = "yellow" if not row.known else ("bold" if row.container else None)
            table.add_row(*self._cells(row, flops), style=style)
        table.add_section()
        total = ["Total", "", "", f"{self.params:,}", f"{self.macs:,}"]
        if flops:
            total.append(f"{self.flops:,}")
        table.add_row(*(total + [f"{self.other_ops:,}", ""]), style="bold")
        return table

    def to_text(self, *, flops: bool = False, width: int = 160) -> str:
        """The rich table rendered to plain text."""
        import io

        from rich.console import Console

        buffer = io.StringIO()
        Console(file=buffer, width=width, no_color=True, highlight=False).print(self.rich_table(flops=flops))
        return buffer.getvalue()

    def to_markdown(self, *, flops: bool = False) -> str:
        """A GitHub-flavoured Markdown table followed by the totals."""
        cols = self._columns(flops)
        numeric = {"Params", "MACs", "FLOPs", "Other ops"}
        lines = [f"**{self.title()}**", ""]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "|".join("---:" if c in numeric else "---" for c in cols) + "|")
        for row in self.rows:
            cells = self._cells(row, flops, indent="&nbsp;&nbsp;")
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        total = ["**Total**", "", "", f"**{self.params:,}**", f"**{self.macs:,}**"]
        if flops:
            total.append(f"**{self.flops:,}**")
        lines.append("| " + " | ".join(total + [f"**{self.other_ops:,}**", ""]) + " |")
        lines.append("")
        lines.extend(f"- {line}" for line in self._footer_lines(flops))
        return "\n".join(lines) + "\n"

    def to_csv(self, *, flops: bool = False) -> str:
        """CSV with one row per layer call and a final ``TOTAL`` row (plain integers)."""
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        header = ["name", "type", "output_shape", "params", "trainable_params", "macs"]
        if flops:
            header.append("flops")
        header += ["other_ops", "depth", "container", "known", "note"]
        writer.writerow(header)
        for r in self.rows:
            values = [r.name, r.type, _shape_text(r.output_shape), r.params, r.trainable_params, r.macs]
            if flops:
                values.append(2 * r.macs)
            values += [r.other_ops, r.depth, int(r.container), int(r.known), r.note]
            writer.writerow(values)
        total = ["TOTAL", "", "", self.params, self.trainable_params, self.macs]
        if flops:
            total.append(self.flops)
        writer.writerow(total + [self.other_ops, "", "", "", ""])
        return buffer.getvalue()

    def __str__(self) -> str:
        return self.to_text()


# ---------------------------------------------------------------- graph walk


def _strip(shape) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def _functional_of(model, input_shape):
    """The functional graph of ``model``: itself, or a built Sequential's."""
    if isinstance(model, keras.Sequential):
        if getattr(model, "_functional", None) is None:
            if input_shape is None:
                raise ValueError(
                    "The Sequential model is not built, so its shapes are unknown; pass "
                    "`input_shape` (without the batch dimension) or build it first. "
                    f"Received: input_shape={input_shape!r}"
                )
            model.build((None,) + tuple(input_shape))
        return model._functional
    if hasattr(model, "_nodes_by_depth") and hasattr(model, "inputs") and getattr(model, "_inputs_struct", None) is not None:
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
    for level in sorted(fmodel._nodes_by_depth, reverse=True):
        for node in fmodel._nodes_by_depth[level]:
            op = node.operation
            if op is None or node.is_input:
                continue
            if any(id(x) not in tensors for x in node.input_tensors):
                continue
            ins = [tensors[id(x)] for x in node.input_tensors]
            recorded = [x for x in node.input_tensors]
            same = all(_strip(a.shape)[1:] == _strip(b.shape)[1:] for a, b in zip(ins, recorded))
            nested = _functional_of(op, None) if isinstance(op, keras.Model) else None
            child_rows: list[LayerCount] = []
            if nested is not None:
                child_rows, out_specs = _walk(nested, ins, f"{prefix}{op.name}/", depth + 1, seen)
                outs = out_specs
            elif same:
                outs = list(node.outputs)
            else:
                args, kwargs = node.arguments.fill_in(tensors)
                outs = keras.tree.flatten(op.compute_output_spec(*args, **kwargs))
            for x, y in zip(node.outputs, outs):
                tensors[id(x)] = y
            in_shapes = [_strip(t.shape) for t in ins]
            out_shapes = [_strip(t.shape) for t in outs]
            shown_shape = out_shapes[0][1:] if len(out_shapes) == 1 else tuple(s[1:] for s in out_shapes)
            call_index = op._inbound_nodes.index(node) if node in op._inbound_nodes else 0
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
    batch of zeros, see :func:`kerasnets.summary.count`). Nothing is rebuilt.

    Args:
        model: a ``keras.Model``.
        input_shape: optional input shape without the batch dimension (a list of
            shapes for several inputs) to count at instead of the built one.

    Returns:
        A :class:`Report`.

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: an unbuilt Sequential without ``input_shape``, or an
            ``input_shape`` of the wrong rank.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Received: model={model!r}")
    fmodel = _functional_of(model, input_shape)
    if fmodel is None:
        from kerasnets.summary._trace import count_subclassed

        return count_subclassed(model, input_shape=input_shape)
    specs = _input_specs(fmodel, input_shape)
    rows, _ = _walk(fmodel, specs, "", 0, set())
    shapes = tuple(_strip(s.shape)[1:] for s in specs)
    return Report(model_name=model.name, input_shapes=shapes, rows=tuple(rows))
