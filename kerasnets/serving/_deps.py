"""TensorFlow and the TF Serving protos, imported when an export needs them.

kerasnets' models run without TensorFlow (``KERAS_BACKEND=jax``); only the
SavedModel export and the request emulator need it, so it is imported here, on
first use, with an error that says what to install instead of a bare
``ModuleNotFoundError`` from deep inside a call.
"""

from __future__ import annotations

import importlib

__all__ = ["tensorflow", "serving_module"]


def tensorflow():
    """The ``tensorflow`` module; ImportError naming the package to install if it is absent."""
    try:
        import tensorflow as tf
    except ImportError as err:
        raise ImportError(
            "SavedModel export for TF Serving needs TensorFlow (`pip install tensorflow`); "
            "kerasnets' models themselves run without it (KERAS_BACKEND=jax). "
            f"Importing it failed with: {err}"
        ) from err
    return tf


def serving_module(name: str):
    """``tensorflow_serving.<name>`` (e.g. ``"apis.predict_pb2"``); ImportError naming the package if absent."""
    tensorflow()
    try:
        return importlib.import_module(f"tensorflow_serving.{name}")
    except ImportError as err:
        raise ImportError(
            "The TF Serving protos (warm-up records, PredictRequest, models.config) need "
            f"`pip install tensorflow-serving-api`. Importing tensorflow_serving.{name} failed with: {err}"
        ) from err
