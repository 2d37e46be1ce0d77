"""The ``kerasnets`` command line.

Subcommands::

    kerasnets list [PATTERN] [--family FAMILY]
    kerasnets summary NAME [--input-shape H W C] [--no-top] [--format table|markdown|csv] [--flops] [--check]
    kerasnets export MODEL --out BASE_DIR [--version N] [--weights FILE] [--input-shape H W C] [--classes N]

Adding a subcommand: write ``_add_<name>(subparsers)`` that creates its parser
and sets ``func`` (a callable ``(args) -> int`` exit status) with
``parser.set_defaults(func=...)``, then append it to :data:`SUBCOMMANDS`.
Argument errors exit with status 2 and a message naming the value; a failed
``--check`` exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

from kerasnets.cliargs import builder_option  # noqa: F401  (moved to kerasnets.cliargs; re-exported)

__all__ = ["main", "build_parser", "SUBCOMMANDS", "builder_option"]

_FORMATS = ("table", "markdown", "csv")


class UsageError(Exception):
    """A bad command-line value; printed without a traceback, exit status 2."""


def _console(stream=None):
    from rich.console import Console

    return Console(file=stream or sys.stdout, width=None if (stream or sys.stdout).isatty() else 160)


# ------------------------------------------------------------------ list


def _add_list(subparsers) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list the registered models",
        description="List the registered models: name, family, reference parameter count, default input size.",
    )
    parser.add_argument("pattern", nargs="?", default=None, help="shell-style pattern, e.g. 'resnet*'")
    parser.add_argument("--family", default=None, help="keep one family (e.g. 'vgg')")
    parser.set_defaults(func=_run_list)


def _run_list(args) -> int:
    from rich.table import Table

    from kerasnets._registry import get_spec, list_families, list_models

    if args.family is not None and args.family not in list_families():
        raise UsageError(
            f"--family must be one of {', '.join(list_families())}. Received: family={args.family!r}"
        )
    names = list_models(args.pattern, family=args.family)
    if not names:
        raise UsageError(f"No registered model matches the pattern. Received: pattern={args.pattern!r}")
    table = Table(title=f"{len(names)} registered models")
    for col in ("Name", "Family", "Params (ref)", "Default size", "MACs (ref)"):
        table.add_column(col, justify="right" if col in ("Params (ref)", "MACs (ref)") else "left")
    for name in names:
        spec = get_spec(name)
        size = "x".join(str(d) for d in spec.default_input_shape)
        params = f"{spec.ref_params:,}" if spec.ref_params is not None else "-"
        macs = f"{spec.ref_macs:,}" if spec.ref_macs is not None else "-"
        table.add_row(name, spec.family, params, size, macs)
    _console().print(table)
    return 0


# ------------------------------------------------------------------ summary


def _add_summary(subparsers) -> None:
    parser = subparsers.add_parser(
        "summary",
        help="per-layer parameters and MACs of a model",
        description=(
            "Print the per-layer table (name, type, output shape, params, MACs) of a registered model, "
            "or check it against a shipped reference table (--check)."
        ),
    )
    parser.add_argument("name", help="a registered model name (see `kerasnets list`)")
    parser.add_argument(
        "--input-shape", nargs=3, metavar=("H", "W", "C"), default=None, help="input height, width, channels"
    )
    parser.add_argument("--no-top", action="store_true", help="build with include_top=False")
    parser.add_argument("--format", default="table", help="table (default), markdown or csv")
    parser.add_argument("--flops", action="store_true", help="also print FLOPs = 2 x MACs")
    parser.add_argument(
        "--check", action="store_true", help="compare with the reference table shipped for this model"
    )
    parser.set_defaults(func=_run_summary)


def _input_shape(values: Sequence[str] | None) -> tuple[int, int, int] | None:
    if values is None:
        return None
    try:
        shape = tuple(int(v) for v in values)
    except ValueError:
        shape = None
    if shape is None or any(d < 1 for d in shape):
        raise UsageError(
            "--input-shape must be three positive integers H W C (channels last). "
            f"Received: input_shape={' '.join(values)}"
        )
    return shape


def _run_summary(args) -> int:
    from kerasnets._registry import get_spec
    from kerasnets.summary import check_reference, count_registered, list_references, load_reference, references_for
    from kerasnets.summary import render

    if args.format not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)}. Received: format={args.format!r}")
    shape = _input_shape(args.input_shape)
    kwargs = {}
    if shape is not None:
        kwargs["input_shape"] = shape
    if args.no_top:
        kwargs["include_top"] = False

    if args.check:
        tables = references_for(args.name)
        if not tables:
            get_spec(args.name)  # an unknown name gets the registry's close-match message
            known = "; ".join(f"{n} (for {', '.join(load_reference(n).get('models', []))})" for n in list_references())
            raise UsageError(
                f"No reference table ships for this model; tables: {known}. Received: name={args.name!r}"
            )
        console = _console()
        ok = True
        for table_name in tables:
            model = None
            if load_reference(table_name)["kind"] == "layers":
                model = _build(args.name, kwargs)
            result = check_reference(table_name, model)
            console.print(result.rich_table())
            console.print(result.summary_line())
            for row in result.failing:
                print(f"FAILED {table_name} row {row.row}: {row.verdict}", file=sys.stderr)
            ok = ok and result.ok
        return 0 if ok else 1

    report = count_registered(args.name, **kwargs)
    render(report, format=args.format, flops=args.flops)
    return 0


def _build(name: str, kwargs: dict):
    from kerasnets._registry import get_model

    return get_model(name, **kwargs)


# ------------------------------------------------------------------ export


def _add_export(subparsers) -> None:
    from kerasnets.export import add_export_arguments

    parser = subparsers.add_parser(
        "export",
        help="export a model as a versioned SavedModel for TF Serving",
        description=(
            "Write BASE_DIR/N (TF Serving's version layout, atomically) with the signatures serving_default "
            "(images) and serving_bytes (encoded JPEG/PNG); see docs/serving.md."
        ),
    )
    add_export_arguments(parser)
    parser.set_defaults(func=_run_export)


def _run_export(args) -> int:
    from kerasnets.export import run_export_command

    try:
        path = run_export_command(args)
    except FileExistsError as err:
        raise UsageError(str(err)) from None
    print(path)
    return 0


# ------------------------------------------------------------------ main

SUBCOMMANDS: list[Callable] = [_add_list, _add_summary, _add_export]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="kerasnets",
        description="The classic CNN lineage as Keras 3 builders: list them, count them, check them.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed check, 2 bad usage).

    Examples:
        >>> main(["summary", "lenet5", "--format", "csv"])  # doctest: +SKIP
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as err:
        print(f"kerasnets {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, KeyError) as err:
        # Validation errors from the registry and builders: clear messages, no traceback.
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"kerasnets {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
