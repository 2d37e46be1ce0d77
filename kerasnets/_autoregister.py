"""Register kerasnets' serialisable Keras classes as soon as Keras is imported.

``import kerasnets`` does not import Keras, yet a ``.keras`` file holding a kerasnets layer
(``LocalResponseNormalization`` in AlexNet/GoogLeNet, the apps' losses) must load after
``import kerasnets``. ``install`` imports the modules that register those classes now when
Keras is already imported, else right after Keras's own import finishes (a one-shot import hook).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["install", "SERIALIZABLE_MODULES"]

# The modules whose import registers classes with keras.saving.register_keras_serializable.
SERIALIZABLE_MODULES = (
    "kerasnets.layers",
    "kerasnets.training.losses",
    "kerasnets.training.optimizers",
    "kerasnets.training.augment",
)


def _register() -> None:
    for module in SERIALIZABLE_MODULES:
        importlib.import_module(module)


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps Keras's loader so that registration follows its import."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return None
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            _register()

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Make Keras know kerasnets' classes: now if Keras is imported, else right after it is."""
    if "keras" in sys.modules:
        _register()
    elif not any(isinstance(finder, _AfterKeras) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())
