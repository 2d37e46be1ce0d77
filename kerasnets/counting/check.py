"""Check a model's counts against a published table shipped as package data.

A reference table (``kerasnets/counting/reference/<name>.json``) lists printed
figures ("35K", "105M") per row. For every row the checker computes the
figures analytically -- as the model is built, and under each alternative
configuration the table declares (AlexNet: one tower vs two towers, obtained by
re-counting the same layer with ``groups`` overridden, no rebuild) -- and gives
a verdict:

- ``match``: the model's own configuration reproduces every printed figure,
  within the table's rounding (a figure matches when the computed value rounds
  *or* truncates to it at the printed precision, and a parameter figure may
  count weights with or without biases: tables do all of these).
- ``mismatch``: the row is arithmetically consistent (some declared
  configuration reproduces all its figures) but the model's configuration does
  not. This fails the check.
- ``erratum``: no single configuration reproduces the row; the verdict says
  which figure agrees with which configuration, or which arithmetic slip
  explains it (a term counted twice or left out). Errata do not fail the check.

The check passes (exit status 0 in the CLI) when every arithmetically
consistent row matches.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from importlib import resources
from typing import Any

import keras

from kerasnets.models import get_model
from kerasnets.counting._count import count_layer
from kerasnets.counting._graph import count
from kerasnets.counting._report import human
from kerasnets.models.googlenet import InceptionV1Module, inception_module_model

__all__ = ["RowCheck", "CheckResult", "list_references", "load_reference", "references_for", "check_reference", "parse_figure"]

_FIGURE = re.compile(r"^\s*([0-9]+(?:\.([0-9]+))?)\s*([kKmMgGbBtT]?)\s*$")
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9, "t": 1e12}


def parse_figure(text: str) -> tuple[float, float]:
    """``"1.3M" -> (1_300_000, 100_000)``: the value and one unit of its last printed digit.

    Raises:
        ValueError: not a number with an optional K/M/G suffix.
    """
    match = _FIGURE.match(str(text))
    if not match:
        raise ValueError(
            f"A printed figure must be a number with an optional K, M or G suffix (e.g. '35K'). Received: figure={text!r}"
        )
    number, decimals, suffix = match.groups()
    scale = _SCALE[suffix.lower()]
    digits = len(decimals) if decimals else 0
    return float(number) * scale, scale / 10**digits


def _agrees(printed: str, computed: int | None) -> str | None:
    """How ``computed`` reproduces ``printed``: "rounded", "truncated" or None."""
    if computed is None:
        return None
    value, unit = parse_figure(printed)
    q = computed / unit
    if round(q) * unit == value or math.isclose(round(q) * unit, value):
        return "rounded"
    if math.isclose(math.floor(q + 1e-9) * unit, value):
        return "truncated"
    return None


def list_references() -> list[str]:
    """Names of the shipped reference tables (``alexnet``, ``googlenet_modules``)."""
    folder = resources.files("kerasnets.counting").joinpath("reference")
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_reference(name: str) -> dict:
    """Load a shipped reference table by name.

    Raises:
        ValueError: unknown name (listing the tables) or a corrupt file.
    """
    names = list_references()
    if name not in names:
        raise ValueError(f"`reference` must be one of {', '.join(map(repr, names))}. Received: reference={name!r}")
    path = resources.files("kerasnets.counting").joinpath("reference", f"{name}.json")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"Reference table {name!r} is not valid JSON ({err}). Received: path={str(path)!r}") from err
    for key in ("name", "kind", "rows"):
        if key not in table:
            raise ValueError(f"Reference table {name!r} lacks the {key!r} field. Received: path={str(path)!r}")
    return table


def references_for(model_name: str) -> list[str]:
    """The reference tables that apply to a registered model name."""
    key = model_name.strip().lower().replace("-", "_")
    return [n for n in list_references() if key == n or key in load_reference(n).get("models", ())]


@dataclasses.dataclass(frozen=True)
class RowCheck:
    """One row's verdict.

    Attributes:
        row: the table's row label.
        figures: ``{"params": (printed, computed as built), "macs": (...)}``.
        alternatives: ``{configuration: {"params": computed, "macs": computed}}``.
        status: "match", "mismatch" or "erratum".
        verdict: the explanation printed to the user.
    """

    row: str
    figures: dict
    alternatives: dict
    status: str
    verdict: str


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """All row verdicts of one table; ``ok`` when every consistent row matches."""

    reference: str
    title: str
    model_configuration: str
    rows: tuple[RowCheck, ...]

    @property
    def ok(self) -> bool:
        return all(r.status != "mismatch" for r in self.rows)

    @property
    def failing(self) -> tuple[RowCheck, ...]:
        return tuple(r for r in self.rows if r.status == "mismatch")

    def rich_table(self):
        from rich.table import Table

        table = Table(title=f"{self.title}\n(model configuration: {self.model_configuration})", show_lines=True)
        for col in ("Row", "Figure", "Printed", "Computed", "Status", "Verdict"):
            table.add_column(col, overflow="fold", justify="right" if col in ("Printed", "Computed") else "left")
        for r in self.rows:
            figs = list(r.figures.items())
            table.add_row(
                r.row,
                "\n".join(k for k, _ in figs),
                "\n".join(p for _, (p, _c) in figs),
                "\n".join(f"{c:,}" if c is not None else "-" for _, (_p, c) in figs),
                r.status,
                r.verdict,
                style={"mismatch": "red", "erratum": "yellow"}.get(r.status),
            )
        return table

    def to_text(self, width: int = 160) -> str:
        import io

        from rich.console import Console

        buffer = io.StringIO()
        console = Console(file=buffer, width=width, no_color=True, highlight=False)
        console.print(self.rich_table())
        console.print(self.summary_line())
        return buffer.getvalue()

    def summary_line(self) -> str:
        errata = [r.row for r in self.rows if r.status == "erratum"]
        line = (
            f"{self.reference}: {sum(r.status == 'match' for r in self.rows)} rows match, "
            f"{len(errata)} table errata ({', '.join(errata) or 'none'}), "
            f"{len(self.failing)} mismatching ({', '.join(r.row for r in self.failing) or 'none'})."
        )
        return line + (" PASS" if self.ok else " FAIL")


# ------------------------------------------------------------------ layer tables


def _layer_io(layer):
    ins = [tuple(layer.input.shape)] if not isinstance(layer.input, (list, tuple)) else [tuple(t.shape) for t in layer.input]
    outs = [tuple(layer.output.shape)]
    return ins, outs


def _bias_count(layer) -> int:
    bias = getattr(layer, "bias", None)
    return int(math.prod(bias.shape)) if bias is not None else 0


def _counts(layer, overrides: dict) -> dict:
    ins, outs = _layer_io(layer)
    counted = count_layer(layer, ins, outs, overrides)
    bias = _bias_count(layer) if overrides.get("use_bias", getattr(layer, "use_bias", False)) else 0
    return {"params": counted.params, "weights": counted.params - bias, "macs": counted.macs}


def _figure_match(kind: str, printed: str, counts: dict) -> str | None:
    if kind == "params":
        how = _agrees(printed, counts["params"])
        if how:
            return how
        how = _agrees(printed, counts["weights"])
        return f"{how}, weights without biases" if how else None
    return _agrees(printed, counts[kind])


def _configuration_of(layer_groups: dict[str, int], configurations: dict) -> str:
    for name, conf in configurations.items():
        if all(layer_groups.get(layer) == g for layer, g in conf.get("groups", {}).items()):
            return name
    return "as built"


def _check_layer_row(model, row: dict, configurations: dict, own: str) -> RowCheck:
    try:
        layer = model.get_layer(row["layer"])
    except ValueError:
        return RowCheck(row["row"], {}, {}, "mismatch", f"the model has no layer {row['layer']!r}")
    kinds = [k for k in ("params", "macs") if k in row]
    configs = {own: {}}
    for name, conf in configurations.items():
        if name != own:
            groups = conf.get("groups", {})
            configs[name] = {"groups": groups[row["layer"]]} if row["layer"] in groups else {}
    counts = {name: _counts(layer, ov) for name, ov in configs.items()}
    # Configurations that do not change this layer are the same as the model's own.
    distinct = {n: c for n, c in counts.items() if n == own or c != counts[own]}
    hows = {n: {k: _figure_match(k, row[k], c) for k in kinds} for n, c in distinct.items()}
    figures = {k: (row[k], counts[own][k]) for k in kinds}
    alternatives = {n: {k: c[k] for k in kinds} for n, c in distinct.items() if n != own}
    extra = f" Source note: {row['note']}." if row.get("note") else ""

    def detail(how: dict) -> str:
        parts = [f"{k} {how[k]}" for k in kinds if how[k] and how[k] != "rounded"]
        return f" ({'; '.join(parts)})" if parts else ""

    full = [n for n, h in hows.items() if all(h.values())]
    if own in full:
        verdict = "matches" + detail(hows[own])
        if len(distinct) > 1 and len(full) == 1:
            verdict += f"; only under the {own} configuration"
            others = [n for n in distinct if n != own]
            verdict += " (" + ", ".join(
                f"{n}: " + ", ".join(f"{k} {human(counts[n][k])}" for k in kinds) for n in others
            ) + ")"
        return RowCheck(row["row"], figures, alternatives, "match", verdict + "." + extra)
    if full:
        other = full[0]
        verdict = (
            f"matches only under the {other} configuration "
            f"({', '.join(f'{k} {counts[other][k]:,}' for k in kinds)}); this model is {own}"
        )
        return RowCheck(row["row"], figures, alternatives, "mismatch", verdict + "." + extra)
    # Erratum: no configuration reproduces the whole row.
    parts = []
    for k in kinds:
        agreeing = [n for n, h in hows.items() if h[k]]
        computed = ", ".join(f"{n} {counts[n][k]:,} ({human(counts[n][k])})" for n in distinct)
        if agreeing:
            parts.append(f"printed {k} {row[k]} agrees only with {' / '.join(agreeing)}")
        else:
            parts.append(f"printed {k} {row[k]} matches no configuration ({computed})")
    mixes = len(kinds) > 1 and all(any(h[k] for h in hows.values()) for k in kinds)
    head = "table erratum: the row mixes configurations; " if mixes else "table erratum: "
    return RowCheck(row["row"], figures, alternatives, "erratum", head + "; ".join(parts) + "." + extra)


# ------------------------------------------------------------------ module tables


def _module_model(spec: dict) -> tuple[keras.Model, str]:
    """A single inception module as a model, built by the GoogLeNet family's ``inception_module_model``."""
    record = InceptionV1Module(**spec["filters"])
    model = inception_module_model(
        input_shape=tuple(spec["input_shape"]), module=record, naive=spec.get("naive", False)
    )
    return model, "kerasnets.models.googlenet.inception_module_model"


