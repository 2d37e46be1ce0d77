"""BatchNorm re-estimation: moving statistics become averages over the data."""

import keras
import numpy as np
import pytest

from kerasnets.training import batchnorm_layers, recalibrate_batchnorm


def test_moving_mean_equals_data_mean_with_ragged_batches_and_dropout():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(7, 4)) * 3 + 5).astype("float32")
    bn = keras.layers.BatchNormalization(momentum=0.99, name="bn")
    # Dropout before BN: if it ran in training mode the BN inputs (and the mean) would change.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5), bn])
    assert recalibrate_batchnorm(model, x, batch_size=3) == 7
    np.testing.assert_allclose(bn.moving_mean.numpy(), x.mean(axis=0), rtol=1e-5)
    # The variance is the example-weighted average of Keras's (biased) batch variances.
    batches = [x[0:3], x[3:6], x[6:7]]
    want_var = sum(len(b) * b.var(axis=0) for b in batches) / 7
    np.testing.assert_allclose(bn.moving_variance.numpy(), want_var, rtol=1e-4, atol=1e-6)
    # Momentum and the layer's own call are restored.
    assert bn.momentum == 0.99
    assert "call" not in bn.__dict__
    out = model(x, training=False)
    np.testing.assert_allclose(
        np.asarray(out), (x - x.mean(0)) / np.sqrt(want_var + bn.epsilon), rtol=1e-4, atol=1e-4
    )


def test_conv_model_frozen_bn_and_dataset_input():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 2, size=(12, 6, 6, 2)).astype("float32")
    labels = np.zeros(12, "int32")
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.BatchNormalization(name="bn0")(inputs)
    x = keras.layers.Conv2D(3, 3, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    model = keras.Model(inputs, x)
    model.get_layer("bn0").trainable = False
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    assert recalibrate_batchnorm(model, ds) == 12
    bn0 = model.get_layer("bn0")
    assert bn0.trainable is False
    np.testing.assert_allclose(bn0.moving_mean.numpy(), images.mean(axis=(0, 1, 2)), rtol=1e-5)
    # bn1 sees the conv of batch-normalised inputs (bn0 in training mode, batch statistics).
    conv = model.get_layer("conv")
    feats = []
    for start in range(0, 12, 4):
        b = images[start : start + 4]
        normed = (b - b.mean(axis=(0, 1, 2))) / np.sqrt(b.var(axis=(0, 1, 2)) + bn0.epsilon)
        normed = normed * bn0.gamma.numpy() + bn0.beta.numpy()
        feats.append(np.asarray(conv(normed)))
    want = np.concatenate(feats).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(model.get_layer("bn1").moving_mean.numpy(), want, rtol=1e-4, atol=1e-5)
    assert [layer.name for layer in batchnorm_layers(model)] == ["bn0", "bn1"]


def test_steps_limit_and_errors():
    x = np.arange(40, dtype="float32").reshape(10, 4)
    bn = keras.layers.BatchNormalization()
    model = keras.Sequential([keras.Input((4,)), bn])
    assert recalibrate_batchnorm(model, x, batch_size=2, steps=2) == 4
    np.testing.assert_allclose(bn.moving_mean.numpy(), x[:4].mean(0), rtol=1e-6)
    with pytest.raises(ValueError, match=r"no BatchNormalization"):
        recalibrate_batchnorm(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), x)
    with pytest.raises(ValueError, match=r"empty"):
        recalibrate_batchnorm(model, x[:0])
    with pytest.raises(ValueError, match=r"Received: batch_size=0"):
        recalibrate_batchnorm(model, x, batch_size=0)
