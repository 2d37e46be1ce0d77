"""One test per error path of the builders' argument checks (message matched by regex)."""

import keras
import pytest

import kerasnets


def test_weights_imagenet_names_the_published_choices():
    with pytest.raises(ValueError, match=r"timm/resnet50\.tv_in1k.*list --pretrained.*Received: weights='imagenet'"):
        kerasnets.alexnet(weights="imagenet")


def test_weights_unknown_published_name_suggests_close_ones():
    with pytest.raises(ValueError, match=r"timm/resnet50\.tv_in1k.*Received: weights='timm/resnet50\.tv'"):
        kerasnets.resnet50(weights="timm/resnet50.tv")


def test_weights_published_name_for_another_model_is_refused():
    with pytest.raises(ValueError, match=r"are for `resnet50`, not `resnet18`"):
        kerasnets.resnet18(weights="timm/resnet50.tv_in1k")


def test_weights_published_name_refuses_a_conflicting_option():
    with pytest.raises(ValueError, match=r"downsample_in_3x3=True.*Received: downsample_in_3x3=False"):
        kerasnets.resnet50(weights="timm/resnet50.tv_in1k", downsample_in_3x3=False)


def test_weights_folder_is_named_as_a_folder(tmp_path):
    with pytest.raises(ValueError, match=r"is a folder, not a file"):
        kerasnets.lenet5(weights=str(tmp_path))


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


def test_input_shape_rank_and_channels():
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        kerasnets.lenet5(input_shape=(32, 32))
    with pytest.raises(ValueError, match=r"positive channel count"):
        kerasnets.lenet5(input_shape=(32, 32, 0))


def test_include_top_must_be_a_bool():
    with pytest.raises(TypeError, match=r"`include_top` must be True or False. Received: include_top='yes'"):
        kerasnets.lenet5(include_top="yes")


def test_input_shape_must_hold_integers():
    with pytest.raises(ValueError, match=r"must hold integers.*Received: input_shape=\(28.7, 28, 1\)"):
        kerasnets.lenet5(input_shape=(28.7, 28, 1))
    import numpy as np

    assert kerasnets.lenet5(input_shape=(np.int64(32), 32, 1)).input.shape == (None, 32, 32, 1)


def test_input_tensor_must_agree_with_input_shape():
    tensor = keras.Input(shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"must agree.*\(32, 32, 3\).*Received: input_shape=\(40, 40, 3\)"):
        kerasnets.nin_cifar(input_tensor=tensor, input_shape=(40, 40, 3))
    assert kerasnets.nin_cifar(input_tensor=tensor).inputs[0].shape == (None, 32, 32, 3)


def test_activation_options_must_be_known():
    with pytest.raises(ValueError, match=r"'maxout' takes the options pieces; unknown: k"):
        kerasnets.nin_cifar(activation=("maxout", {"k": 3}))
    assert kerasnets.nin_cifar(activation=("leaky_relu", {"negative_slope": 0.2})).get_layer(
        "block1_conv_act"
    ).negative_slope == pytest.approx(0.2)


def test_numbers_must_be_finite():
    from kerasnets.checks import check_positive_number

    for bad in (float("inf"), float("nan"), -1.0):
        with pytest.raises(ValueError, match=r"must be a finite number > 0. Received: lr="):
            check_positive_number("lr", bad)
    assert check_positive_number("lr", 0.1) == 0.1


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
