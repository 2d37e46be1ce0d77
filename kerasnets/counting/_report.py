"""The `Report` of per-layer counts and its renderings (rich table, text, Markdown, CSV)."""

from __future__ import annotations

import dataclasses
from typing import Any

from kerasnets.counting._count import LayerCount

__all__ = ["Report", "CONVENTION", "human"]

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
        rows: one `LayerCount` per layer call, in
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
