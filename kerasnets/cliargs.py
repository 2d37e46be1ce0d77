"""Shared command-line parts of every kerasnets CLI (``kerasnets``, ``apps.mnist``, ``apps.rcnn``, ``apps.captioning``).

This module imports only the standard library (never keras, TensorFlow or
NumPy), so ``--help`` and usage errors of a CLI built with it are instant.

- argparse ``type=`` callables: ``positive_int``, ``non_negative_int``,
  ``positive_float``, ``non_negative_float``, ``fraction``,
  ``finite_float``; all reject ``inf`` and ``nan``. argparse prefixes
  their message with the flag: ``argument --epochs: expected an integer >= 1, got '0'``.
- ``builder_option``: the ``type=`` of ``KEY=VALUE`` builder options.
- ``add_jit_compile_argument``: the one ``--jit-compile {auto,on,off}`` flag.
- ``HelpFormatter``: every flag states its real default and its choices;
  ``ArgumentParser``: an ``argparse.ArgumentParser`` using it, and so do its subcommands.
- ``UsageError``, ``check_output_dir``, ``check_output_file``:
  reject an unusable output path before any work starts.
- ``run_main``: runs a CLI's ``main(argv)`` with the exit statuses of every
  kerasnets CLI: 0 success, 1 a failed check, 2 a usage or input error,
  130 interrupted; never a traceback for those (``KERASNETS_DEBUG=1`` shows it).

Examples:
    >>> parser = ArgumentParser(prog="demo")
    >>> _ = parser.add_argument("--epochs", type=positive_int, default=20, help="training epochs")
    >>> parser.parse_args(["--epochs", "3"]).epochs
    3
    >>> builder_option("filters=[32,64]")
    ('filters', [32, 64])
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import pathlib
import sys
from typing import Any, Callable, Sequence

__all__ = [
    "positive_int",
    "non_negative_int",
    "positive_float",
    "non_negative_float",
    "fraction",
    "finite_float",
    "builder_option",
    "JIT_COMPILE_CHOICES",
    "add_jit_compile_argument",
    "HelpFormatter",
    "ArgumentParser",
    "UsageError",
    "check_output_dir",
    "check_output_file",
    "quiet_startup",
    "run_main",
    "EXIT_OK",
    "EXIT_CHECK_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

JIT_COMPILE_CHOICES = ("auto", "on", "off")


class UsageError(ValueError):
    """A bad command-line value or input file; ``run_main`` prints it on one line, exit status 2."""


# ------------------------------------------------------------------ argparse types


def _parse_number(text: str, kind: type, expected: str, ok: Callable[[float], bool]):
    raw = str(text).strip()
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (``--epochs``, ``--batch-size``).

    Examples:
        >>> positive_int("3")
        3
    """
    return _parse_number(text, int, "an integer >= 1", lambda v: v >= 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0 (``--seed``, ``--limit``)."""
    return _parse_number(text, int, "an integer >= 0", lambda v: v >= 0)


def positive_float(text: str) -> float:
    """A finite number > 0 (``--lr``)."""
    return _parse_number(text, float, "a finite number > 0", lambda v: v > 0)


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (``--weight-decay``)."""
    return _parse_number(text, float, "a finite number >= 0", lambda v: v >= 0)


def fraction(text: str) -> float:
    """A number in [0, 1] (``--dropout``, ``--val-split``, thresholds)."""
    return _parse_number(text, float, "a number in [0, 1]", lambda v: 0 <= v <= 1)


def finite_float(text: str) -> float:
    """Any finite number (not inf or nan)."""
    return _parse_number(text, float, "a finite number", lambda v: True)


def builder_option(text: str) -> tuple[str, object]:
    """Parse a ``KEY=VALUE`` builder option; VALUE is read as JSON when it parses, else kept as text.

    The ``type=`` of the apps' ``--backbone-option`` / ``--model-option`` flags, so
    ``batch_norm=true`` gives ``("batch_norm", True)``, ``filters=[32,64,256]`` a list,
    ``form=modern`` the string ``"modern"``.

    Raises:
        argparse.ArgumentTypeError: no ``=`` or an empty key.

    Examples:
        >>> builder_option("batch_norm=true")
        ('batch_norm', True)
        >>> builder_option("form=modern")
        ('form', 'modern')
    """
    key, sep, value = str(text).partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (VALUE as JSON, e.g. lrn=false), got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def add_jit_compile_argument(parser: argparse.ArgumentParser | Any, *, help: str | None = None) -> argparse.Action:
    """Add the one ``--jit-compile {auto,on,off}`` flag (default ``auto``) to a parser or argument group.

    The value stays the string; resolve it when the backend is known with
    ``kerasnets.xla.resolve_jit_compile(args.jit_compile)``.

    Examples:
        >>> import argparse
        >>> p = argparse.ArgumentParser()
        >>> _ = add_jit_compile_argument(p)
        >>> p.parse_args(["--jit-compile", "ON"]).jit_compile, p.parse_args([]).jit_compile
        ('on', 'auto')
    """
    return parser.add_argument(
        "--jit-compile",
        default="auto",
        type=str.lower,
        choices=JIT_COMPILE_CHOICES,
        help=help
        or "XLA compilation of the train step: auto (on with JAX or a TensorFlow GPU/TPU, off with "
        "TensorFlow on CPU, where oneDNN measured faster; docs/benchmarks.md), on, off",
    )


# ------------------------------------------------------------------ help


def _default_text(action: argparse.Action) -> str | None:
    default = action.default
    if isinstance(action, argparse.BooleanOptionalAction):
        if not isinstance(default, bool):
            return None
        flags = [o for o in action.option_strings if o.startswith("--")]
        on = next((o for o in flags if not o.startswith("--no-")), flags[0] if flags else "on")
        off = next((o for o in flags if o.startswith("--no-")), "off")
        return on if default else off
    if action.nargs == 0 or default is None or default is False or default is argparse.SUPPRESS:
        return None
    if isinstance(default, (list, tuple)):
        if not default:
            return None
        return " ".join(str(v) for v in default)
    if isinstance(default, str) and default == "":
        return "''"
    return str(default)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help where every flag states its real default and its choices, one way in every CLI.

    - Appends ``(default: X)`` unless the help already shows a default
      (``%(default)s`` or the word "default") or X is None, False, empty or SUPPRESS;
      a ``--flag/--no-flag`` pair shows the flag that is on by default.
    - Appends ``(choices: a, b, c)`` when a flag has choices but a ``metavar`` hides them.
    - Keeps the line breaks of the description and the epilog (examples stay
      readable): each line is wrapped on its own, indented lines are kept as written.
    """

    def _fill_text(self, text, width, indent):
        import textwrap

        lines = []
        for line in text.splitlines():
            if not line.strip() or line[:1].isspace() or len(line) <= width:
                lines.append(indent + line)
            else:
                lines.extend(textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if text is argparse.SUPPRESS:
            return text
        lowered = text.lower()
        if action.choices is not None and action.metavar is not None and "%(choices)" not in text:
            if not isinstance(action, argparse._SubParsersAction):
                text += " (choices: " + ", ".join(str(c) for c in action.choices) + ")"
        # A help text that already states its default ("(default: ...)", "defaults to") keeps it;
        # a word that merely contains it (serving_default) does not count.
        if "%(default)" not in text and not re.search(r"\bdefault", lowered):
            shown = _default_text(action)
            if shown is not None:
                text += " (default: " + shown.replace("%", "%%") + ")"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with `HelpFormatter` unless told otherwise.

    Its subcommands (``add_subparsers().add_parser(...)``) are of this class too (argparse
    makes them of the parent's class), so every level of a CLI's help reads the same.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


# ------------------------------------------------------------------ output paths


def _existing_ancestor(path: pathlib.Path) -> pathlib.Path:
    probe = path
    while not os.path.lexists(probe):
        if probe.parent == probe:
            break
        probe = probe.parent
    return probe


def check_output_dir(path: Any, flag: str, *, create: bool = False) -> pathlib.Path:
    """Check that ``path`` can be used (or created, with parents) as an output folder; returns it as a Path.

    Rejects, naming ``flag`` and the value, before any work starts: an empty
    path, an existing file where a folder is needed, a file used as a parent
    folder, and a missing or read-only folder to create it in.

    Args:
        path: the value the user gave.
        flag: the flag the user typed, e.g. ``"--out"``.
        create: also create the folder (with its parents).

    Raises:
        UsageError: the folder cannot be used.

    Examples:
        >>> import tempfile
        >>> check_output_dir(tempfile.gettempdir(), "--out").is_dir()
        True
    """
    text = "" if path is None else os.fspath(path)
    if not str(text).strip():
        raise UsageError(f"argument {flag}: expected a folder path, got {text!r}")
    target = pathlib.Path(text).expanduser()
    if target.exists():
        if not target.is_dir():
            raise UsageError(f"argument {flag}: {text!r} is a file, not a folder")
        if not os.access(target, os.W_OK | os.X_OK):
            raise UsageError(f"argument {flag}: folder {text!r} is not writable")
        return target
    base = _existing_ancestor(target.parent if target.parent != target else target)
    if not base.is_dir():
        raise UsageError(f"argument {flag}: cannot create folder {text!r}: {str(base)!r} is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"argument {flag}: cannot create folder {text!r}: {str(base)!r} is not writable")
    if create:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"argument {flag}: cannot create folder {text!r}: {err.strerror or err}") from None
    return target


def check_output_file(path: Any, flag: str, *, overwrite: bool = False, create_parents: bool = False) -> pathlib.Path:
    """Check that a file can be written at ``path``; returns it as a Path.

    Rejects, naming ``flag`` and the value, before any work starts: an empty
    path, an existing folder, an existing file (unless ``overwrite``), and a
    missing parent folder (unless ``create_parents``, then its nearest existing
    ancestor must be a writable folder) or a read-only one.

    Raises:
        UsageError: the file cannot be written.
    """
    text = "" if path is None else os.fspath(path)
    if not str(text).strip():
        raise UsageError(f"argument {flag}: expected a file path, got {text!r}")
    target = pathlib.Path(text).expanduser()
    if target.is_dir():
        raise UsageError(f"argument {flag}: {text!r} is a folder, not a file")
    if os.path.lexists(target) and not overwrite:
        raise UsageError(f"argument {flag}: {text!r} already exists; refusing to overwrite it")
    parent = target.parent
    if parent.exists():
        if not parent.is_dir():
            raise UsageError(f"argument {flag}: cannot write {text!r}: {str(parent)!r} is a file, not a folder")
    elif not create_parents:
        raise UsageError(f"argument {flag}: cannot write {text!r}: folder {str(parent)!r} does not exist")
    else:
        parent = _existing_ancestor(parent)
        if not parent.is_dir():
            raise UsageError(f"argument {flag}: cannot write {text!r}: {str(parent)!r} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"argument {flag}: cannot write {text!r}: folder {str(parent)!r} is not writable")
    if os.path.lexists(target) and not os.access(target, os.W_OK):
        raise UsageError(f"argument {flag}: cannot overwrite {text!r}: the file is read-only")
    return target


# ------------------------------------------------------------------ main


class _QuietLoader:
    """Runs a module's import with the process's stderr (fd 2) sent to /dev/null, then restores it."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        # Put the real loader back first: nothing outside the import sees this wrapper.
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        with _stderr_to_devnull():
            self._loader.exec_module(module)


class _stderr_to_devnull:
    """Context manager: file descriptor 2 goes to /dev/null (C++ logging included), Python's sys.stderr too."""

    def __enter__(self):
        self._saved = None
        try:
            sys.stderr.flush()
            fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
            self._fd = fd
            self._saved = os.dup(fd)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except (OSError, ValueError, AttributeError):
            self._saved = None  # no real stderr (embedded interpreter, closed fd): import normally
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(self._saved, self._fd)
            os.close(self._saved)
        return False


class _QuietImportFinder:
    """A one-shot ``sys.meta_path`` finder that imports TensorFlow with its start-up logging silenced.

    TensorFlow >= 2.19 prints "WARNING: All log messages before absl::InitializeLog() ...",
    "cudart_stub ... Could not find cuda drivers" and oneDNN lines from C++ while it is
    imported, whatever ``TF_CPP_MIN_LOG_LEVEL`` says (absl logs before its log level is
    set: tensorflow/tensorflow#100442, abseil/abseil-cpp#1957). Only that import is
    silenced; a failing import still raises its Python exception once stderr is back.
    """

    names = ("tensorflow",)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        for finder in list(sys.meta_path):
            if finder is self or isinstance(finder, _QuietImportFinder):
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        _remove_quiet_finder()
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


def _remove_quiet_finder() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietImportFinder)]


