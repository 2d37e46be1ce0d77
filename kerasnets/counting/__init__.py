"""Per-layer parameters and multiply-accumulates (MACs) of any Keras model, analytically.

The counts come from layer configurations and shapes (no profiler, no forward
pass for graph models), follow the papers' convention (MACs = multiply-adds of
convolutions and fully-connected layers; FLOPs = 2 x MACs where asked;
elementwise work counted separately) and are checked against ``count_params()``
and against published tables (``check_reference``). See docs/summary.md.

``kerasnets.summary`` is the `summary` function of this package; the counting machinery
(``count``, [`Report`][kerasnets.counting.Report], ``check_reference``, ...) is public here, as ``kerasnets.counting.<name>``.

Examples:
    >>> import kerasnets
    >>> report = kerasnets.summary("lenet5", print_output=False)   # = kerasnets.counting.summary
    >>> report.params == kerasnets.lenet5().count_params()
    True
    >>> report.layer("c1").macs   # 28*28*6*(5*5*1)
    117600
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import keras

from kerasnets.models import get_model, get_spec
from kerasnets.checks import check_bool, check_choice
from kerasnets.counting._count import Counted, LayerCount, count_layer
from kerasnets.counting._graph import count
from kerasnets.counting._report import CONVENTION, Report, human
from kerasnets.counting.check import CheckResult, RowCheck, check_reference, list_references, load_reference, references_for

__all__ = [
    "summary",
    "render",
    "console_for",
    "count",
    "count_registered",
    "count_layer",
    "Report",
    "LayerCount",
    "Counted",
    "CONVENTION",
    "FORMATS",
    "human",
    "check_reference",
    "list_references",
    "load_reference",
    "references_for",
    "CheckResult",
    "RowCheck",
]

FORMATS = ("table", "markdown", "csv")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@functools.lru_cache(maxsize=64)
def _count_registered_cached(name: str, frozen_kwargs: tuple) -> Report:
    kwargs = {k: (list(v) if isinstance(v, tuple) and k != "input_shape" else v) for k, v in frozen_kwargs}
    return count(get_model(name, **kwargs))


def count_registered(name: str, **build_kwargs: Any) -> Report:
    """Build a registered model once and count it; repeated calls reuse the report.

    Args:
        name: a name from ``kerasnets.list_models()``.
        **build_kwargs: builder arguments (``input_shape``, ``include_top``...).

    Returns:
        A [`Report`][kerasnets.counting.Report] (cached per name and arguments).
    """
    spec = get_spec(name)
    if "input_shape" in build_kwargs and build_kwargs["input_shape"] is not None:
        build_kwargs["input_shape"] = tuple(build_kwargs["input_shape"])
    return _count_registered_cached(spec.name, _freeze(build_kwargs))


def summary(
    model_or_name: Any,
    *,
    input_shape: Any = None,
    format: str = "table",
    flops: bool = False,
    print_output: bool = True,
    file: Any = None,
    **build_kwargs: Any,
) -> Report:
    """Print and return the per-layer parameter / MAC table of a model.

    Args:
        model_or_name: a ``keras.Model`` (any: ours, ``keras.applications``,
            Sequential, nested, subclassed) or a registered model name.
        input_shape: ``(height, width, channels)``: for a name, the builder's
            input shape; for a model, the shape to count at (shapes are
            propagated through the graph; the model is not rebuilt).
        format: ``"table"`` (rich terminal table), ``"markdown"`` or ``"csv"``.
        flops: also print FLOPs = 2 x MACs.
        print_output: print the table (False: only return the report).
        file: a text stream to print to (default stdout).
        **build_kwargs: with a name, extra builder arguments (``include_top=False``).

    Returns:
        The [`Report`][kerasnets.counting.Report] (rows, totals, [`to_markdown()`][kerasnets.counting.Report.to_markdown], [`to_csv()`][kerasnets.counting.Report.to_csv]).

    Raises:
        ValueError: unknown model name (with close matches), unknown ``format``,
            builder arguments the builder rejects.
        TypeError: ``model_or_name`` is neither a model nor a name.

    Examples:
        >>> import kerasnets
        >>> r = kerasnets.summary("alexnet", print_output=False)
        >>> r.layer("conv1").macs
        105415200
    """
    check_choice("format", format, FORMATS)
    check_bool("flops", flops)
    if isinstance(model_or_name, str):
        kwargs = dict(build_kwargs)
        if input_shape is not None:
            kwargs["input_shape"] = tuple(input_shape)
        report = count_registered(model_or_name, **kwargs)
    elif isinstance(model_or_name, keras.Model):
        if build_kwargs:
            raise TypeError(
                "Builder arguments only apply to a model name, not to a built model. "
                f"Received: {', '.join(f'{k}={v!r}' for k, v in build_kwargs.items())}"
            )
        report = count(model_or_name, input_shape=input_shape)
    else:
        raise TypeError(
            f"`model_or_name` must be a keras.Model or a registered model name. Received: model_or_name={model_or_name!r}"
        )
    if print_output:
        render(report, format=format, flops=flops, file=file)
    return report


def console_for(file: Any = None, renderable: Any = None):
    """A ``rich`` console for ``file`` (default stdout) on which ``renderable`` is not wrapped.

    On a terminal rich fits tables to the window. Piped or redirected output has no window, and rich
    would assume 80 columns and fold names and numbers across lines ("conv1_con" / "v"); there the
    console is made as wide as ``renderable`` needs (``COLUMNS`` still wins when set).
    """
    import os

    from rich.console import Console

    console = Console(file=file) if file is not None else Console()
    if renderable is None or console.is_terminal or os.environ.get("COLUMNS"):
        return console
    natural = Console(file=console.file, width=1_000_000).measure(renderable).maximum
    return Console(file=console.file, width=max(80, natural))


def render(report: Report, *, format: str = "table", flops: bool = False, file: Any = None) -> None:
    """Print a report as a rich table, Markdown or CSV (to ``file``, default stdout).

    A table printed to a pipe or file is not wrapped: it is as wide as its longest row.
    """
    if format == "table":
        table = report.rich_table(flops=flops)
        console_for(file, table).print(table)
    else:
        text = report.to_markdown(flops=flops) if format == "markdown" else report.to_csv(flops=flops)
        print(text, end="", file=file if file is not None else sys.stdout)
