"""The Keras clean-up shared by the test modules that build many models.

A test module imports the fixture (``from keras_session import clear_keras_session  # noqa: F401``);
being autouse, it then frees the models each test of that module built (Keras' global state)
after the test.
"""

import keras
import pytest


@pytest.fixture(autouse=True)
def clear_keras_session():
    yield
    keras.backend.clear_session()
