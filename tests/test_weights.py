"""Weights files: interchange with keras.applications, and errors that name the layer."""

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets._weights import _LAYOUT_ALIASES, weight_paths
from plain_conv_form import plain_conv_form

SMALL = dict(include_top=False, input_shape=(64, 64, 3))  # AlexNet's convolutions, small maps


@pytest.mark.parametrize("ours, theirs", [("vgg16", "VGG16"), ("vgg19", "VGG19")])
def test_keras_applications_vgg_weights_load_and_agree(ours, theirs, tmp_path):
    shape = (64, 64, 3)
    ref = getattr(keras.applications, theirs)(weights=None, include_top=False, input_shape=shape)
    path = tmp_path / f"{theirs}.weights.h5"
    ref.save_weights(path)
    model = kerasnets.get_model(ours, include_top=False, input_shape=shape, weights=str(path))
    x = np.random.default_rng(0).uniform(0, 255, (2,) + shape).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("towers", [1, 2])
def test_weight_paths_match_what_keras_writes(towers, tmp_path):
    import h5py

    model = kerasnets.alexnet(include_top=False, input_shape=(67, 67, 3), towers=towers)
    path = tmp_path / "a.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        for key, layer, shapes in weight_paths(model):
            assert [f[f"{key}/vars/{i}"].shape for i in range(len(shapes))] == shapes, layer.name


def test_aliased_weight_paths_are_the_plain_conv2d_layout():
    model = kerasnets.alexnet(**SMALL)
    keys = [key for key, _, _ in weight_paths(model)]
    assert keys == ["layers/conv2d", "layers/grouped_conv2d", "layers/conv2d_1",
                    "layers/grouped_conv2d_1", "layers/grouped_conv2d_2"]
    old_keys = [key for key, _, _ in weight_paths(plain_conv_form(model))]
    assert old_keys == [f"layers/conv2d{suffix}" for suffix in ("", "_1", "_2", "_3", "_4")]
    assert [key for key, _, _ in weight_paths(model, aliases=_LAYOUT_ALIASES)] == old_keys


@pytest.mark.parametrize("form", ["Conv2D(groups=2), before GroupedConv2D", "GroupedConv2D"])
def test_alexnet_files_of_both_layer_classes_load(form, tmp_path):
    source = kerasnets.alexnet(**SMALL)
    if form.startswith("Conv2D"):
        source = plain_conv_form(source)
    path = tmp_path / "alexnet.weights.h5"
    source.save_weights(path)
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    want = source.predict(x, verbose=0)
    keras.utils.set_random_seed(1)  # other initial weights than the source's
    built = kerasnets.alexnet(**SMALL, weights=str(path))
    fresh = kerasnets.alexnet(**SMALL)
    assert not np.allclose(fresh.get_layer("conv4").kernel, source.get_layer("conv4").kernel)
    loaded = kerasnets.load_weights(fresh, path)
    for model in (built, loaded):
        for name in ("conv2", "conv3", "conv4", "conv5"):
            np.testing.assert_array_equal(model.get_layer(name).kernel, source.get_layer(name).kernel)
        np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_one_tower_file_in_two_tower_alexnet_names_conv2_shapes(tmp_path):
    path = tmp_path / "one_tower.weights.h5"
    kerasnets.alexnet(**SMALL, towers=1).save_weights(path)
    with pytest.raises(ValueError, match=r"first mismatching layer is 'conv2' \(GroupedConv2D\).*\(5, 5, 48, 256\).*"
                       r"\(5, 5, 96, 256\), \(256,\)\] at 'layers/conv2d_1'. Received: weights="):
        kerasnets.alexnet(**SMALL, weights=str(path))


def test_other_model_file_in_alexnet_names_first_mismatching_layer(tmp_path):
    path = tmp_path / "nin.weights.h5"
    kerasnets.nin_cifar().save_weights(path)
    with pytest.raises(ValueError, match=r"model 'alexnet': its first mismatching layer is 'conv1' \(Conv2D\).*"
                       r"\(11, 11, 3, 96\).*\(5, 5, 3, 192\), \(192,\)\] at 'layers/conv2d'. Received: weights="):
        kerasnets.alexnet(**SMALL, weights=str(path))


def test_old_layout_file_with_nan_names_the_variable(tmp_path):
    import h5py

    path = tmp_path / "old.weights.h5"
    plain_conv_form(kerasnets.alexnet(**SMALL)).save_weights(path)
    with h5py.File(path, "r+") as handle:  # conv4's kernel: the fourth Conv2D of the old layout
        kernel = handle["layers/conv2d_3/vars/0"][()]
        kernel.flat[5] = np.nan
        handle["layers/conv2d_3/vars/0"][...] = kernel
    with pytest.raises(ValueError, match=r"non-finite values: variable 'conv4/kernel' of layer 'conv4' "
                       r"\(GroupedConv2D, 'layers/conv2d_3/vars/0'\) has 1 NaN of its 663,552 values"):
        kerasnets.alexnet(**SMALL, weights=str(path))


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