def _check_module_row(row: dict) -> RowCheck:
    model, built_by = _module_model(row["module"])
    report = count(model)
    total = report.macs
    figures = {"macs": (row["macs"], total)}
    extra = f" Source note: {row['note']}." if row.get("note") else ""
    how = _agrees(row["macs"], total)
    if how:
        detail = "" if how == "rounded" else f" ({how})"
        return RowCheck(row["row"], figures, {}, "match", f"matches{detail}; module built by {built_by}.")
    # Look for the arithmetic slip: one term counted twice, or left out.
    terms = [(r.name, r.macs) for r in report.rows if r.macs]
    explanations = []
    for name, macs in terms:
        if _agrees(row["macs"], total + macs):
            explanations.append(f"the sum with {name} ({human(macs)}) counted twice: {human(total + macs)}")
        if _agrees(row["macs"], total - macs):
            explanations.append(f"the sum without {name} ({human(macs)}): {human(total - macs)}")
    terms_text = " + ".join(f"{n} {human(m)}" for n, m in terms)
    verdict = f"table erratum: the module's convolutions cost {terms_text} = {human(total)} ({total:,})"
    if explanations:
        verdict += "; the printed figure equals " + " or ".join(explanations)
    else:
        verdict += "; the printed figure matches no single slip"
    return RowCheck(row["row"], figures, {}, "erratum", verdict + "." + extra)


