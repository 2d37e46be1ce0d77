"""Registry-driven tests: every registered model builds, counts right, runs and trains.

Adding a model to the registry adds it to these tests; a changed parameter count is a
deliberate diff of the registry's reference figure.
"""

import json

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.models import get_spec
from family_models import pick_per_family
from keras_session import clear_keras_session, shapes_only  # noqa: F401 (autouse: clears the session after each test)

ALL = kerasnets.list_models()


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _small_size(spec):
    return max(spec.min_size, 32)


# The smallest registered model (by reference parameters) of each family.
FAMILY_REPS = sorted(spec.name for spec in pick_per_family(min))
# The headless forward runs by default for each family's smallest and largest model (the same
# block code at both ends of its depth and width); `-m slow` runs it for every model.
FORWARD = sorted(set(FAMILY_REPS) | {spec.name for spec in pick_per_family(max)})


@pytest.mark.parametrize("name", ALL)
def test_default_build_matches_reference_count(name):
    spec = get_spec(name)
    with shapes_only():  # shapes and counts only: no variable values needed
        model = kerasnets.get_model(name)
    assert model.name == name
    assert model.input.name == "images" or model.layers[0].name == "images"
    assert tuple(model.input.shape[1:]) == spec.default_input_shape
    assert model.output.shape == (None, spec.default_classes)
    assert model.layers[-1].name == "predictions"
    assert spec.ref_params is not None, f"{name} has no reference parameter count"
    assert _trainable(model) == spec.ref_params, spec.ref_params_source
    if spec.ref_macs is not None:
        from kerasnets.counting import count

        macs = count(model).macs
        # published figures carry 3-4 significant digits; hand counts are exact
        assert abs(macs - spec.ref_macs) <= 0.005 * spec.ref_macs, (macs, spec.ref_macs_source)


def _headless(name):
    spec = get_spec(name)
    size = _small_size(spec)
    shape = (size, size, spec.channels)
    return spec, shape, kerasnets.get_model(name, include_top=False, pooling="avg", input_shape=shape)


@pytest.mark.parametrize("name", ALL)
def test_headless_small_input_builds_with_the_registry_feature_stages(name):
    with shapes_only():
        spec, _, model = _headless(name)
    assert len(model.output.shape) == 2
    # the feature stages listed in the registry exist and have the listed channels
    for info in spec.features:
        layer = model.get_layer(info.layer)
        assert layer.output.shape[-1] == info.channels, info


@pytest.mark.parametrize("name", [n if n in FORWARD else pytest.param(n, marks=pytest.mark.slow) for n in ALL])
def test_headless_small_input_runs_and_is_finite(name):
    _, shape, model = _headless(name)
    x = np.random.default_rng(0).uniform(0, 1, (2,) + shape).astype("float32")
    # a direct call: predict's graph tracing costs more than the forward itself (the predict path
    # is exercised per family by test_serialization_roundtrip)
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (2, model.output.shape[-1]) and np.isfinite(y).all()


@pytest.mark.parametrize("name", FAMILY_REPS)
def test_family_trains_loss_goes_down(name):
    spec = get_spec(name)
    rng = np.random.default_rng(0)
    if spec.fixed_size and spec.ref_params and spec.ref_params > 5_000_000:
        # Fully-connected heads this size are too slow on a CI CPU: train the backbone.
        size = _small_size(spec)
        base = kerasnets.get_model(name, include_top=False, pooling="avg", input_shape=(size, size, spec.channels))
        out = keras.layers.Dense(3, activation="softmax", name="head")(base.output)
        model = keras.Model(base.input, out)
    else:
        size = spec.default_size if spec.fixed_size else _small_size(spec)
        model = kerasnets.get_model(name, classes=3, input_shape=(size, size, spec.channels))
    x = rng.uniform(0, 1, (8, size, size, spec.channels)).astype("float32")
    y = np.arange(8) % 3
    # Eager steps: tracing the train graph of a 300-layer DenseNet costs more than the steps. Four
    # epochs of two batches, each epoch's loss the mean of its batches' (what fit reports), with
    # train_on_batch: fit's per-call set-up costs more than these steps.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", run_eagerly=True)
    losses = [np.mean([float(model.train_on_batch(x[i:i + 4], y[i:i + 4])) for i in (0, 4)]) for _ in range(4)]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name", FAMILY_REPS)
def test_serialization_roundtrip(name, tmp_path):
    spec = get_spec(name)
    size = _small_size(spec)
    model = kerasnets.get_model(name, include_top=False, pooling="max", input_shape=(size, size, spec.channels))
    config = model.get_config()
    assert json.loads(json.dumps(config)) == json.loads(json.dumps(model.__class__.from_config(config).get_config()))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    x = np.random.default_rng(1).uniform(0, 1, (2, size, size, spec.channels)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), restored.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_every_builder_documents_every_parameter():
    import inspect

    for name in ALL:
        fn = get_spec(name).builder
        doc = fn.__doc__ or ""
        assert "{common_args}" not in doc, name
        for param in inspect.signature(fn).parameters:
            assert f"{param}:" in doc, f"{name}: parameter {param!r} is not documented"


def test_public_api_exports_every_builder():
    for name in ALL:
        assert getattr(kerasnets, name) is get_spec(name).builder
