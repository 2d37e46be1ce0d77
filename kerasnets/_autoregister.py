"""Register kerasnets' serialisable classes with Keras as soon as Keras is imported.

``keras.saving.load_model("x.keras")`` finds a custom class (``LocalResponseNormalization``,
``LabelSmoothingCrossentropy``, ...) only when the module defining it has run its
``@keras.saving.register_keras_serializable(package="kerasnets")`` decorator. ``import kerasnets``
must stay light (it imports neither Keras nor TensorFlow), so it cannot import those modules itself.
`install` (called by ``kerasnets/__init__.py``) closes the gap:

- Keras already imported: the registering modules are imported at once;
- otherwise a one-shot finder on ``sys.meta_path`` watches for the top-level ``keras`` import and
  imports the registering modules right after ``keras/__init__.py`` has finished executing (so both
  ``import kerasnets; import keras`` and ``import keras; import kerasnets`` load every file).

The hook only wraps the loader of the single module ``keras``; the module object, its spec and its
loader are left as Keras' own once it has run. A failure while registering never breaks
``import keras``: it becomes a ``RuntimeWarning`` naming the module, and `registered` says
which modules are loaded.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
import warnings
from typing import Any

__all__ = ["REGISTERING_MODULES", "install", "register_now", "registered"]

#: Every module whose import registers classes that ``.keras`` files saved by kerasnets or its
#: apps refer to (custom layers, augmentation layers, losses, optimizers).
REGISTERING_MODULES = (
    "kerasnets.layers",
    "kerasnets.training.augment",
    "kerasnets.training.losses",
    "kerasnets.training.optimizers",
)

_LOCK = threading.RLock()
_DONE: list[str] = []


def registered() -> tuple[str, ...]:
    """The registering modules imported so far (all of `REGISTERING_MODULES` once Keras is in)."""
    return tuple(_DONE)


def register_now() -> None:
    """Import every registering module now (imports Keras). Safe to call more than once."""
    with _LOCK:
        for name in REGISTERING_MODULES:
            if name in _DONE:
                continue
            try:
                importlib.import_module(name)
            except Exception as error:  # never break the user's `import keras`
                warnings.warn(
                    f"kerasnets could not register the Keras classes of {name} ({type(error).__name__}: "
                    f"{error}); .keras files using them will not load.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            else:
                _DONE.append(name)


class _RegisterAfterExec(importlib.abc.Loader):
    """Runs Keras' own loader, then `register_now`; everything else goes to that loader."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        _uninstall_hook()
        try:
            self._loader.exec_module(module)
        finally:
            # Keras' module keeps Keras' own loader, whatever happens next.
            module.__loader__ = self._loader
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self._loader
        register_now()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, get_data, ...
        return getattr(self._loader, name)


class _KerasImportHook(importlib.abc.MetaPathFinder):
    """Wraps the loader of the top-level ``keras`` module; removed once Keras has been executed.

    It stays installed across mere look-ups: TensorFlow (and other libraries) call
    ``importlib.util.find_spec("keras")`` to probe for Keras without importing it, and the hook
    must still be there for the real import.
    """

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras" or path is not None:
            return None
        spec = None
        for finder in list(sys.meta_path):
            if isinstance(finder, _KerasImportHook):
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None:
            return spec  # not installed: Python reports the ModuleNotFoundError as usual
        spec.loader = _RegisterAfterExec(spec.loader)
        return spec


def _uninstall_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _KerasImportHook)]


def _keras_ready() -> bool:
    module = sys.modules.get("keras")
    if module is None:
        return False
    spec = getattr(module, "__spec__", None)
    return not getattr(spec, "_initializing", False)


def install() -> None:
    """Make sure kerasnets' classes are registered whenever Keras is (or gets) imported.

    Idempotent. Called by ``kerasnets/__init__.py``; nothing else needs to call it.
    """
    with _LOCK:
        if _keras_ready():
            _uninstall_hook()
            register_now()
        elif "keras" not in sys.modules and not any(isinstance(f, _KerasImportHook) for f in sys.meta_path):
            sys.meta_path.insert(0, _KerasImportHook())
        # else: Keras is being imported right now and kerasnets was imported from inside that import;
        # the registering modules cannot run on a half-initialised Keras. The first import of
        # kerasnets.layers (any builder does it) registers them.
