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


def train_losses(model, *, size, steps=3, batch=2, classes=3, seed=0):
    """Fit a fixed small batch for ``steps`` epochs (eagerly: no graph tracing of a big model)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    y = np.arange(batch) % classes
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", run_eagerly=True)
    return model.fit(x, y, batch_size=batch, epochs=steps, verbose=0, shuffle=False).history["loss"]
