"""Inception-v4, Inception-ResNet-v1 and -v2: counts against timm / Keras / a hand count of the
figures, the 35/17/8 grids, Reduction-A's (k, l, m, n), residual scaling, Keras weights interchange
for Inception-ResNet-v2, training."""

import keras
import numpy as np
import pytest
from test_inception_common import shapes_at, train_losses, trainable

import kerasnets
from kerasnets.models.inception_v4 import CONFIGS, inception_resnet_v1, inception_resnet_v2, inception_v4

TIMM_INCEPTION_V4_PARAMS = 42_679_816  # timm / imgclsmob / Cadene inception_v4, 1000 classes
KERAS_IR_V2_PARAMS = 55_873_736  # keras.applications.InceptionResNetV2(weights=None).count_params()


def _hand_count_ir_v1():
    """Inception-ResNet-v1 from the paper's Figs. 10-14, without Keras (trainable parameters)."""

    def unit(c_in, c_out, kh, kw=None):  # conv without bias + BN beta
        return c_in * c_out * kh * (kh if kw is None else kw) + c_out

    total = unit(3, 32, 3) + unit(32, 32, 3) + unit(32, 64, 3) + unit(64, 80, 1) + unit(80, 192, 3) + unit(192, 256, 3)
    c = 256
    total += 5 * (unit(c, 32, 1) * 3 + unit(32, 32, 3) * 3 + 96 * c + c)
    total += unit(c, 384, 3) + unit(c, 192, 1) + unit(192, 192, 3) + unit(192, 256, 3)
    c = 896
    total += 10 * (unit(c, 128, 1) * 2 + unit(128, 128, 1, 7) + unit(128, 128, 7, 1) + 256 * c + c)
    total += 3 * unit(c, 256, 1) + unit(256, 384, 3) + unit(256, 256, 3) * 2 + unit(256, 256, 3)
    c = 1792
    total += 5 * (unit(c, 192, 1) * 2 + unit(192, 192, 1, 3) + unit(192, 192, 3, 1) + 384 * c + c)
    return total + c * 1000 + 1000


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    return {
        "inception_v4": inception_v4(input_shape=(None, None, 3)),
        "inception_resnet_v1": inception_resnet_v1(input_shape=(None, None, 3)),
        "inception_resnet_v2": inception_resnet_v2(input_shape=(None, None, 3)),
    }


def test_reference_counts(models):
    assert trainable(models["inception_v4"]) == TIMM_INCEPTION_V4_PARAMS
    assert trainable(models["inception_resnet_v1"]) == _hand_count_ir_v1() == 22_742_808
    assert models["inception_resnet_v2"].count_params() == KERAS_IR_V2_PARAMS
    for name, model in models.items():
        assert trainable(model) == kerasnets.get_spec(name).ref_params, name


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "inception_v4",
            {"mixed_3a": (73, 73, 160), "mixed_4a": (71, 71, 192), "mixed_5a": (35, 35, 384), "mixed_5e": (35, 35, 384),
             "mixed_6a": (17, 17, 1024), "mixed_6h": (17, 17, 1024), "mixed_7a": (8, 8, 1536), "mixed_7d": (8, 8, 1536)},
        ),
        (
            "inception_resnet_v1",
            {"conv4b_act": (35, 35, 256), "block35_5": (35, 35, 256), "mixed_6a": (17, 17, 896),
             "block17_10": (17, 17, 896), "mixed_7a": (8, 8, 1792), "block8_5": (8, 8, 1792)},
        ),
        (
            "inception_resnet_v2",
            {"mixed_5b": (35, 35, 320), "block35_10": (35, 35, 320), "mixed_6a": (17, 17, 1088),
             "block17_20": (17, 17, 1088), "mixed_7a": (8, 8, 2080), "block8_10": (8, 8, 2080), "conv7b_act": (8, 8, 1536)},
        ),
    ],
)
def test_grids_at_299(models, name, expected):
    assert shapes_at(models[name], list(expected), 299) == expected


