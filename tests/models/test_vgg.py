"""VGG: the six configurations of Table 1, the dense-evaluation form, dropout."""

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.models.vgg import CONFIGS
from keras_session import clear_keras_session  # noqa: F401 (autouse: clears the session after each test)


def _convs(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


@pytest.mark.parametrize("name, convs", [("vgg11", 8), ("vgg11_lrn", 8), ("vgg13", 10), ("vgg16_c", 13), ("vgg16", 13), ("vgg19", 16)])
def test_each_configuration_has_its_weight_layers(name, convs):
    model = kerasnets.get_model(name, include_top=False, input_shape=(32, 32, 3))
    assert len(_convs(model)) == convs == sum(len(b) for b in CONFIGS[name].blocks)
    assert model.output.shape == (None, 1, 1, 512)


def test_lrn_only_in_a_lrn_and_1x1_only_in_c():
    lrn = kerasnets.vgg11_lrn(include_top=False, input_shape=(32, 32, 3))
    assert lrn.get_layer("lrn1").input.shape[-1] == 64
    c = kerasnets.vgg16_c(include_top=False, input_shape=(32, 32, 3))
    assert [layer.name for layer in _convs(c) if layer.kernel_size == (1, 1)] == ["conv3_3", "conv4_3", "conv5_3"]


def test_fully_convolutional_has_the_dense_parameters_and_any_size():
    dense = kerasnets.vgg11(classes=5)
    fcn = kerasnets.vgg11(fully_convolutional=True, classes=5, input_shape=(256, 256, 3))
    assert fcn.count_params() == dense.count_params()
    assert fcn.get_layer("fc8").output.shape == (None, 2, 2, 5)
    assert fcn.output.shape == (None, 5)
    out = fcn.predict(np.zeros((1, 256, 256, 3), "float32"), verbose=0)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-5)


def test_fixed_head_needs_default_size():
    with pytest.raises(ValueError, match=r"include_top=True.*needs input_shape \(224, 224, 3\)"):
        kerasnets.vgg11(input_shape=(160, 160, 3))


def test_dropout_option():
    model = kerasnets.vgg11(dropout=0.2, classes=3)
    assert model.get_layer("drop6").rate == model.get_layer("drop7").rate == 0.2
    with pytest.raises(ValueError, match=r"`dropout` must be a number in \[0, 1\). Received: dropout=1"):
        kerasnets.vgg11(dropout=1)


def test_registry_record():
    spec = kerasnets.get_spec("vgg16")
    assert spec.fixed_size and spec.preprocessing == "caffe"
    assert [f.layer for f in spec.features] == ["pool1", "pool2", "pool3", "pool4", "pool5"]


def test_batch_norm_option_is_torchvisions_vgg_bn_count():
    # torchvision vgg16_bn: 138,365,992 = vgg16's 138,357,544 + gamma and beta of the 4,224
    # convolution channels (64*2 + 128*2 + 256*3 + 512*6); the moving statistics are not trainable.
    model = kerasnets.vgg16(batch_norm=True)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 138_357_544 + 2 * 4224 == 138_365_992
    assert [l.name for l in model.layers][1:5] == ["conv1_1", "conv1_1_bn", "conv1_1_act", "conv1_2"]
    with pytest.raises(TypeError, match=r"batch_norm"):
        kerasnets.vgg11(batch_norm="yes")
