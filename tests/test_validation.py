"""One test per error path of the builders' argument checks (message matched by regex)."""

import keras
import pytest

import kerasnets


def test_weights_imagenet_says_no_download():
    with pytest.raises(ValueError, match=r"no pretrained-weight download.*Received: weights='imagenet'"):
        kerasnets.alexnet(weights="imagenet")


def test_weights_missing_file():
    with pytest.raises(ValueError, match=r"existing weights file.*Received: weights='nope.weights.h5'"):
        kerasnets.lenet5(weights="nope.weights.h5")


def test_weights_wrong_suffix(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("x")
    with pytest.raises(ValueError, match=r"ending in .weights.h5"):
        kerasnets.lenet5(weights=str(path))


def test_classes_not_positive():
    with pytest.raises(ValueError, match=r"`classes` must be an integer >= 1. Received: classes=0"):
        kerasnets.lenet5(classes=0)
    with pytest.raises(TypeError, match=r"Received: classes='10'"):
        kerasnets.lenet5(classes="10")


def test_pooling_choice():
    with pytest.raises(ValueError, match=r"`pooling` must be one of None, 'avg', 'max'. Received: pooling='mean'"):
        kerasnets.nin_cifar(include_top=False, pooling="mean")


def test_input_too_small_names_minimum():
    with pytest.raises(ValueError, match=r"too small for vgg16: height and width must be at least 32"):
        kerasnets.vgg16(include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"at least 63.*Received: input_shape=\(40, 40, 3\)"):
        kerasnets.alexnet(include_top=False, input_shape=(40, 40, 3))


def test_fixed_head_needs_default_size():
    with pytest.raises(ValueError, match=r"include_top=True.*needs input_shape \(224, 224, 3\)"):
        kerasnets.vgg11(input_shape=(160, 160, 3))
    # the dense-evaluation form lifts the constraint
    model = kerasnets.vgg11(fully_convolutional=True, input_shape=(256, 256, 3), classes=5)
    assert model.output.shape == (None, 5)


def test_input_shape_rank_and_channels():
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        kerasnets.lenet5(input_shape=(32, 32))
    with pytest.raises(ValueError, match=r"positive channel count"):
        kerasnets.lenet5(input_shape=(32, 32, 0))


def test_bad_family_options():
    with pytest.raises(ValueError, match=r"`towers` must be one of 1, 2. Received: towers=3"):
        kerasnets.alexnet(towers=3)
    with pytest.raises(ValueError, match=r"`form` must be one of 'classic', 'modern'"):
        kerasnets.lenet5(form="fancy")
    with pytest.raises(TypeError, match=r"`include_top` must be True or False. Received: include_top='yes'"):
        kerasnets.lenet5(include_top="yes")


def test_bad_activation():
    with pytest.raises(ValueError, match=r"`activation` must be one of .*Received: activation='rectifier'"):
        kerasnets.nin_cifar(activation="rectifier")


def test_bad_classifier_activation():
    with pytest.raises(ValueError, match=r"classifier_activation.*Received: classifier_activation='softer'"):
        kerasnets.nin_cifar(classifier_activation="softer")


def test_channels_first_refused():
    keras.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match=r"channels_last only"):
            kerasnets.lenet5()
    finally:
        keras.config.set_image_data_format("channels_last")


def test_lenet_mnist_path_pads_28_to_32():
    model = kerasnets.lenet5(input_shape=(28, 28, 1))
    assert model.get_layer("pad").output.shape == (None, 32, 32, 1)
    assert model.get_layer("c1").output.shape == (None, 28, 28, 6)
    assert model.count_params() == 61_706
    with pytest.raises(ValueError, match=r"at least 28"):
        kerasnets.lenet5(input_shape=(24, 24, 1))
