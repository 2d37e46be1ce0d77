"""MACs and params of random layer configurations against brute-force counts.

The brute force is independent of the analytic rules: for a linear layer
without bias, every multiply-accumulate pairs one input element with one
output element through one weight, so the MAC count equals the number of
nonzero entries of the layer's Jacobian (its dense matrix, obtained by feeding
the identity basis through the real Keras layer). "same" padding is checked by
running the equivalent "valid" layer on an explicitly zero-padded input (the
padded taps are real inputs there, so the Jacobian counts them too, as the
convention says), after checking both layers give the same output.
"""

import math

import keras
import numpy as np
import pytest

from kerasnets.counting import count, count_layer

N_CONFIGS = 8


def _jacobian_nnz(layer, in_shape):
    """Nonzero entries of d(layer(x))/dx, by pushing the identity basis through the layer."""
    n = math.prod(in_shape)
    basis = np.eye(n, dtype="float32").reshape((n,) + tuple(in_shape))
    out = keras.ops.convert_to_numpy(layer(basis))
    return int(np.count_nonzero(np.abs(out.reshape(n, -1)) > 0))


def _analytic(layer, in_shape):
    inp = keras.Input(shape=in_shape)
    out = layer(inp)
    counted = count_layer(layer, [tuple(inp.shape)], [tuple(out.shape)])
    assert counted.known and counted.note == ""
    assert counted.params == layer.count_params()
    return counted.macs, tuple(out.shape[1:])


def _same_pads(size, kernel, stride, dilation):
    """TensorFlow's SAME padding (before, after) for one axis."""
    eff = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_conv2d_random_configs(seed):
    rng = np.random.default_rng(seed)
    groups = int(rng.choice([1, 2, 3]))
    cin = groups * int(rng.integers(1, 3))
    filters = groups * int(rng.integers(1, 4))
    k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    dilated = rng.random() < 0.3
    strides = (1, 1) if dilated else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    dilation = (int(rng.integers(1, 3)), 1) if dilated else (1, 1)
    h, w = int(rng.integers(5, 9)), int(rng.integers(5, 9))
    padding = str(rng.choice(["valid", "same"]))
    layer = keras.layers.Conv2D(
        filters, k, strides=strides, dilation_rate=dilation, groups=groups, padding=padding, use_bias=False
    )
    macs, out_shape = _analytic(layer, (h, w, cin))
    if padding == "valid":
        assert macs == _jacobian_nnz(layer, (h, w, cin))
        return
    pads = [_same_pads(s, kk, st, d) for s, kk, st, d in zip((h, w), k, strides, dilation)]
    valid = keras.layers.Conv2D(
        filters, k, strides=strides, dilation_rate=dilation, groups=groups, padding="valid", use_bias=False
    )
    padded_shape = (h + sum(pads[0]), w + sum(pads[1]), cin)
    valid.build((None,) + padded_shape)
    valid.set_weights(layer.get_weights())
    x = np.random.default_rng(seed + 100).normal(size=(2, h, w, cin)).astype("float32")
    xp = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), keras.ops.convert_to_numpy(valid(xp)), atol=1e-5)
    assert tuple(valid.compute_output_shape((None,) + padded_shape)[1:]) == out_shape
    assert macs == _jacobian_nnz(valid, padded_shape)


@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_conv1d_and_depthwise_random_configs(seed):
    rng = np.random.default_rng(1000 + seed)
    groups = int(rng.choice([1, 2]))
    cin = groups * int(rng.integers(1, 4))
    conv = keras.layers.Conv1D(
        groups * int(rng.integers(1, 3)), int(rng.integers(1, 4)), strides=int(rng.integers(1, 3)),
        groups=groups, use_bias=False,
    )
    length = int(rng.integers(6, 12))
    macs, _ = _analytic(conv, (length, cin))
    assert macs == _jacobian_nnz(conv, (length, cin))

    dm = int(rng.integers(1, 3))
    depthwise = keras.layers.DepthwiseConv2D(
        int(rng.integers(1, 4)), strides=int(rng.integers(1, 3)), depth_multiplier=dm, use_bias=False
    )
    shape = (int(rng.integers(5, 9)), int(rng.integers(5, 9)), int(rng.integers(1, 4)))
    macs, _ = _analytic(depthwise, shape)
    assert macs == _jacobian_nnz(depthwise, shape)


@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_separable_transpose_dense_random_configs(seed):
    rng = np.random.default_rng(2000 + seed)
    shape = (int(rng.integers(4, 8)), int(rng.integers(4, 8)), int(rng.integers(1, 4)))
    k, dm, filters = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 5))
    # Separable = depthwise then pointwise: its MACs are the two parts' brute-force counts.
    separable = keras.layers.SeparableConv2D(filters, k, depth_multiplier=dm, use_bias=False)
    macs, out_shape = _analytic(separable, shape)
    depthwise = keras.layers.DepthwiseConv2D(k, depth_multiplier=dm, use_bias=False)
    pointwise = keras.layers.Conv2D(filters, 1, use_bias=False)
    mid = tuple(depthwise.compute_output_shape((None,) + shape)[1:])
    assert macs == _jacobian_nnz(depthwise, shape) + _jacobian_nnz(pointwise, mid)

    transpose = keras.layers.Conv2DTranspose(filters, k, strides=int(rng.integers(1, 3)), use_bias=False)
    macs, _ = _analytic(transpose, shape)
    assert macs == _jacobian_nnz(transpose, shape)

    rank3 = rng.random() < 0.5
    in_shape = (int(rng.integers(2, 5)), int(rng.integers(2, 9))) if rank3 else (int(rng.integers(2, 30)),)
    dense = keras.layers.Dense(int(rng.integers(1, 9)), use_bias=False)
    macs, _ = _analytic(dense, in_shape)
    assert macs == _jacobian_nnz(dense, in_shape)


def test_bias_and_activation_are_other_ops_not_macs():
    inp = keras.Input((6, 6, 2))
    out = keras.layers.Conv2D(4, 3, activation="relu", name="c")(inp)
    report = count(keras.Model(inp, out))
    row = report.layer("c")
    assert row.macs == 4 * 4 * 4 * 3 * 3 * 2
    assert row.other_ops == 2 * 4 * 4 * 4  # bias add + relu per output element
    assert row.params == 3 * 3 * 2 * 4 + 4
