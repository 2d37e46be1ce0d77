"""GoogLeNet (Inception-v1) and BN-Inception: counts against Table 1 / references, shapes,
naive vs reduced module cost, auxiliary heads and the paper's loss weighting, training."""

import keras
import numpy as np
import pytest
from test_inception_common import conv_dense_macs, shapes_at, train_losses, trainable

from kerasnets.models.googlenet import (
    GOOGLENET_MODULES,
    bn_inception,
    compile_googlenet,
    googlenet,
    inception_module_model,
    inference_model,
)

# Table 1 of Szegedy et al. 2014: module -> (input shape, "ops" column in millions).
TABLE1_OPS = {
    "inc3a": ((28, 28, 192), 128),
    "inc3b": ((28, 28, 256), 304),
    "inc4a": ((14, 14, 480), 73),
    "inc4b": ((14, 14, 512), 88),
    "inc4c": ((14, 14, 512), 100),
    "inc4d": ((14, 14, 512), 119),
    "inc4e": ((14, 14, 528), 170),
    "inc5b": ((7, 7, 832), 71),
}


@pytest.fixture(scope="module")
def v1():
    keras.utils.set_random_seed(0)
    return googlenet(input_shape=(None, None, 3))


@pytest.fixture(scope="module")
def bn():
    keras.utils.set_random_seed(0)
    return bn_inception(input_shape=(None, None, 3))


def test_googlenet_count_equals_caffe_bvlc_googlenet(v1):
    assert v1.count_params() == trainable(v1) == 6_998_552
    weights = sum(int(np.prod(layer.kernel.shape)) for layer in v1.layers if hasattr(layer, "kernel"))
    biases = sum(int(np.prod(layer.bias.shape)) for layer in v1.layers if getattr(layer, "bias", None) is not None)
    assert (weights, biases) == (6_990_272, 8_280)


def test_googlenet_table1_shapes_and_lrn(v1):
    names = ["conv1_act", "pool1", "lrn1", "conv2_act", "pool2", "inc3a", "inc3b", "pool3", "inc4a", "inc4d", "inc4e", "pool4", "inc5a", "inc5b"]
    shapes = shapes_at(v1, names, 224)
    assert shapes == {
        "conv1_act": (112, 112, 64),
        "pool1": (56, 56, 64),
        "lrn1": (56, 56, 64),
        "conv2_act": (56, 56, 192),
        "pool2": (28, 28, 192),
        "inc3a": (28, 28, 256),
        "inc3b": (28, 28, 480),
        "pool3": (14, 14, 480),
        "inc4a": (14, 14, 512),
        "inc4d": (14, 14, 528),
        "inc4e": (14, 14, 832),
        "pool4": (7, 7, 832),
        "inc5a": (7, 7, 832),
        "inc5b": (7, 7, 1024),
    }
    assert v1.get_layer("dropout").rate == 0.4
    assert v1.get_layer("inc4a_b3x3_1_conv").filters == 96 and v1.get_layer("inc4a_b3x3_2_conv").filters == 208
    assert type(v1.get_layer("lrn2")).__name__ == "LocalResponseNormalization"
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in v1.layers)


@pytest.mark.parametrize("module", sorted(TABLE1_OPS))
def test_module_cost_matches_table1_ops_column(module):
    shape, ops_millions = TABLE1_OPS[module]
    macs = conv_dense_macs(inception_module_model(input_shape=shape, module=module))
    assert abs(macs / 1e6 - ops_millions) < 1.0, macs


def test_naive_module_costs_854m_vs_358m_claim():
    # The 28x28x256 module with 1x1 128, 3x3 192, 5x5 96 and a 3x3 max-pool is inception 3b.
    naive = inception_module_model(input_shape=(28, 28, 256), module="inc3b", naive=True)
    reduced = inception_module_model(input_shape=(28, 28, 256), module="inc3b")
    assert conv_dense_macs(naive) == 28 * 28 * 256 * (128 + 9 * 192 + 25 * 96) == 854_196_224
    assert conv_dense_macs(reduced) == 304_267_264  # Table 1: 304M
    assert naive.output.shape == (None, 28, 28, 672) and reduced.output.shape == (None, 28, 28, 480)
    # no 1x1 reduction or pool projection is left in the naive module
    assert [layer.kernel.shape[:2] for layer in naive.layers if hasattr(layer, "kernel")] == [(1, 1), (3, 3), (5, 5)]
    summary = pytest.importorskip("kerasnets.summary")
    assert summary.count(naive).macs == 854_196_224
    assert summary.count(reduced).macs == 304_267_264


def test_naive_googlenet_has_more_weights():
    model = googlenet(naive=True, include_top=False, input_shape=(64, 64, 3))
    assert model.get_layer("inc3a").output.shape[-1] == 192 + 64 + 128 + 32  # pool passes 192 through
    assert not any(name.endswith("_b3x3_2_conv") for name in (layer.name for layer in model.layers))


