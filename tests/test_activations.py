"""Pluggable activations: every activation builds and trains on one small model per family,
parameter counts follow the documented channel rules (CReLU doubles the next layer's inputs,
Maxout halves them), and the DynamicReLU layer (DY-ReLU-B) works and serializes."""

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.layers import DynamicReLU
from kerasnets.models import densenet as D
from kerasnets.models import resnet as R
from kerasnets.counting import count
from keras_session import clear_keras_session  # noqa: F401 (autouse: clears the session after each test)

TRAINED = ["relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "swish", "mish", "crelu", "maxout", "dynamic_relu"]
# channels out / channels in of each activation
MULT = {"crelu": 2.0, "maxout": 0.5}


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _act_params(activation, channels):
    """Parameters one activation layer adds for `channels` inputs."""
    if activation == "prelu":
        return channels  # one slope per channel (shared over height and width)
    if activation == "dynamic_relu":
        hidden = channels // 4
        return channels * hidden + hidden + hidden * 4 * channels + 4 * channels
    return 0


def _expected_resnet20(activation, classes=10):
    """Hand count of resnet20 (option A) under the documented rules for width-changing activations."""
    mult = MULT.get(activation, 1.0)
    total = 3 * 3 * 3 * 16 + 2 * 16 + _act_params(activation, 16)
    stream = int(16 * mult)  # the stem's activation output feeds the first shortcut
    for stage, width in enumerate((16, 32, 64)):
        for _ in range(3):
            total += 9 * stream * width + 2 * width + _act_params(activation, width)
            total += 9 * int(width * mult) * width + 2 * width
            if stream > width:  # zero-padding cannot drop channels: a projection
                total += stream * width + 2 * width
            # (a narrower stream or a stride: option A's zero-padded, subsampled identity, no parameters)
            total += _act_params(activation, width)  # the block's output activation
            stream = int(width * mult)
    return total + stream * classes + classes


def _tiny_densenet(activation, classes=3):
    config = D.DenseNetConfig(growth_rate=4, block_layers=(2, 2), stem="cifar", stem_width=8)
    common = dict(include_top=True, weights=None, input_tensor=None, input_shape=(16, 16, 3), pooling=None,
                  classes=classes, classifier_activation="softmax", activation=activation, name="tiny_densenet")
    return D._build(kerasnets.get_spec("densenet_bc_100"), config, common, keras_compatible=False, dropout=0.0)


def _expected_tiny_densenet(activation, classes=3):
    mult = MULT.get(activation, 1.0)
    total, m = 3 * 3 * 3 * 8, 8
    for block in range(2):
        for _ in range(2):
            total += 2 * m + _act_params(activation, m) + int(m * mult) * 16  # BN, act, 1x1 to 4k
            total += 2 * 16 + _act_params(activation, 16) + 9 * int(16 * mult) * 4  # BN, act, 3x3 to k
            m += 4
        if block == 0:
            total += 2 * m + _act_params(activation, m) + int(m * mult) * (m // 2)
            m //= 2
    total += 2 * m + _act_params(activation, m)
    return total + int(m * mult) * classes + classes


def _tiny_preact(activation):
    config = R.ResNetConfig(block="bottleneck", depths=(1, 2), widths=(4, 8), strides=(1, 2), stem="cifar",
                            stem_width=8, preact=True, downsample_in_3x3=True)
    common = dict(include_top=True, weights=None, input_tensor=None, input_shape=(8, 8, 3), pooling=None,
                  classes=3, classifier_activation="softmax", activation=activation, name="tiny_preact")
    return R._build(kerasnets.get_spec("resnet1001"), config, common, shortcut=None, keras_compatible=False,
                    downsample_in_3x3=None)


def _fits(model, size, channels=3, learning_rate=3e-3, inference_loss=False):
    """Three training steps on one batch lower the loss.

    BN models compare the training-mode losses of the steps (after three steps the moving
    statistics are still mostly their initial values). Models with dropout and no BN (NiN,
    LeNet) compare the inference-mode loss before and after, free of dropout's noise, with
    SGD (Adam's sign-like first steps overshoot on NiN without BN, e.g. with SELU).
    """
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, size, size, channels)).astype("float32")
    y = np.arange(4) % 3
    # Eager steps: tracing a graph per activation would cost more than the steps themselves. One
    # batch per step: train_on_batch gives the loss fit's history would (one batch an epoch)
    # without fit's per-call set-up, which costs more than these steps (resnet20: 1.4 vs 2.4 s).
    optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9) if inference_loss else keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", run_eagerly=True)
    before = float(model.test_on_batch(x, y)) if inference_loss else None
    losses = [float(model.train_on_batch(x, y)) for _ in range(3)]
    if inference_loss:
        losses = [before, float(model.test_on_batch(x, y))]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


@pytest.mark.parametrize("activation", TRAINED)
def test_resnet20_builds_counts_and_trains(activation):
    # 16x16 inputs: the parameter count does not depend on the size, and training is 4x cheaper
    model = kerasnets.resnet20(classes=3, activation=activation, input_shape=(16, 16, 3))
    assert _trainable(model) == _expected_resnet20(activation, classes=3)
    assert count(model).params == model.count_params()
    _fits(model, 16)


@pytest.mark.parametrize("activation", TRAINED)
def test_densenet_builds_counts_and_trains(activation):
    model = _tiny_densenet(activation)
    assert _trainable(model) == _expected_tiny_densenet(activation)
    _fits(model, 16)


@pytest.mark.parametrize("activation", TRAINED)
def test_lead_families_build_and_train(activation):
    for model, size, channels in ((kerasnets.nin_cifar(classes=3, activation=activation, input_shape=(16, 16, 3)), 16, 3),
                                  (kerasnets.lenet5(classes=3, activation=activation), 32, 1)):
        assert model.output.shape == (None, 3)  # one class map per class, whatever the activation
        _fits(model, size, channels, learning_rate=3e-3, inference_loss=True)


