"""Auxiliary-classifier loss weighting (total = loss + 0.3 aux1 + 0.3 aux2) and aux-head removal."""

import keras
import numpy as np
import pytest

from kerasnets.training import (
    aux_compile_kwargs,
    compile_with_aux_losses,
    replicate_targets,
    strip_aux_heads,
)


def _three_headed():
    inputs = keras.Input((6,), name="features")
    trunk = keras.layers.Dense(8, activation="relu", name="trunk")(inputs)
    main = keras.layers.Dense(3, activation="softmax", name="predictions")(trunk)
    aux1 = keras.layers.Dense(3, activation="softmax", name="aux1")(inputs)
    aux2 = keras.layers.Dense(3, activation="softmax", name="aux2")(trunk)
    return keras.Model(inputs, [main, aux1, aux2], name="googlenet_like")


def test_total_loss_is_main_plus_weighted_aux():
    model = _three_headed()
    compile_with_aux_losses(model, optimizer="sgd", aux_weight=0.3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.integers(0, 3, 16)
    main, aux1, aux2 = model.predict(x, verbose=0)
    ce = keras.losses.SparseCategoricalCrossentropy()
    want = float(ce(y, main)) + 0.3 * float(ce(y, aux1)) + 0.3 * float(ce(y, aux2))
    result = model.evaluate(x, replicate_targets(y, model), batch_size=16, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(want, rel=1e-5)
    assert "predictions_accuracy" in result or "accuracy" in result
    history = model.fit(x, replicate_targets(y, model), epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_aux_compile_kwargs_layout_and_main_by_name():
    model = _three_headed()
    kwargs = aux_compile_kwargs(model, aux_weight=0.4, main_output="aux2")
    assert kwargs["loss_weights"] == [0.4, 0.4, 1.0]
    assert kwargs["metrics"] == [[], [], ["accuracy"]]
    assert kwargs["loss"] == ["sparse_categorical_crossentropy"] * 3
    with pytest.raises(ValueError, match=r"Received: main_output='nope'"):
        aux_compile_kwargs(model, main_output="nope")
    with pytest.raises(ValueError, match=r"Received: main_output=3"):
        aux_compile_kwargs(model, main_output=3)


def test_strip_aux_heads_keeps_main_output_and_weights():
    model = _three_headed()
    inference = strip_aux_heads(model)
    assert len(inference.outputs) == 1
    names = {layer.name for layer in inference.layers}
    assert "aux1" not in names and "aux2" not in names
    x = np.random.default_rng(1).normal(size=(4, 6)).astype("float32")
    np.testing.assert_allclose(inference.predict(x, verbose=0), model.predict(x, verbose=0)[0], rtol=1e-6)
    # aux1 (6x3 + 3) and aux2 (8x3 + 3) are gone.
    assert inference.count_params() == model.count_params() - (6 * 3 + 3) - (8 * 3 + 3) == 83
    assert replicate_targets([1, 2], inference) == [1, 2]
