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
