"""The ``kerasnets`` command line.

Subcommands::

    kerasnets list [PATTERN] [--family FAMILY]
    kerasnets summary NAME [--input-shape H W C] [--no-top] [--format {table,markdown,csv}] [--flops] [--check]
    kerasnets export MODEL --out BASE_DIR [--version N] [--weights FILE] [--input-shape H W C] [--classes N] ...

Exit statuses: 0 success, 1 a failed ``--check``, 2 a usage or input error
(a message naming the flag and the value on stderr, no traceback), 130
interrupted (Ctrl-C). See docs/cli.md.

Speed: ``--help``, usage errors and ``kerasnets list`` import neither keras nor
TensorFlow. Model names are checked (with close-match hints) against the light
registry index ``kerasnets._index``; keras is imported only by the commands
that build a model, and a subcommand's arguments are only defined when that
subcommand runs (``export``'s come from the export module).

Adding a subcommand: write its ``_add_<name>_arguments(parser)`` and
``_run_<name>(args) -> int``, and append a ``Subcommand`` to
``SUBCOMMANDS`` (with true ``examples``: tests parse and run them).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
from typing import Callable, Sequence

from kerasnets.cliargs import HelpFormatter, UsageError, builder_option, positive_int, run_main

__all__ = ["main", "build_parser", "SUBCOMMANDS", "Subcommand", "builder_option", "examples"]

FORMATS = ("table", "markdown", "csv")

EXIT_STATUSES = """exit status:
  0    success
  1    a failed --check
  2    a usage or input error (the message names the flag and the value)
  130  interrupted (Ctrl-C)"""


@dataclasses.dataclass(frozen=True)
class Subcommand:
    """One ``kerasnets`` subcommand: its help texts, its arguments, its body and its examples."""

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    examples: tuple[str, ...] = ()


# ------------------------------------------------------------------ names and output


def _model_name(text: str) -> str:
    """argparse type: a registered model name (case, ``-``/``_`` as the registry), checked without keras."""
    from kerasnets import _index

    name = _index.resolve_name(text)
    if name is None:
        close = _index.close_matches(text)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        raise argparse.ArgumentTypeError(
            f"unknown model {text!r}{hint} (`kerasnets list` shows the {len(_index.models())} registered models)"
        )
    return name


def _model_or_file(text: str) -> str:
    """argparse type: a registered model name or a path to a saved ``.keras`` file."""
    if str(text).lower().endswith(".keras") or os.sep in str(text):
        return text
    return _model_name(text)


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _print(renderable, file=None) -> None:
    """Print a rich renderable; when not a terminal, at its natural width (no wrapping, no colour codes).

    ``kerasnets summary resnet50 | less -S`` then shows each row on one line,
    as ``git`` and ``ls -l`` do when piped.
    """
    from rich.console import Console

    file = file if file is not None else sys.stdout
    if _is_tty(file):
        Console(file=file).print(renderable)
        return
    from rich.measure import Measurement

    probe = Console(file=io.StringIO(), width=100_000, color_system=None)
    width = Measurement.get(probe, probe.options, renderable).maximum
    Console(file=file, width=max(80, width), color_system=None, highlight=False, emoji=False).print(renderable)


# ------------------------------------------------------------------ list


def _add_list_arguments(parser: argparse.ArgumentParser) -> None:
    from kerasnets import _index

    parser.add_argument(
        "pattern", nargs="?", default=None, metavar="PATTERN", help="shell-style pattern, e.g. 'resnet*' (quote it)"
    )
    parser.add_argument("--family", default=None, choices=_index.families(), metavar="FAMILY", help="keep one family")
    parser.add_argument(
        "--pretrained",
        action="store_true",
        help="list the published ImageNet weights names instead (weights=NAME), with their top-1 and preprocessing",
    )


def _run_list_pretrained(args) -> int:
    import fnmatch

    from rich.table import Table

    from kerasnets import _index
    from kerasnets.pretrained.sources import PRETRAINED

    entries = [
        e
        for e in PRETRAINED.values()
        if (args.pattern is None or fnmatch.fnmatch(e.model, args.pattern) or fnmatch.fnmatch(e.name, args.pattern))
        and (args.family is None or _index.models()[e.model]["family"] == args.family)
    ]
    if not entries:
        raise UsageError(
            f"argument PATTERN: no published weights match {args.pattern!r} "
            f"(`kerasnets list --pretrained` shows all {len(PRETRAINED)})"
        )
    table = Table(title=f"{len(entries)} published ImageNet weights (docs/weights.md)")
    for col in ("weights=", "Model", "Options", "Top-1", "Top-5", "Preprocessing", "File"):
        table.add_column(col, justify="right" if col.startswith("Top") else "left", no_wrap=True)
    for e in sorted(entries, key=lambda e: (e.model, e.name)):
        options = ", ".join(f"{k}={v!r}" for k, v in e.options.items()) or "-"
        table.add_row(e.name, e.model, options, f"{e.top1:.3f}", f"{e.top5:.3f}", e.preprocessing, e.file_format)
    _print(table)
    return 0


def _run_list(args) -> int:
    from rich.table import Table

    from kerasnets import _index

    if args.pretrained:
        return _run_list_pretrained(args)
    names = _index.match(args.pattern, family=args.family)
    if not names:
        where = f" of family {args.family!r}" if args.family else ""
        raise UsageError(
            f"argument PATTERN: no registered model{where} matches {args.pattern!r} "
            f"(`kerasnets list` shows all {len(_index.models())})"
        )
    total = len(_index.models())
    title = f"{total} registered models" if len(names) == total else f"{len(names)} of {total} registered models"
    table = Table(title=title)
    for col in ("Name", "Family", "Params (ref)", "Default size", "MACs (ref)"):
        table.add_column(col, justify="right" if col in ("Params (ref)", "MACs (ref)") else "left", no_wrap=True)
    for name in names:
        meta = _index.models()[name]
        size = f"{meta['default_size']}x{meta['default_size']}x{meta['channels']}"
        params = f"{meta['ref_params']:,}" if meta["ref_params"] is not None else "-"
        macs = f"{meta['ref_macs']:,}" if meta["ref_macs"] is not None else "-"
        table.add_row(name, meta["family"], params, size, macs)
    _print(table)
    return 0


# ------------------------------------------------------------------ summary


def _add_summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", type=_model_name, metavar="NAME", help="a registered model name (see `kerasnets list`)")
    parser.add_argument(
        "--input-shape",
        nargs=3,
        type=positive_int,
        metavar=("H", "W", "C"),
        default=None,
        help="input height, width, channels (channels last; default: the model's own)",
    )
    parser.add_argument("--no-top", action="store_true", help="build with include_top=False")
    parser.add_argument("--format", default="table", choices=FORMATS, help="output format")
    parser.add_argument("--flops", action="store_true", help="also print FLOPs = 2 x MACs")
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare with the reference table shipped for this model; exit status 1 if a row mismatches",
    )


def _run_summary(args) -> int:
    from kerasnets.counting import check_reference, count_registered, list_references, load_reference, references_for
    from kerasnets.counting import render

    kwargs = {}
    if args.input_shape is not None:
        kwargs["input_shape"] = tuple(args.input_shape)
    if args.no_top:
        kwargs["include_top"] = False

    if args.check:
        tables = references_for(args.name)
        if not tables:
            known = "; ".join(f"{n} (for {', '.join(load_reference(n).get('models', []))})" for n in list_references())
            raise UsageError(f"argument --check: no reference table ships for {args.name!r}; tables: {known}")
        ok = True
        for table_name in tables:
            model = None
            if load_reference(table_name)["kind"] == "layers":
                model = _build(args.name, kwargs)
            result = check_reference(table_name, model)
            _print(result.rich_table())
            print(result.summary_line())
            for row in result.failing:
                print(f"FAILED {table_name} row {row.row}: {row.verdict}", file=sys.stderr)
            ok = ok and result.ok
        return 0 if ok else 1

    report = count_registered(args.name, **kwargs)
    if args.format == "table":
        _print(report.rich_table(flops=args.flops))
    else:
        render(report, format=args.format, flops=args.flops)
    return 0


def _build(name: str, kwargs: dict):
    import kerasnets

    return kerasnets.get_model(name, **kwargs)


# ------------------------------------------------------------------ export


def _add_export_arguments(parser: argparse.ArgumentParser) -> None:
    from kerasnets.serving.cli import add_export_arguments

    add_export_arguments(parser)
    for action in parser._actions:  # check the name early (and fast), with the registry's close matches
        if action.dest == "model" and action.type is None:
            action.type = _model_or_file


def _run_export(args) -> int:
    from kerasnets.serving.cli import run_export_command

    print(run_export_command(args))
    return 0


# ------------------------------------------------------------------ main

SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        name="list",
        help="list the registered models",
        description="List the registered models: name, family, reference parameter count, default input size, "
        "reference MACs. Reads the registry index: no model is built, keras is not imported.",
        add_arguments=_add_list_arguments,
        run=_run_list,
        examples=(
            "kerasnets list",
            "kerasnets list 'resnet*'",
            "kerasnets list --family inception",
            "kerasnets list --pretrained 'resnet*'",
        ),
    ),
    Subcommand(
        name="summary",
        help="per-layer parameters and MACs of a model",
        description="Print the per-layer table (name, type, output shape, params, MACs) of a registered model, "
        "or check it against a shipped reference table (--check).\n"
        "When stdout is not a terminal the table is printed at its full width, without wrapping.",
        add_arguments=_add_summary_arguments,
        run=_run_summary,
        examples=(
            "kerasnets summary resnet50 | less -S",
            "kerasnets summary lenet5 --format csv --flops > lenet5.csv",
            "kerasnets summary nin_cifar --input-shape 64 64 3 --format markdown",
            "kerasnets summary vgg16 --no-top",
            "kerasnets summary alexnet --check",
        ),
    ),
    Subcommand(
        name="export",
        help="export a model as a versioned SavedModel for TF Serving",
        description="Write BASE_DIR/N (TF Serving's version layout, atomically) with the signatures "
        "serving_default (images) and serving_bytes (encoded JPEG/PNG); see docs/serving.md.",
        add_arguments=_add_export_arguments,
        run=_run_export,
        examples=(
            "kerasnets export lenet5 --out served/lenet5 --classes 10",
            "kerasnets export runs/mnist/model.keras --out served/mnist",
        ),
    ),
]


def examples() -> list[str]:
    """Every example command line of the ``kerasnets`` help (top level and subcommands)."""
    return [line for sub in SUBCOMMANDS for line in sub.examples]


def _epilog(lines: Sequence[str], statuses: bool = True) -> str:
    text = "examples:\n" + "\n".join(f"  {line}" for line in lines) if lines else ""
    return text + ("\n\n" + EXIT_STATUSES if statuses else "")


class _VersionAction(argparse.Action):
    """``--version``, looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib import metadata

        try:
            version = metadata.version("kerasnets")
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
            version = "unknown"
        print(f"kerasnets {version}")
        parser.exit()


