"""Weights files: interchange with keras.applications, and errors that name the layer."""

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets._weights import weight_paths


@pytest.mark.parametrize("ours, theirs", [("vgg16", "VGG16"), ("vgg19", "VGG19")])
def test_keras_applications_vgg_weights_load_and_agree(ours, theirs, tmp_path):
    shape = (64, 64, 3)
    ref = getattr(keras.applications, theirs)(weights=None, include_top=False, input_shape=shape)
    path = tmp_path / f"{theirs}.weights.h5"
    ref.save_weights(path)
    model = kerasnets.get_model(ours, include_top=False, input_shape=shape, weights=str(path))
    x = np.random.default_rng(0).uniform(0, 255, (2,) + shape).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-4, atol=1e-4)


def test_weight_paths_match_what_keras_writes(tmp_path):
    import h5py

    model = kerasnets.alexnet(include_top=False, input_shape=(67, 67, 3), towers=1)
    path = tmp_path / "a.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        for key, layer, shapes in weight_paths(model):
            assert [f[f"{key}/vars/{i}"].shape for i in range(len(shapes))] == shapes, layer.name


def test_own_weights_roundtrip(tmp_path):
    model = kerasnets.lenet5()
    path = tmp_path / "lenet.weights.h5"
    model.save_weights(path)
    again = kerasnets.lenet5(weights=str(path))
    x = np.random.default_rng(0).uniform(0, 1, (3, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), again.predict(x, verbose=0), rtol=1e-6)


def test_wrong_architecture_names_first_mismatching_layer(tmp_path):
    path = tmp_path / "nin_cifar.weights.h5"
    kerasnets.nin_cifar().save_weights(path)
    with pytest.raises(ValueError, match=r"first mismatching layer is 'block1_mlp1' \(Conv2D\).*\(1, 1, 384, 160\).*Received: weights="):
        kerasnets.nin_cifar(activation="crelu", weights=str(path))


def test_wrong_channel_count_is_named(tmp_path):
    path = tmp_path / "lenet_rgb.weights.h5"
    kerasnets.lenet5(input_shape=(32, 32, 3)).save_weights(path)
    with pytest.raises(ValueError, match=r"saved for 3-channel inputs but model 'lenet5' takes 1 channels"):
        kerasnets.lenet5(weights=str(path))


def test_different_head_size_is_named(tmp_path):
    path = tmp_path / "lenet10.weights.h5"
    kerasnets.lenet5().save_weights(path)
    with pytest.raises(ValueError, match=r"'predictions' \(Dense\).*\(84, 5\).*\(84, 10\)"):
        kerasnets.lenet5(classes=5, weights=str(path))


def test_corrupt_file_is_reported(tmp_path):
    path = tmp_path / "broken.weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(ValueError, match=r"file is corrupt: it is HDF5 but could not be opened.*Received: weights="):
        kerasnets.lenet5(weights=str(path))


def test_truncated_file_is_reported(tmp_path):
    path = tmp_path / "lenet.weights.h5"
    kerasnets.lenet5().save_weights(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated: it has [\d,]+ of the [\d,]+ bytes.*Received: weights="):
        kerasnets.lenet5(weights=str(path))
