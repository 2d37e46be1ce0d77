"""The Keras clean-up shared by the test modules that build many models, and shape-only builds.

A test module imports the fixture (``from keras_session import clear_keras_session  # noqa: F401``);
being autouse, it then frees the models each test of that module built (Keras' global state)
after the test.

`shapes_only` builds a model whose variables have their shapes but no values: inside
``keras.StatelessScope(initialize_variables=False)`` (public Keras API) a variable records its
shape and initializer and creates no backend variable. Creating and initialising the TensorFlow
variables is most of a build's time (a headless ResNet-1001: 26 s, 8 s without them; ResNet-152:
8.7-10.4 s and 2.6-2.8 s, on this project's 2-core machine), and tests that only read layer
shapes, parameter counts or MACs do not need the values. Such a model cannot run; tests that call or train a model build it normally.
"""

import contextlib

import keras
import pytest


@contextlib.contextmanager
def shapes_only():
    """Build models inside this block for their structure only (shapes, counts, layer configs)."""
    with keras.StatelessScope(initialize_variables=False):
        yield


@pytest.fixture(autouse=True)
def clear_keras_session():
    yield
    keras.backend.clear_session()