# ------------------------------------------------------------------ entry point


def check_reference(reference: str, model: keras.Model | None = None) -> CheckResult:
    """Check ``model`` (or, for module tables, the modules) against a shipped table.

    Args:
        reference: a name from `list_references` (``"alexnet"``).
        model: the model whose layers the table's rows name (needed for
            ``kind == "layers"`` tables; built at the registry defaults if None).

    Returns:
        A `CheckResult`; ``.ok`` is False when a consistent row mismatches.

    Examples:
        >>> result = check_reference("alexnet")          # doctest: +SKIP
        >>> result.ok, [r.status for r in result.rows][:2]
        (True, ['match', 'erratum'])
    """
    table = load_reference(reference)
    rows: list[RowCheck] = []
    own = "as built"
    if table["kind"] == "layers":
        if model is None:
            model = get_model(table["models"][0])
        configurations = table.get("configurations", {})
        layer_groups = {}
        for conf in configurations.values():
            for name in conf.get("groups", {}):
                try:
                    layer_groups[name] = model.get_layer(name).groups
                except (ValueError, AttributeError):
                    pass
        own = _configuration_of(layer_groups, configurations)
        rows = [_check_layer_row(model, row, configurations, own) for row in table["rows"]]
    elif table["kind"] == "modules":
        own = "modules as the source draws them"
        rows = [_check_module_row(row) for row in table["rows"]]
    else:
        raise ValueError(f"Reference table kind must be 'layers' or 'modules'. Received: kind={table['kind']!r}")
    return CheckResult(reference=table["name"], title=table.get("title", table["name"]), model_configuration=own, rows=tuple(rows))
