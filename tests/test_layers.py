"""Unit tests of the custom layers: values against numpy, config round trips."""

import keras
import numpy as np
import pytest

from kerasnets.layers import CReLU, LocalResponseNormalization, Maxout, ZeroPadChannels


def _lrn_reference(a, size, k, alpha, beta):
    out = np.empty_like(a)
    c = a.shape[-1]
    for i in range(c):
        lo, hi = max(0, i - size // 2), min(c, i + size // 2 + 1)
        out[..., i] = a[..., i] / (k + alpha * np.sum(a[..., lo:hi] ** 2, axis=-1)) ** beta
    return out


def test_lrn_matches_paper_formula():
    a = np.random.default_rng(0).normal(0, 30, (2, 3, 3, 7)).astype("float32")
    got = np.asarray(LocalResponseNormalization()(a))
    np.testing.assert_allclose(got, _lrn_reference(a, 5, 2.0, 1e-4, 0.75), rtol=1e-5)


def test_lrn_mean_mode_is_caffe_alpha_over_n():
    a = np.random.default_rng(1).normal(0, 30, (1, 2, 2, 6)).astype("float32")
    got = np.asarray(LocalResponseNormalization(size=3, alpha=3e-4, alpha_mode="mean")(a))
    np.testing.assert_allclose(got, _lrn_reference(a, 3, 2.0, 1e-4, 0.75), rtol=1e-5)


def test_lrn_matches_tensorflow_op():
    import tensorflow as tf

    a = np.random.default_rng(2).normal(0, 10, (1, 4, 4, 16)).astype("float32")
    tf_out = tf.nn.local_response_normalization(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    np.testing.assert_allclose(np.asarray(LocalResponseNormalization()(a)), tf_out.numpy(), rtol=1e-5)


LRN_CASES = [
    dict(size=5, k=2.0, alpha=1e-4, beta=0.75, alpha_mode="sum"),  # AlexNet
    dict(size=5, k=1.0, alpha=1e-4, beta=0.75, alpha_mode="mean"),  # GoogLeNet/Caffe
    dict(size=3, k=1.0, alpha=2e-3, beta=0.5, alpha_mode="sum"),
    dict(size=7, k=1.5, alpha=1e-3, beta=0.6, alpha_mode="sum"),  # general power
    dict(size=1, k=1.0, alpha=1e-2, beta=1.0, alpha_mode="sum"),
]


def _lrn_case_reference(a, case):
    alpha = case["alpha"] / case["size"] if case["alpha_mode"] == "mean" else case["alpha"]
    return _lrn_reference(a.astype("float64"), case["size"], case["k"], alpha, case["beta"])


@pytest.mark.parametrize("case", LRN_CASES, ids=lambda c: f"n{c['size']}-b{c['beta']}-{c['alpha_mode']}")
def test_lrn_tensorflow_and_keras_ops_paths_agree_in_values_and_gradients(case):
    import tensorflow as tf

    from kerasnets.layers import _tf_lrn_applies, lrn_ops

    layer = LocalResponseNormalization(**case)
    a = np.random.default_rng(3).normal(0, 20, (2, 5, 4, 13)).astype("float32")
    x = tf.constant(a)
    assert keras.backend.backend() != "tensorflow" or _tf_lrn_applies(x)
    alpha = case["alpha"] / case["size"] if case["alpha_mode"] == "mean" else case["alpha"]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        fused = layer(x)  # the TF backend's fused op
        portable = lrn_ops(x, case["size"], case["k"], alpha, case["beta"])  # JAX/Torch path
        weights = tf.constant(np.random.default_rng(4).normal(size=a.shape).astype("float32"))
        loss_fused = tf.reduce_sum(fused * weights)
        loss_portable = tf.reduce_sum(portable * weights)
    reference = _lrn_case_reference(a, case)
    np.testing.assert_allclose(fused.numpy(), reference, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(portable.numpy(), reference, rtol=2e-5, atol=1e-6)
    g_fused = tape.gradient(loss_fused, x).numpy()
    g_portable = tape.gradient(loss_portable, x).numpy()
    np.testing.assert_allclose(g_fused, g_portable, rtol=1e-4, atol=1e-6)
    # Gradient against a float64 finite difference of the numpy reference, at a few entries.
    eps = 1e-3
    for index in [(0, 0, 0, 0), (1, 4, 3, 12), (0, 2, 1, 6)]:
        plus, minus = a.astype("float64"), a.astype("float64")
        plus[index] += eps
        minus[index] -= eps
        w = weights.numpy().astype("float64")
        numeric = (np.sum(_lrn_case_reference(plus, case) * w) - np.sum(_lrn_case_reference(minus, case) * w)) / (2 * eps)
        np.testing.assert_allclose(g_portable[index], numeric, rtol=1e-3, atol=1e-5)


def test_lrn_other_ranks_and_dtypes_use_the_keras_ops_path():
    from kerasnets.layers import _tf_lrn_applies

    a = np.random.default_rng(5).normal(0, 20, (3, 6, 9)).astype("float64")  # 3-D, float64
    assert not _tf_lrn_applies(a)
    got = np.asarray(LocalResponseNormalization(dtype="float64")(a))
    np.testing.assert_allclose(got, _lrn_reference(a, 5, 2.0, 1e-4, 0.75), rtol=1e-10)


def test_lrn_keras_ops_path_on_jax_matches_numpy_with_gradients():
    import json
    import os
    import subprocess
    import sys

    pytest.importorskip("jax")
    code = """
import json, numpy as np, jax, jax.numpy as jnp
import keras
from kerasnets.layers import LocalResponseNormalization
assert keras.backend.backend() == "jax"
layer = LocalResponseNormalization()
a = np.random.default_rng(0).normal(0, 20, (2, 3, 3, 11)).astype("float32")
y = np.asarray(layer(a))
g = np.asarray(jax.grad(lambda t: jnp.sum(layer(t)))(jnp.asarray(a)))
print(json.dumps({"y": y.tolist(), "g": g.tolist()}))
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    a = np.random.default_rng(0).normal(0, 20, (2, 3, 3, 11)).astype("float32")
    np.testing.assert_allclose(out["y"], _lrn_reference(a, 5, 2.0, 1e-4, 0.75), rtol=2e-5)
    import tensorflow as tf

    x = tf.constant(a)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(LocalResponseNormalization()(x))
    np.testing.assert_allclose(out["g"], tape.gradient(loss, x).numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("groups, strides, padding", [(2, 1, "same"), (4, 2, "valid"), (1, 1, "same")])
def test_grouped_conv2d_equals_keras_grouped_conv_in_values_and_gradients(groups, strides, padding):
    import tensorflow as tf

    from kerasnets.layers import GroupedConv2D

    shape = (2, 9, 9, 8)
    ours = GroupedConv2D(12, 3, strides=strides, padding=padding, groups=groups, activation="relu")
    theirs = keras.layers.Conv2D(12, 3, strides=strides, padding=padding, groups=groups, activation="relu")
    ours.build(shape)
    theirs.build(shape)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    x = tf.constant(np.random.default_rng(6).normal(size=shape).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, b = ours(x), theirs(x)
        la, lb = tf.reduce_sum(a * a), tf.reduce_sum(b * b)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    for ga, gb in zip(tape.gradient(la, [x, *ours.trainable_weights]), tape.gradient(lb, [x, *theirs.trainable_weights])):
        np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-4, atol=1e-4)
    again = GroupedConv2D.from_config(ours.get_config())
    assert again.get_config() == ours.get_config() and again.groups == groups


def test_lrn_rejects_even_size():
    with pytest.raises(ValueError, match=r"odd integer.*Received: size=4"):
        LocalResponseNormalization(size=4)


def test_crelu_doubles_channels():
    x = np.array([[[[1.0, -2.0]]]], "float32")
    np.testing.assert_array_equal(np.asarray(CReLU()(x)), [[[[1.0, 0.0, 0.0, 2.0]]]])


def test_maxout_groups_adjacent_channels():
    x = np.array([[[[1.0, 5.0, -1.0, -3.0, 2.0, 2.5]]]], "float32")
    np.testing.assert_array_equal(np.asarray(Maxout(pieces=2)(x)), [[[[5.0, -1.0, 2.5]]]])
    np.testing.assert_array_equal(np.asarray(Maxout(pieces=3)(x)), [[[[5.0, 2.5]]]])
    with pytest.raises(ValueError, match=r"divisible by pieces=4"):
        Maxout(pieces=4)(x)


def test_zero_pad_channels_subsamples_and_pads():
    x = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    y = np.asarray(ZeroPadChannels(channels=5, stride=2)(x))
    assert y.shape == (2, 2, 2, 5)
    np.testing.assert_array_equal(y[..., :3], x[:, ::2, ::2, :])
    assert not y[..., 3:].any()


@pytest.mark.parametrize(
    "layer",
    [LocalResponseNormalization(size=3, k=1.0), CReLU(), Maxout(pieces=3), ZeroPadChannels(channels=8, stride=2)],
)
def test_config_roundtrip(layer):
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    ser = keras.saving.serialize_keras_object(layer)
    assert ser["registered_name"] == f"kerasnets>{layer.__class__.__name__}"
    assert keras.saving.deserialize_keras_object(ser).get_config() == config
