"""The training parts are backend-agnostic: run them under KERAS_BACKEND=jax in a subprocess."""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    assert keras.backend.backend() == "jax"
    from kerasnets.training import (MomentumSGD, PCALighting, ScaleJitter, RandomResizedCrop,
        LabelSmoothingCrossentropy, to_fully_convolutional, recalibrate_batchnorm, recipe)
    # AlexNet update rule, two steps, closed form.
    w0 = np.array([1.0, -2.0], "float32"); g = np.array([0.5, 0.25], "float32")
    var = keras.Variable(w0)
    opt = MomentumSGD(learning_rate=0.1, momentum=0.9, weight_decay=0.05)
    w, v = w0.astype("float64"), np.zeros(2)
    for _ in range(2):
        opt.apply_gradients([(g, var)])
        v = 0.9 * v - 0.05 * 0.1 * w - 0.1 * g; w = w + v
    np.testing.assert_allclose(np.asarray(var.value), w, rtol=1e-6)
    x = np.random.default_rng(0).uniform(0, 255, (2, 20, 24, 3)).astype("float32")
    a = np.asarray(PCALighting(seed=1)(x)); b = np.asarray(PCALighting(seed=1)(x))
    np.testing.assert_array_equal(a, b); assert np.abs(a - x).max() > 0
    assert tuple(ScaleJitter(20, 30, 16, seed=0)(x).shape) == (2, 16, 16, 3)
    assert tuple(RandomResizedCrop(12, seed=0)(x).shape) == (2, 12, 12, 3)
    loss = LabelSmoothingCrossentropy(0.1)
    q = np.array([[0.925, 0.025, 0.025, 0.025]])
    p = np.array([[0.7, 0.1, 0.1, 0.1]], "float32")
    assert abs(float(loss(np.array([0]), p)) - float(-(q * np.log(p)).sum())) < 1e-5
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
        keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
        keras.layers.Dense(6, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    img = np.random.default_rng(1).normal(size=(4, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(to_fully_convolutional(model)(img)), np.asarray(model(img)),
                               rtol=1e-5, atol=1e-6)
    assert recalibrate_batchnorm(model, img, batch_size=2) == 4
    r = recipe("mnist", epochs=1, steps_per_epoch=2, augment=False)
    model.compile(**r.compile_kwargs)
    h = model.fit(img, np.array([0, 1, 2, 0]), batch_size=2, epochs=1, verbose=0, callbacks=r.callbacks)
    assert np.isfinite(h.history["loss"][0])
    print("JAX-OK")
    """
)


def test_training_parts_under_jax_backend():
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=root, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "JAX-OK" in result.stdout
