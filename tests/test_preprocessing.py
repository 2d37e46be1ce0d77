"""kerasnets.preprocessing.preprocess_input: keras.applications' modes, plus None/"scale", checked."""

import keras
import numpy as np
import pytest

from kerasnets.preprocessing import MODES, preprocess_input


@pytest.mark.parametrize("mode", ["tf", "torch", "caffe"])
def test_numpy_modes_are_keras_preprocess_input(mode):
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    ref = keras.applications.imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_array_equal(preprocess_input(x, mode), ref)


@pytest.mark.parametrize("mode", list(MODES))
def test_tensor_input_and_the_input_is_never_modified(mode):
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 3, 3)).astype("float32")
    kept = x.copy()
    from_numpy = preprocess_input(x, mode)
    np.testing.assert_array_equal(x, kept)
    from_tensor = keras.ops.convert_to_numpy(preprocess_input(keras.ops.convert_to_tensor(x), mode))
    np.testing.assert_allclose(from_numpy, from_tensor, rtol=1e-6, atol=1e-5)


def test_integer_images_become_floats_and_known_values():
    x = np.array([[[[0, 128, 255]]]], dtype="uint8")
    assert preprocess_input(x, None).dtype == np.float32
    np.testing.assert_allclose(preprocess_input(x, "scale")[0, 0, 0], [0, 128 / 255, 1], atol=1e-6)
    np.testing.assert_allclose(preprocess_input(x, "tf")[0, 0, 0], [-1, 128 / 127.5 - 1, 1], atol=1e-6)
    np.testing.assert_allclose(preprocess_input(x, "caffe")[0, 0, 0], [255 - 103.939, 128 - 116.779, -123.68], atol=1e-4)
    torch = (np.array([0, 128, 255]) / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(preprocess_input(x, "torch")[0, 0, 0], torch, rtol=1e-5)


def test_channels_first():
    x = np.random.default_rng(2).uniform(0, 255, (1, 3, 4, 4)).astype("float32")
    last = preprocess_input(np.moveaxis(x, 1, -1), "caffe")
    first = preprocess_input(x, "caffe", data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"mode": "imagenet"}, r"`mode` must be one of None, 'scale', 'tf', 'torch', 'caffe'. Received: mode='imagenet'"),
        ({"mode": 3}, r"Received: mode=3"),
        ({"mode": "torch", "x": np.zeros((1, 4, 4, 1))}, r"normalises RGB images; the input has 1 channel"),
        ({"mode": "caffe", "x": np.zeros((1, 4, 4, 4))}, r"has 4 channel\(s\).*Received: mode='caffe'"),
        ({"mode": "tf", "data_format": "nhwc"}, r"Received: data_format='nhwc'"),
        ({"mode": "tf", "x": np.zeros((4, 4))}, r"Received: x.shape=\(4, 4\)"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, pattern):
    x = kwargs.pop("x", np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match=pattern):
        preprocess_input(x, **kwargs)
