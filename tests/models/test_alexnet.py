"""AlexNet's options: the two towers, the padded 224 and unpadded 227 inputs, LRN, dropout."""

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.layers import GroupedConv2D
from keras_session import clear_keras_session  # noqa: F401 (autouse: clears the session after each test)
from plain_conv_form import plain_conv_form

CONVS = ("conv1", "conv2", "conv3", "conv4", "conv5")


def test_two_and_one_tower_counts():
    assert kerasnets.alexnet().count_params() == 60_965_224
    assert kerasnets.alexnet(towers=1).count_params() == 62_378_344


def test_towers_group_conv2_conv4_conv5_only():
    model = kerasnets.alexnet(include_top=False)
    assert [model.get_layer(n).groups for n in CONVS] == [1, 2, 1, 2, 2]
    # The grouped ones are GroupedConv2D (TF's CPU kernels run Conv2D(groups=2) several times slower).
    assert [type(model.get_layer(n)) for n in CONVS] == [
        keras.layers.Conv2D, GroupedConv2D, keras.layers.Conv2D, GroupedConv2D, GroupedConv2D
    ]
    one = kerasnets.alexnet(include_top=False, towers=1)
    assert [type(one.get_layer(n)) for n in CONVS] == [keras.layers.Conv2D] * 5
    assert [one.get_layer(n).groups for n in CONVS] == [1] * 5


def test_grouped_layers_compute_what_conv2d_groups_2_computes():
    model = kerasnets.alexnet(include_top=False, input_shape=(64, 64, 3))
    old = plain_conv_form(model)
    assert [type(old.get_layer(n)) for n in CONVS] == [keras.layers.Conv2D] * 5
    assert old.count_params() == model.count_params()
    for name in CONVS:
        assert old.get_layer(name).kernel.shape == model.get_layer(name).kernel.shape
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    want = old.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_keras_file_roundtrip_keeps_grouped_layers(tmp_path):
    model = kerasnets.alexnet(include_top=False, input_shape=(64, 64, 3))
    model.save(tmp_path / "alexnet.keras")
    again = keras.saving.load_model(tmp_path / "alexnet.keras")
    assert [type(again.get_layer(n)) for n in ("conv2", "conv4", "conv5")] == [GroupedConv2D] * 3
    assert again.get_layer("conv4").groups == 2
    x = np.random.default_rng(1).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_padded_224_and_unpadded_227_give_conv1_55x55():
    padded = kerasnets.alexnet(include_top=False)
    assert padded.get_layer("conv1_pad").output.shape == (None, 228, 228, 3)
    assert padded.get_layer("conv1").output.shape == (None, 55, 55, 96)
    unpadded = kerasnets.alexnet(include_top=False, padded=False)
    assert unpadded.input.shape == (None, 227, 227, 3)
    assert unpadded.get_layer("conv1").output.shape == (None, 55, 55, 96)
    assert "conv1_pad" not in [layer.name for layer in unpadded.layers]
    with pytest.raises(ValueError, match=r"needs input_shape \(227, 227, 3\).*Received: input_shape=\(224, 224, 3\)"):
        kerasnets.alexnet(padded=False, input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match=r"at least 67.*Received: input_shape=\(64, 64, 3\)"):
        kerasnets.alexnet(padded=False, include_top=False, input_shape=(64, 64, 3))


def test_lrn_and_dropout_options():
    names = [layer.name for layer in kerasnets.alexnet(lrn=False, include_top=False).layers]
    assert "lrn1" not in names and "lrn2" not in names
    model = kerasnets.alexnet(dropout=0.3, classes=10)
    assert model.get_layer("drop6").rate == model.get_layer("drop7").rate == 0.3
    assert model.output.shape == (None, 10)


def test_stage_features_and_pooling():
    model = kerasnets.alexnet(include_top=False, input_shape=(96, 96, 3), pooling="max")
    assert model.output.shape == (None, 256)
    for info in kerasnets.get_spec("alexnet").features:
        assert model.get_layer(info.layer).output.shape[-1] == info.channels
    assert kerasnets.get_spec("alexnet").preprocessing == "caffe"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(towers=3), ValueError, r"`towers` must be one of 1, 2. Received: towers=3"),
        (dict(padded=1), TypeError, r"`padded` must be True or False. Received: padded=1"),
        (dict(dropout=1.5), ValueError, r"`dropout` must be a number in \[0, 1\). Received: dropout=1.5"),
        (dict(dropout="half"), TypeError, r"Received: dropout='half'"),
    ],
)
def test_bad_options_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        kerasnets.alexnet(**kwargs)