def test_reduction_a_filters_and_block_counts(models):
    klmn = {"inception_v4": (192, 224, 256, 384), "inception_resnet_v1": (192, 192, 256, 384), "inception_resnet_v2": (256, 256, 384, 384)}
    for name, (k, l, m, n) in klmn.items():
        model = models[name]
        got = tuple(model.get_layer(f"mixed_6a_{layer}_conv").filters for layer in ("b1_1", "b1_2", "b1_3", "b0"))
        assert got == (k, l, m, n), name
        assert (CONFIGS[name].reduction_a.k, CONFIGS[name].reduction_a.n) == (k, n)
    names = {layer.name for layer in models["inception_v4"].layers}
    assert {"mixed_5e", "mixed_6h", "mixed_7d"} <= names and not names & {"mixed_5f", "mixed_6i", "mixed_7e"}
    names = {layer.name for layer in models["inception_resnet_v1"].layers}
    assert {"block35_5", "block17_10", "block8_5"} <= names and not names & {"block35_6", "block17_11", "block8_6"}


def test_residual_scaling_and_linear_projection(models):
    model = models["inception_resnet_v2"]
    assert model.get_layer("block35_1_scale").scale == pytest.approx(0.17)
    assert model.get_layer("block17_1_scale").scale == pytest.approx(0.10)
    assert model.get_layer("block8_1_scale").scale == pytest.approx(0.20)
    assert model.get_layer("block8_10_scale").scale == 1.0  # last block: unscaled, no ReLU
    assert isinstance(model.get_layer("block8_10"), keras.layers.Add)
    assert isinstance(model.get_layer("block8_9"), keras.layers.Activation)
    up = model.get_layer("block17_3_up_conv")
    assert up.use_bias and up.filters == 1088 and up.kernel_size == (1, 1)
    assert isinstance(model.get_layer("block17_3_scale"), keras.layers.Rescaling)
    # the block computes relu(x + 0.1 * up(concat)): check numerically on a small input
    probe = keras.Model(
        model.input,
        [model.get_layer("block17_2").output, model.get_layer("block17_3_up_conv").output, model.get_layer("block17_3").output],
    )
    x_in, up_out, y = (np.asarray(t) for t in probe(np.random.default_rng(0).uniform(-1, 1, (1, 75, 75, 3)).astype("float32")))
    np.testing.assert_allclose(y, np.maximum(x_in + 0.1 * up_out, 0), rtol=1e-5, atol=1e-5)


def test_inception_resnet_v2_loads_keras_applications_weights(models, tmp_path):
    keras.utils.set_random_seed(1)
    reference = keras.applications.InceptionResNetV2(weights=None, input_shape=(75, 75, 3))
    assert reference.count_params() == KERAS_IR_V2_PARAMS
    path = str(tmp_path / "keras_inception_resnet_v2.weights.h5")
    reference.save_weights(path)
    model = models["inception_resnet_v2"]
    kerasnets.load_weights(model, path)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    assert np.allclose(np.asarray(reference(x, training=False)), np.asarray(model(x, training=False)), atol=1e-6)


@pytest.mark.parametrize("name", ["inception_v4", "inception_resnet_v1", "inception_resnet_v2"])
def test_trains_at_minimum_size(models, name):
    losses = train_losses(models[name], size=75)
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


def test_activation_and_dropout_options():
    model = inception_resnet_v1(input_shape=(75, 75, 3), activation="elu", dropout=0.3, classes=7)
    assert model.get_layer("block35_1").get_config()["activation"] == "elu"
    assert model.get_layer("dropout").rate == 0.3 and model.output.shape == (None, 7)
    with pytest.raises(ValueError, match=r"`dropout` must be a number in \[0, 1\). Received: dropout=-0.1"):
        inception_v4(dropout=-0.1)
