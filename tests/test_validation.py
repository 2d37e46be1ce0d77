"""One case per error path of the builders' argument checks (message matched by regex).

The wrong weights-file suffix and channels_first are checked, with the value in the message,
in tests/reliability/test_builders.py.
"""

import keras
import numpy as np
import pytest

import kerasnets

# (builder, kwargs, exception, the message as a regex)
CASES = [
    ("alexnet", dict(weights="imagenet"), ValueError,
     r"timm/resnet50\.tv_in1k.*list --pretrained.*Received: weights='imagenet'"),
    ("resnet50", dict(weights="timm/resnet50.tv"), ValueError,
     r"timm/resnet50\.tv_in1k.*Received: weights='timm/resnet50\.tv'"),
    ("resnet18", dict(weights="timm/resnet50.tv_in1k"), ValueError, r"are for `resnet50`, not `resnet18`"),
    ("resnet50", dict(weights="timm/resnet50.tv_in1k", downsample_in_3x3=False), ValueError,
     r"downsample_in_3x3=True.*Received: downsample_in_3x3=False"),
    ("lenet5", dict(weights="nope.weights.h5"), ValueError, r"existing weights file.*Received: weights='nope.weights.h5'"),
    ("lenet5", dict(classes=0), ValueError, r"`classes` must be an integer >= 1. Received: classes=0"),
    ("lenet5", dict(classes="10"), TypeError, r"Received: classes='10'"),
    ("nin_cifar", dict(include_top=False, pooling="mean"), ValueError,
     r"`pooling` must be one of None, 'avg', 'max'. Received: pooling='mean'"),
    ("vgg16", dict(include_top=False, input_shape=(16, 16, 3)), ValueError,
     r"too small for vgg16: height and width must be at least 32"),
    ("alexnet", dict(include_top=False, input_shape=(40, 40, 3)), ValueError,
     r"at least 63.*Received: input_shape=\(40, 40, 3\)"),
    ("lenet5", dict(input_shape=(32, 32)), ValueError, r"\(height, width, channels\)"),
    ("lenet5", dict(input_shape=(32, 32, 0)), ValueError, r"positive channel count"),
    ("lenet5", dict(input_shape=(28.7, 28, 1)), ValueError, r"must hold integers.*Received: input_shape=\(28.7, 28, 1\)"),
    ("lenet5", dict(include_top="yes"), TypeError, r"`include_top` must be True or False. Received: include_top='yes'"),
    ("nin_cifar", dict(activation="rectifier"), ValueError, r"`activation` must be one of .*Received: activation='rectifier'"),
    ("nin_cifar", dict(activation=("maxout", {"k": 3})), ValueError, r"'maxout' takes the options pieces; unknown: k"),
    ("nin_cifar", dict(classifier_activation="softer"), ValueError,
     r"classifier_activation.*Received: classifier_activation='softer'"),
]


@pytest.mark.parametrize(
    "builder, kwargs, error, message", CASES, ids=[f"{c[0]}-{'-'.join(c[1])}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_argument_is_refused_with_its_message(builder, kwargs, error, message):
    with pytest.raises(error, match=message):
        getattr(kerasnets, builder)(**kwargs)


def test_weights_folder_is_named_as_a_folder(tmp_path):
    with pytest.raises(ValueError, match=r"is a folder, not a file"):
        kerasnets.lenet5(weights=str(tmp_path))


def test_input_shape_of_numpy_integers_is_accepted():
    assert kerasnets.lenet5(input_shape=(np.int64(32), 32, 1)).input.shape == (None, 32, 32, 1)


def test_input_tensor_must_agree_with_input_shape():
    tensor = keras.Input(shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"must agree.*\(32, 32, 3\).*Received: input_shape=\(40, 40, 3\)"):
        kerasnets.nin_cifar(input_tensor=tensor, input_shape=(40, 40, 3))
    assert kerasnets.nin_cifar(input_tensor=tensor).inputs[0].shape == (None, 32, 32, 3)


def test_activation_options_reach_the_layer():
    assert kerasnets.nin_cifar(activation=("leaky_relu", {"negative_slope": 0.2})).get_layer(
        "block1_conv_act"
    ).negative_slope == pytest.approx(0.2)


def test_numbers_must_be_finite():
    from kerasnets.checks import check_positive_number

    for bad in (float("inf"), float("nan"), -1.0):
        with pytest.raises(ValueError, match=r"must be a finite number > 0. Received: lr="):
            check_positive_number("lr", bad)
    assert check_positive_number("lr", 0.1) == 0.1
