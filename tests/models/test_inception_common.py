"""Helpers shared by the Inception-family tests (no tests here): independent counting, shapes, training."""

import keras
import numpy as np


def trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def conv_dense_macs(model):
    """Multiply-accumulates of the convolutions and dense layers, from static shapes."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            total += h * w * c_out * kh * kw * c_in
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def shapes_at(model, layer_names, size):
    """Output shapes of the named layers for a ``size`` x ``size`` input (symbolic, no compute)."""
    sub = keras.Model(model.input, [model.get_layer(n).output for n in layer_names])
    shapes = sub.compute_output_shape((1, size, size, 3))
    return {n: tuple(s[1:]) for n, s in zip(layer_names, shapes)}


def train_losses(model, *, size, steps=2, batch=2, classes=3, seed=0):
    """Losses (training mode) on one fixed small batch before and after each of ``steps`` Adam updates.

    Eager TensorFlow steps: tracing a graph of a ~1000-layer model costs more on a CI CPU than
    the few steps themselves.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32"))
    y = tf.constant(np.arange(batch) % classes)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    optimizer = keras.optimizers.Adam(1e-3)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        losses.append(float(loss))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    losses.append(float(loss_fn(y, model(x, training=True))))
    return losses
