"""Network in Network: the CIFAR and ImageNet configurations, the class maps, activations."""

import keras
import pytest

import kerasnets
from keras_session import clear_keras_session  # noqa: F401 (autouse: clears the session after each test)


def test_counts_and_the_classifier_is_a_1x1_convolution():
    model = kerasnets.nin_cifar()
    assert model.count_params() == 966_986
    assert model.get_layer("block3_mlp2").output.shape == (None, 8, 8, 10)
    assert model.output.shape == (None, 10)
    assert not any(isinstance(layer, keras.layers.Dense) for layer in model.layers)


def test_imagenet_nin_shapes():
    model = kerasnets.nin(include_top=False)
    # 224 -> conv1 11/4 "valid" 54 -> pool1 3/2 26 -> pool2 12 -> pool3 5 (the authors' valid pools)
    assert model.get_layer("pool3").output.shape == (None, 5, 5, 384)
    assert "block4_mlp2" not in [layer.name for layer in model.layers]  # the class maps are left out
    assert model.output.shape[-1] == 1024


def test_width_changing_activation_keeps_one_map_per_class():
    model = kerasnets.nin_cifar(activation="crelu", classes=7)
    assert model.get_layer("block3_mlp2_act").output.shape[-1] == 7
    assert model.get_layer("block1_conv_act").output.shape[-1] == 384


def test_dynamic_input_size_without_top():
    model = kerasnets.nin_cifar(include_top=False, input_shape=(None, None, 3), pooling="avg")
    assert model.output.shape == (None, 192)


def test_registry_records():
    assert kerasnets.get_spec("nin_cifar").default_classes == 10
    assert kerasnets.get_spec("nin").min_size == 67
    with pytest.raises(ValueError, match=r"too small for nin: .*at least 67"):
        kerasnets.nin(include_top=False, input_shape=(64, 64, 3))
