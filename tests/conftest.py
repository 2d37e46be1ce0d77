"""Shared test set-up: quiet TensorFlow, deterministic seeds, paths to shared data."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# XLA (JAX's jit, TensorFlow's jit_compile) without LLVM's optimisation passes, here and in every
# subprocess a test starts: the tests check what compiled steps compute, never how fast, and on the
# 2-core CI machine the compiles are most of their time (the TensorFlow-free family check: 233 ->
# 156 CPU-seconds). Set XLA_FLAGS yourself to test with other flags.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import pytest  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(0)
    yield


@pytest.fixture
def shared_data():
    """Path of ../shared/data, or skip with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present: {SHARED_DATA} is absent (CI and developer machines have it)")
    return SHARED_DATA


# Modules whose tests start long multi-core processes (a JAX interpreter compiling every family,
# the GPU suite's smoke run, the MNIST app without TensorFlow): 20-85 s each on this machine.
_LONG_FIRST = ("tests/test_no_tensorflow.py", "tests/test_jax_backend.py", "tests/apps/test_mnist_jax.py")


def pytest_collection_modifyitems(session, config, items):
    """Run the longest process tests first (a stable reorder, the same in every xdist worker).

    Collected in file order they came last, so at the end one worker ran a JAX process of a
    minute or more while the other had nothing left; first, the short tests fill in behind them.
    """
    items.sort(key=lambda item: not item.nodeid.startswith(_LONG_FIRST))


def pytest_collection_finish(session):
    """Freeze what collection loaded (TensorFlow, Keras, kerasnets, the test modules) out of the
    garbage collector's reach.

    `keras.backend.clear_session()`, which the model-building tests call after each test, runs a
    full `gc.collect()`; with TensorFlow imported that walks ~490,000 objects for ~0.2 s each time,
    although none of them is ever garbage. `gc.freeze()` moves the objects alive now into a
    permanent generation that collections skip (public CPython API): a clear after a ResNet-50
    build then takes 0.014 s instead of 0.22 s, and the models each test built are still freed.
    """
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()
    gc.freeze()