def quiet_startup() -> None:
    """Silence TensorFlow/absl start-up noise before anything imports TensorFlow.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` and ``GRPC_VERBOSITY=ERROR`` where the user has
    not, and, unless the user asked for TensorFlow's logs (``TF_CPP_MIN_LOG_LEVEL``
    below 2) or ``KERASNETS_DEBUG=1`` is set, imports TensorFlow (when something
    first imports it) with stderr silenced, which removes the absl
    "InitializeLog", "cudart_stub" and oneDNN lines that TensorFlow >= 2.19 prints
    regardless of ``TF_CPP_MIN_LOG_LEVEL``. Nothing is imported here.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    wants_logs = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3").strip() in ("0", "1")
    debug = os.environ.get("KERASNETS_DEBUG", "").strip() not in ("", "0")
    if wants_logs or debug or "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, _QuietImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImportFinder())


def _os_error_text(err: OSError) -> str:
    if getattr(err, "filename", None) is None:
        return str(err)
    what = err.strerror or type(err).__name__
    text = f"{what}: {os.fspath(err.filename)!r}"
    if getattr(err, "filename2", None) is not None:
        text += f" -> {os.fspath(err.filename2)!r}"
    return text


def _error_text(err: BaseException) -> str:
    if isinstance(err, OSError):
        return _os_error_text(err)
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return text.strip() or type(err).__name__


def run_main(fn: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None, *, prog: str) -> int:
    """Run a CLI's body with the shared exit statuses; returns the status (never raises for user errors).

    ``fn(argv)`` parses and runs; its return value is the status (None means 0).
    Before calling it, start-up noise is silenced (``quiet_startup``). Then:

    - UsageError, ValueError, TypeError, OSError (FileExistsError,
      PermissionError, ... naming the path): ``prog: error: <message>`` on
      stderr, status 2;
    - KeyboardInterrupt: ``prog: interrupted`` on stderr, status 130;
    - SystemExit (argparse's ``--help`` and usage errors): its status;
    - BrokenPipeError (stdout closed early, e.g. ``| head``): silent, status 141.

    With ``KERASNETS_DEBUG=1`` in the environment, those errors are re-raised
    with their traceback. Any other exception is a bug and keeps its traceback.

    Examples:
        >>> def body(argv):
        ...     raise UsageError("argument --epochs: expected an integer >= 1, got '0'")
        >>> run_main(body, [], prog="demo")  # doctest: +SKIP
        2
    """
    quiet_startup()
    debug = os.environ.get("KERASNETS_DEBUG", "").strip() not in ("", "0")
    try:
        status = fn(argv)
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return EXIT_OK
        if isinstance(code, int):
            return code
        print(f"{prog}: error: {code}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        if debug:
            raise
        try:  # keep Python from complaining again when it flushes stdout at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141
    except (ValueError, TypeError, OSError) as err:
        if debug:
            raise
        print(f"{prog}: error: {_error_text(err)}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as err:
        # kerasnets._tf.TensorFlowRequiredError (matched by name: this module imports nothing of
        # kerasnets): a TensorFlow-only feature asked for where TensorFlow is absent. Its message
        # names the feature and the way out. Any other ImportError is a bug: traceback.
        if debug or type(err).__name__ != "TensorFlowRequiredError":
            raise
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if status is None else int(status)
