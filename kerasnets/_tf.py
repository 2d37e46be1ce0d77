"""TensorFlow, imported only where it is the point: SavedModel export, ``tf.distribute``, ``tf.data``.

Everything else in kerasnets (the builders, ``kerasnets.summary``, ``kerasnets.training``,
``kerasnets.data``) is pure Keras 3 / NumPy and runs under ``KERAS_BACKEND=jax`` (or torch) in
a Python that has no TensorFlow at all, e.g. the project's GPU machine (docs/gpu.md). The
TensorFlow-only features call `require_tensorflow` at the moment they are used, so a
missing TensorFlow surfaces as one clear error naming the feature and the way out, instead
of an ``ImportError`` at ``import kerasnets`` or deep inside a call.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["TensorFlowRequiredError", "require_tensorflow", "tensorflow_available"]


class TensorFlowRequiredError(ImportError):
    """A TensorFlow-only feature was used where TensorFlow cannot be imported."""


def require_tensorflow(feature: str, *, alternative: str | None = None) -> Any:
    """Import and return the ``tensorflow`` module, or fail naming ``feature``.

    Args:
        feature: what needs TensorFlow, e.g. ``"SavedModel export"`` or
            ``"strategy='mirrored' (tf.distribute)"``; the message starts with it.
        alternative: what to do instead without TensorFlow, appended to the message
            (e.g. ``"with JAX use keras.distribution.DataParallel"``).

    Returns:
        The ``tensorflow`` module.

    Raises:
        TensorFlowRequiredError: (an ``ImportError``) TensorFlow is not installed or
            cannot be imported; the message names ``feature``, the import error and
            ``pip install tensorflow``.

    Examples:
        >>> tf = require_tensorflow("tf.data input pipelines")  # doctest: +SKIP
    """
    if not isinstance(feature, str) or not feature:
        raise TypeError(f"`feature` must be a non-empty string naming what needs TensorFlow. Received: feature={feature!r}")
    module = sys.modules.get("tensorflow")
    if module is not None:
        return module
    try:
        return importlib.import_module("tensorflow")
    except ImportError as err:
        message = (
            f"{feature} needs TensorFlow, which cannot be imported here ({type(err).__name__}: {err}). "
            "Install it (`pip install tensorflow`)"
        )
        message += f", or {alternative}." if alternative else "."
        message += (
            " The rest of kerasnets (builders, kerasnets.summary, kerasnets.training, kerasnets.data) "
            "works without it under KERAS_BACKEND=jax."
        )
        raise TensorFlowRequiredError(message) from err


def tensorflow_available() -> bool:
    """Whether ``tensorflow`` can be imported (imports it when it can; never raises)."""
    if sys.modules.get("tensorflow") is not None:
        return True
    try:
        importlib.import_module("tensorflow")
    except ImportError:
        return False
    return True