def test_counts_without_activation_parameters_match_paper_figures():
    assert _expected_resnet20("relu") == 269_722 == kerasnets.get_spec("resnet20").ref_params


def test_crelu_doubles_and_maxout_halves_the_next_convolution_inputs():
    crelu = kerasnets.resnet20(activation="crelu", input_shape=(16, 16, 3), include_top=False)
    maxout = kerasnets.resnet20(activation="maxout", input_shape=(16, 16, 3), include_top=False)
    for model, stream in ((crelu, 32), (maxout, 8)):
        assert model.get_layer("conv2_block1_1_conv").kernel.shape[2] == stream  # stem act output
        assert model.get_layer("conv2_block1_2_conv").kernel.shape[2] == stream
    # crelu: the wider stream is projected onto the branch width; maxout: zero-padded back up
    assert crelu.get_layer("conv2_block1_0_conv").kernel.shape[2:] == (32, 16)
    assert isinstance(maxout.get_layer("conv2_block1_0_pad"), kerasnets.layers.ZeroPadChannels)
    assert crelu.output.shape[-1] == 128 and maxout.output.shape[-1] == 32
    four_pieces = kerasnets.resnet20(activation=("maxout", {"pieces": 4}), input_shape=(16, 16, 3), include_top=False)
    assert four_pieces.output.shape[-1] == 16


@pytest.mark.parametrize("activation", ["crelu", "maxout"])
def test_pre_activation_stream_keeps_its_width(activation):
    model = _tiny_preact(activation)
    mult = MULT[activation]
    # the residual stream (Adds) keeps the configured width; convolutions after an act see it changed
    assert model.get_layer("conv2_block1_out").output.shape[-1] == 16
    assert model.get_layer("conv3_block2_out").output.shape[-1] == 32
    assert model.get_layer("conv3_block2_1_conv").kernel.shape[2] == int(32 * mult)
    assert model.get_layer("conv3_block1_0_conv").kernel.shape[2] == int(16 * mult)  # projection of preact
    _fits(model, 8)


def test_swish_and_silu_are_the_same_function():
    a = kerasnets.resnet20(activation="swish", input_shape=(8, 8, 3), include_top=False)
    b = kerasnets.resnet20(activation="silu", input_shape=(8, 8, 3), include_top=False)
    b.set_weights(a.get_weights())
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(a(x)), np.asarray(b(x)), rtol=1e-6)


def test_activation_options_pass_through():
    model = kerasnets.resnet20(activation=("leaky_relu", {"negative_slope": 0.2}), input_shape=(8, 8, 3))
    assert model.get_layer("conv1_act").negative_slope == pytest.approx(0.2)
    model = kerasnets.resnet20(activation=("dynamic_relu", {"reduction": 8}), input_shape=(8, 8, 3))
    assert model.get_layer("conv4_block3_out").reduction == 8


# --------------------------------------------------------------------------------------------
# DynamicReLU


def _numpy_dy_relu(x, layer):
    w1, b1, w2, b2 = (np.asarray(v) for v in (layer.fc1_kernel, layer.fc1_bias, layer.fc2_kernel, layer.fc2_bias))
    context = x.mean(axis=(1, 2))
    hidden = np.maximum(context @ w1 + b1, 0)
    delta = 2 / (1 + np.exp(-(hidden @ w2 + b2))) - 1
    k, c = layer.pieces, x.shape[-1]
    delta = delta.reshape(x.shape[0], 1, 1, c, 2 * k)
    slopes = np.array([1.0] + [0.0] * (k - 1)) + layer.lambda_a * delta[..., :k]
    intercepts = layer.lambda_b * delta[..., k:]
    return (x[..., None] * slopes + intercepts).max(axis=-1)


def test_dynamic_relu_is_relu_at_initialisation_and_counts():
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 8)).astype("float32")
    layer = DynamicReLU()
    np.testing.assert_array_equal(np.asarray(layer(x)), np.maximum(x, 0))
    assert layer.count_params() == _act_params("dynamic_relu", 8) == 114


def test_dynamic_relu_matches_the_formula_with_trained_weights():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 4, 8)).astype("float32")
    layer = DynamicReLU(reduction=2, pieces=3)
    layer(x)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y, _numpy_dy_relu(x, layer), rtol=1e-5, atol=1e-5)
    assert not np.allclose(y, np.maximum(x, 0))  # input-dependent, no longer a plain ReLU
    assert DynamicReLU()(x[:, 0, 0, :]).shape == (3, 8)  # rank-2 inputs: the vector is the context


def test_dynamic_relu_serializes(tmp_path):
    inputs = keras.Input((4, 4, 8))
    outputs = DynamicReLU(reduction=2, lambda_b=0.25, name="dy")(inputs)
    model = keras.Model(inputs, outputs)
    layer = model.get_layer("dy")
    rng = np.random.default_rng(2)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    config = layer.get_config()
    assert DynamicReLU.from_config(config).get_config() == config
    path = tmp_path / "dy.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    x = rng.normal(size=(2, 4, 4, 8)).astype("float32")
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(model(x)), rtol=1e-6)
    assert restored.get_layer("dy").lambda_b == 0.25


def test_dynamic_relu_validation():
    with pytest.raises(ValueError, match=r"Received: reduction=0"):
        DynamicReLU(reduction=0)
    with pytest.raises(TypeError, match=r"Received: pieces=1\.5"):
        DynamicReLU(pieces=1.5)
    with pytest.raises(ValueError, match=r"Received: lambda_a=-1"):
        DynamicReLU(lambda_a=-1)