def test_aux_heads_follow_the_paper_and_loss_is_weighted_0_3():
    keras.utils.set_random_seed(0)
    model = googlenet(aux_logits=True, classes=5, input_shape=(96, 96, 3))
    assert [o.shape for o in model.outputs] == [(None, 5)] * 3
    assert model.get_layer("aux1_pool").input is model.get_layer("inc4a").output
    assert model.get_layer("aux2_pool").input is model.get_layer("inc4d").output
    assert model.get_layer("aux1_conv_conv").filters == 128
    assert model.get_layer("aux1_fc1").units == 1024
    assert model.get_layer("aux1_dropout").rate == 0.7
    # 224x224 aux head: 5x5/3 pool on 14x14 -> 4x4x128 -> FC 1024 -> FC 1000
    full = googlenet(aux_logits=True)
    aux1 = (512 * 128 + 128) + (4 * 4 * 128 * 1024 + 1024) + (1024 * 1000 + 1000)
    aux2 = aux1 + 16 * 128
    assert full.count_params() == 6_998_552 + aux1 + aux2 == 13_378_280

    compile_googlenet(model, optimizer="sgd", run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 96, 96, 3)).astype("float32")
    y = np.array([0, 1, 2, 3])
    results = model.evaluate(x, (y, y, y), verbose=0, return_dict=True)
    probs = [np.asarray(o) for o in model(x, training=False)]
    per_output = [float(np.mean(-np.log(p[np.arange(4), y]))) for p in probs]
    expected = per_output[0] + 0.3 * per_output[1] + 0.3 * per_output[2]
    assert results["loss"] == pytest.approx(expected, rel=1e-4)

    plain = inference_model(model)
    assert len(plain.outputs) == 1 and not any(layer.name.startswith("aux") for layer in plain.layers)
    np.testing.assert_allclose(np.asarray(plain(x, training=False)), probs[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"aux_logits": True, "include_top": False}, r"aux_logits=True.*include_top=True.*Received: include_top=False"),
        ({"aux_logits": True, "input_shape": (None, None, 3)}, r"static input size.*Received: input_shape=\(None, None, 3\)"),
        ({"aux_logits": True, "input_shape": (48, 48, 3)}, r"at least 65.*Received: input_shape=\(48, 48, 3\)"),
        ({"dropout": 1.5}, r"`dropout` must be a number in \[0, 1\). Received: dropout=1.5"),
    ],
)
def test_googlenet_argument_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        googlenet(**kwargs)


def test_argument_type_errors():
    with pytest.raises(TypeError, match=r"`naive` must be True or False. Received: naive='yes'"):
        googlenet(naive="yes")
    with pytest.raises(ValueError, match=r"`module` must be one of .*Received: module='inc9z'"):
        inception_module_model(module="inc9z")


def test_bn_inception_count_and_figure5_shapes(bn):
    assert trainable(bn) == 11_295_240
    assert bn.count_params() - trainable(bn) == 2 * sum(
        layer.gamma.shape[0] for layer in bn.layers if isinstance(layer, keras.layers.BatchNormalization)
    )
    names = ["conv2_act", "inc3a", "inc3b", "inc3c", "inc4a", "inc4c", "inc4d", "inc4e", "inc5a", "inc5b"]
    assert shapes_at(bn, names, 224) == {
        "conv2_act": (56, 56, 192),
        "inc3a": (28, 28, 256),
        "inc3b": (28, 28, 320),
        "inc3c": (14, 14, 576),
        "inc4a": (14, 14, 576),
        "inc4c": (14, 14, 608),
        "inc4d": (14, 14, 608),
        "inc4e": (7, 7, 1056),
        "inc5a": (7, 7, 1024),
        "inc5b": (7, 7, 1024),
    }
    convs = [layer for layer in bn.layers if isinstance(layer, keras.layers.Conv2D)]
    bns = [layer for layer in bn.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(convs) == len(bns)  # BN after every convolution
    assert max(max(c.kernel_size) for c in convs[1:]) == 3  # no 5x5 left: two stacked 3x3 instead
    assert isinstance(bn.get_layer("inc4a_bpool_pool"), keras.layers.AveragePooling2D)
    assert isinstance(bn.get_layer("inc5b_bpool_pool"), keras.layers.MaxPooling2D)


def test_googlenet_and_bn_inception_train(v1, bn):
    for model in (v1, bn):
        losses = train_losses(model, size=64, steps=2, batch=4)
        assert np.isfinite(losses).all() and losses[-1] < losses[0], (model.name, losses)


def test_activation_is_passed_through():
    model = googlenet(include_top=False, input_shape=(64, 64, 3), activation="crelu")
    assert type(model.get_layer("inc3a_b1x1_act")).__name__ == "CReLU"
    # CReLU doubles every branch: 2 * (64 + 128 + 32 + 32)
    assert model.get_layer("inc3a").output.shape[-1] == 512
    assert GOOGLENET_MODULES["inc3a"].b1x1 == 64
