"""Inception-v3: keras.applications count and weights interchange, 35/17/8 grids, the auxiliary
head, the label-smoothing loss value, training."""

import keras
import numpy as np
import pytest
from test_inception_common import shapes_at, train_losses, trainable

import kerasnets
from kerasnets.models.inception_v3 import compile_inception_v3, inception_v3, label_smoothing_loss

KERAS_INCEPTION_V3_PARAMS = 23_851_784  # keras.applications.InceptionV3(weights=None).count_params()


@pytest.fixture(scope="module")
def v3():
    keras.utils.set_random_seed(0)
    return inception_v3(input_shape=(None, None, 3))


def test_count_equals_keras_applications(v3):
    assert v3.count_params() == KERAS_INCEPTION_V3_PARAMS
    assert trainable(v3) == 23_817_352 == kerasnets.get_spec("inception_v3").ref_params
    # no convolution biases, BN without gamma: Keras's configuration
    assert not any(layer.use_bias for layer in v3.layers if isinstance(layer, keras.layers.Conv2D))
    assert not any(layer.scale for layer in v3.layers if isinstance(layer, keras.layers.BatchNormalization))


def test_grid_sizes_at_299(v3):
    names = ["conv1a_act", "conv2b_act", "pool3a", "conv4a_act", "pool5a", "mixed_5b", "mixed_5d", "mixed_6a", "mixed_6e", "mixed_7a", "mixed_7c"]
    assert shapes_at(v3, names, 299) == {
        "conv1a_act": (149, 149, 32),
        "conv2b_act": (147, 147, 64),
        "pool3a": (73, 73, 64),
        "conv4a_act": (71, 71, 192),
        "pool5a": (35, 35, 192),
        "mixed_5b": (35, 35, 256),
        "mixed_5d": (35, 35, 288),
        "mixed_6a": (17, 17, 768),
        "mixed_6e": (17, 17, 768),
        "mixed_7a": (8, 8, 1280),
        "mixed_7c": (8, 8, 2048),
    }
    # factorised 7x7 (Fig. 6) and expanded 8x8 outputs (Fig. 7)
    assert v3.get_layer("mixed_6b_b1_2_conv").kernel_size == (1, 7)
    assert v3.get_layer("mixed_6b_b1_3_conv").kernel_size == (7, 1)
    assert v3.get_layer("mixed_7b_b1_2a_conv").kernel_size == (1, 3)
    assert v3.get_layer("mixed_7b_b1_2b_conv").kernel_size == (3, 1)


def test_keras_applications_weights_load_and_give_same_outputs(v3, tmp_path):
    keras.utils.set_random_seed(1)
    reference = keras.applications.InceptionV3(weights=None, input_shape=(75, 75, 3))
    path = str(tmp_path / "keras_inception_v3.weights.h5")
    reference.save_weights(path)
    kerasnets.load_weights(v3, path)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    expected = reference(x, training=False)
    got = v3(x, training=False)
    assert np.allclose(np.asarray(expected), np.asarray(got), atol=1e-6)
    # and the conv kernels really came from the file (not a lucky default)
    kernels = [layer.kernel.numpy() for layer in reference.layers if isinstance(layer, keras.layers.Conv2D)]
    ours = [layer.kernel.numpy() for layer in v3.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(kernels) == len(ours) == 94 and all(np.array_equal(a, b) for a, b in zip(kernels, ours))


def test_aux_head_outputs_and_count():
    keras.utils.set_random_seed(0)
    model = inception_v3(aux_logits=True)
    assert [o.shape for o in model.outputs] == [(None, 1000), (None, 1000)]
    assert model.get_layer("aux_pool").input is model.get_layer("mixed_6e").output
    # 1x1 conv 128 + BN beta, 5x5 conv 768 + BN beta, FC 768 -> 1000 (torchvision's aux, 3,326,696,
    # also has BN gammas: 128 + 768 more)
    aux = 768 * 128 + 128 + 25 * 128 * 768 + 768 + 768 * 1000 + 1000
    assert trainable(model) - 23_817_352 == aux == 3_326_696 - 896
    small = inception_v3(aux_logits=True, classes=3, input_shape=(75, 75, 3))  # kernels clipped to the 3x3 map
    assert [o.shape for o in small.outputs] == [(None, 3), (None, 3)]
    assert small.get_layer("aux_conv2_conv").kernel_size == (1, 1)


def test_label_smoothing_value():
    loss = label_smoothing_loss()
    assert loss.epsilon == 0.1
    probs = np.array([[0.1, 0.2, 0.6, 0.1]], "float32")
    target = 0.9 * np.eye(4)[2] + 0.1 / 4
    expected = -np.sum(target * np.log(probs))
    assert float(loss(np.array([2]), probs)) == pytest.approx(expected, rel=1e-5)
    # 0.925 * -ln 0.6 + 0.025 * -(2 ln 0.1 + ln 0.2), vs -ln 0.6 = 0.5108 without smoothing
    assert expected == pytest.approx(0.6279, abs=1e-4)


def test_compile_with_label_smoothing_and_aux_weight():
    keras.utils.set_random_seed(0)
    model = inception_v3(aux_logits=True, classes=4, input_shape=(75, 75, 3))
    compile_inception_v3(model, optimizer="sgd", run_eagerly=True)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    y = np.array([1, 3])
    total = model.evaluate(x, (y, y), verbose=0, return_dict=True)["loss"]
    main, aux = (np.asarray(o) for o in model(x, training=False))
    smooth = 0.9 * np.eye(4)[y] + 0.025
    expected = np.mean(-np.sum(smooth * np.log(main), 1)) + 0.4 * np.mean(-np.sum(smooth * np.log(aux), 1))
    assert total == pytest.approx(expected, rel=1e-4)


def test_errors():
    with pytest.raises(ValueError, match=r"aux_logits=True.*Received: include_top=False"):
        inception_v3(aux_logits=True, include_top=False)
    with pytest.raises(ValueError, match=r"at least 75. Received: input_shape=\(64, 64, 3\)"):
        inception_v3(include_top=False, input_shape=(64, 64, 3))


def test_trains_at_minimum_size(v3):
    losses = train_losses(v3, size=75)
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