def build_parser(*, commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand of ``SUBCOMMANDS``.

    Args:
        commands: the subcommands whose arguments are defined (default: all).
            ``main`` defines only the one being run, so that ``--help`` and
            ``list`` never import the export module (and keras with it).
    """
    parser = argparse.ArgumentParser(
        prog="kerasnets",
        description="The classic CNN lineage as Keras 3 builders: list them, count them, check them, export them.",
        epilog=_epilog([sub.examples[0] for sub in SUBCOMMANDS if sub.examples] + ["kerasnets COMMAND --help"]),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, help="print the kerasnets version and exit")
    # Not `required=True`: argparse would then report a missing COMMAND before an unknown option
    # (`kerasnets --verbose` saying "COMMAND is required"); parse_args checks both, unknown options first.
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for sub in SUBCOMMANDS:
        child = subparsers.add_parser(
            sub.name,
            help=sub.help,
            description=sub.description,
            epilog=_epilog(sub.examples),
            formatter_class=HelpFormatter,
        )
        if commands is None or sub.name in commands:
            sub.add_arguments(child)
        child.set_defaults(func=sub.run)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``, reporting unknown options before a missing COMMAND."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "command", None) is None:
        parser.error("the following arguments are required: COMMAND")
    return args


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if it is one."""
    for word in argv:
        if word == "--":
            continue
        if not word.startswith("-"):
            return word if word in {sub.name for sub in SUBCOMMANDS} else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed check, 2 bad usage or input, 130 interrupted).

    Examples:
        >>> main(["summary", "lenet5", "--format", "csv"])  # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)

    def body(argv):
        parser = build_parser(commands=[command] if command else [])
        args = parse_args(parser, argv)
        return args.func(args)

    return run_main(body, argv, prog=f"kerasnets {command}" if command else "kerasnets")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
