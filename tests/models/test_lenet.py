"""LeNet-5's options beyond the paper: widths, batch normalisation, dropout."""

import pytest

import kerasnets
from kerasnets.counting import count


def test_defaults_are_the_paper_layout():
    model = kerasnets.lenet5(input_shape=(28, 28, 1))
    assert model.count_params() == 61_706
    assert not any("bn" in layer.name or "dropout" in layer.name for layer in model.layers)


def test_wide_batch_norm_variant_counts_and_shapes():
    model = kerasnets.lenet5(input_shape=(28, 28, 1), form="modern", filters=(32, 64, 256), units=128,
                             batch_norm=True, dropout=0.2)
    # Hand count: C1 5*5*32 = 800 (no bias) + BN 4*32; C3 5*5*32*64 = 51,200 + BN 4*64;
    # C5 5*5*64*256 = 409,600 + BN 4*256; F6 256*128 = 32,768 + BN 4*128; output 128*10 + 10.
    expected = 800 + 128 + 51_200 + 256 + 409_600 + 1_024 + 32_768 + 512 + 1_290
    assert model.count_params() == expected == 497_578
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shapes["c1"] == (28, 28, 32) and shapes["s2"] == (14, 14, 32)
    assert shapes["c3"] == (10, 10, 64) and shapes["s4"] == (5, 5, 64) and shapes["c5"] == (1, 1, 256)
    assert shapes["f6"] == (128,)
    assert model.get_layer("c1").use_bias is False and model.get_layer("f6").use_bias is False
    assert model.get_layer("f6_dropout").rate == 0.2
    assert count(model).macs == 627_200 + 5_120_000 + 409_600 + 32_768 + 1_280


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(filters=(6, 16)), ValueError, r"`filters` must be three integers \(C1, C3, C5\). Received: filters=\(6, 16\)"),
        (dict(filters="6,16,120"), ValueError, r"Received: filters='6,16,120'"),
        (dict(filters=(6, 0, 120)), ValueError, r"`filters\[1\]` must be an integer >= 1. Received: filters\[1\]=0"),
        (dict(units=0), ValueError, r"`units` must be an integer >= 1. Received: units=0"),
        (dict(batch_norm="yes"), TypeError, r"`batch_norm` must be True or False. Received: batch_norm='yes'"),
        (dict(dropout=1.0), ValueError, r"Received: dropout=1.0"),
    ],
)
def test_bad_options_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        kerasnets.lenet5(**kwargs)


def test_mnist_path_pads_28_to_32():
    model = kerasnets.lenet5(input_shape=(28, 28, 1))
    assert model.get_layer("pad").output.shape == (None, 32, 32, 1)
    assert model.get_layer("c1").output.shape == (None, 28, 28, 6)
    assert model.count_params() == 61_706
    with pytest.raises(ValueError, match=r"at least 28"):
        kerasnets.lenet5(input_shape=(24, 24, 1))


def test_forms():
    classic = kerasnets.lenet5()
    modern = kerasnets.lenet5(form="modern")
    assert classic.get_layer("c1_act").activation.__name__ == "tanh"
    assert modern.get_layer("c1_act").activation.__name__ == "relu"
    assert type(classic.get_layer("s2")).__name__ == "AveragePooling2D"
    assert type(modern.get_layer("s2")).__name__ == "MaxPooling2D"
    assert kerasnets.lenet5(activation="elu").get_layer("c1_act").activation.__name__ == "elu"
    with pytest.raises(ValueError, match=r"`form` must be one of 'classic', 'modern'. Received: form='fancy'"):
        kerasnets.lenet5(form="fancy")
