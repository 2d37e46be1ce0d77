"""The residual family: counts against torchvision and the papers, shortcut options, block
order (post- vs pre-activation), plain nets, ResNeXt, keras.applications weight interchange."""

import functools

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.models import get_spec
from kerasnets.layers import ZeroPadChannels
from kerasnets.models import resnet as R
from kerasnets.counting import count

# Published figures, typed in independently of the registry.
TORCHVISION_PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
}
# He et al. 2015, Table 1, "FLOPs" (multiply-adds), x 10^9, and Xie et al. 2016, Table 1.
PAPER_GMACS = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3,
               "plain18": 1.8, "plain34": 3.6, "resnext50_32x4d": 4.2}
# torchvision's GFLOPS (multiply-adds) for the ResNeXt-101s (not in the paper's tables).
TORCHVISION_GMACS = {"resnext101_32x8d": 16.41, "resnext101_64x4d": 15.46}
SLOW = pytest.mark.slow


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@functools.lru_cache(maxsize=None)
def _model(name, **kwargs):
    """Build a model once per session (building the big ones dominates the run time)."""
    return kerasnets.get_model(name, **kwargs)


@functools.lru_cache(maxsize=None)
def _counted(name, **kwargs):
    """(trainable params, MACs, layer class names) of a model built once per session."""
    model = _model(name, **kwargs)
    return _trainable(model), count(model).macs, tuple(type(l).__name__ for l in model.layers)


def _agrees_to_one_decimal(macs, paper_gmacs):
    # The paper prints one decimal and truncates some figures (3.66 -> 3.6, 3.86 -> 3.8) while
    # rounding others (7.57 -> 7.6): agreement means within 0.1 x 10^9.
    return abs(macs / 1e9 - paper_gmacs) < 0.1


@pytest.mark.parametrize(
    "name",
    ["resnet18", "resnet50", "resnext50_32x4d",
     pytest.param("resnet34", marks=SLOW), pytest.param("resnet101", marks=SLOW),
     pytest.param("resnet152", marks=SLOW), pytest.param("resnext101_32x8d", marks=SLOW),
     pytest.param("resnext101_64x4d", marks=SLOW)],
)
def test_imagenet_counts_match_torchvision_and_papers(name):
    params, macs, _ = _counted(name)
    assert params == TORCHVISION_PARAMS[name]
    if name in PAPER_GMACS:
        assert _agrees_to_one_decimal(macs, PAPER_GMACS[name]), macs
    else:
        assert abs(macs / 1e9 - TORCHVISION_GMACS[name]) < 0.005, macs


def test_registry_references_agree_with_the_papers():
    # The registry's golden MACs (checked against the built models by tests/test_all_models.py)
    # agree with Table 1 of each paper to its rounding; its params with torchvision.
    for name, gmacs in PAPER_GMACS.items():
        assert _agrees_to_one_decimal(get_spec(name).ref_macs, gmacs), name
    for name, params in TORCHVISION_PARAMS.items():
        assert get_spec(name).ref_params == params, name
    # CIFAR depths of He et al. 2015 Table 6 (0.27M ... 1.7M) and ResNet-1001's 10.2M (which
    # leaves out the BN parameters: 10,327,706 - 149,216 BN = 10,178,490).
    paper = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85, "resnet110": 1.7}
    for name, millions in paper.items():
        assert round(get_spec(name).ref_params / 1e6, 2 if millions < 1 else 1) == millions, name


def test_plain_net_has_no_shortcuts_and_resnet_stack():
    params, macs, classes = _counted("plain18")
    assert "Add" not in classes and "ZeroPadChannels" not in classes
    # ResNet-18 less its three projection shortcuts (1x1 conv + BN): 8,448 + 33,280 + 132,096
    assert params == TORCHVISION_PARAMS["resnet18"] - 173_824
    assert _agrees_to_one_decimal(macs, 1.8)
    with pytest.raises(ValueError, match=r"plain network.*Received: shortcut='B'"):
        kerasnets.plain18(shortcut="B")


def test_option_a_is_parameter_free_on_imagenet():
    params, _, classes = _counted("resnet18", shortcut="A", include_top=True)
    assert params == TORCHVISION_PARAMS["resnet18"] - 173_824  # the plain net's count
    assert classes.count("ZeroPadChannels") == 3 and classes.count("Add") == 8


@pytest.mark.parametrize(
    "shortcut, params, pads, projections",
    [
        ("A", 269_722, 2, 0),  # the paper's CIFAR setting: 0.27M
        ("B", 272_474, 0, 2),  # + 16->32 (512 + 64) and 32->64 (2,048 + 128)
        ("C", 283_962, 0, 9),  # a projection on each of the 9 blocks
    ],
)
def test_cifar_shortcut_options(shortcut, params, pads, projections):
    model = kerasnets.resnet20(shortcut=shortcut)
    assert _trainable(model) == params
    names = [layer.name for layer in model.layers]
    assert sum(isinstance(l, ZeroPadChannels) for l in model.layers) == pads
    assert sum(n.endswith("_0_conv") for n in names) == projections
    assert sum(isinstance(l, keras.layers.Add) for l in model.layers) == 9


def test_option_a_shortcut_subsamples_and_zero_pads():
    model = kerasnets.resnet20(input_shape=(16, 16, 3), include_top=False)
    probe = keras.Model(model.input, [model.get_layer("conv2_block3_out").output,
                                      model.get_layer("conv3_block1_0_pad").output])
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    before, shortcut = probe.predict(x, verbose=0)
    assert shortcut.shape == (2, 8, 8, 32)
    np.testing.assert_allclose(shortcut[..., :16], before[:, ::2, ::2, :], rtol=1e-6)
    assert not shortcut[..., 16:].any()


def _source(layer_input):
    """The name of the layer that produced a symbolic tensor."""
    return layer_input._keras_history[0].name


def test_post_activation_block_order():
    model = kerasnets.resnet20(input_shape=(16, 16, 3), include_top=False)
    get = model.get_layer
    assert _source(get("conv2_block2_1_conv").input) == "conv2_block1_out"
    assert [_source(t) for t in get("conv2_block2_add").input] == ["conv2_block1_out", "conv2_block2_2_bn"]
    assert _source(get("conv2_block2_out").input) == "conv2_block2_add"  # act after the sum


def test_pre_activation_order_and_clean_identity_path():
    model = kerasnets.resnet50_v2(include_top=False, input_shape=(32, 32, 3))
    get = model.get_layer
    # branch: BN -> act -> conv, ending in a convolution (no BN/act before the Add)
    assert _source(get("conv3_block2_preact_bn").input) == "conv3_block1_out"
    assert _source(get("conv3_block2_preact_act").input) == "conv3_block2_preact_bn"
    assert _source(get("conv3_block2_1_conv").input) == "conv3_block2_preact_act"
    assert _source(get("conv3_block2_2_bn").input) == "conv3_block2_2_conv"
    # identity path: the previous block's sum, untouched
    assert [_source(t) for t in get("conv3_block2_out").input] == ["conv3_block1_out", "conv3_block2_3_conv"]
    # a projection reads the pre-activated input; the net ends with post_bn -> post_act
    assert _source(get("conv3_block1_0_conv").input) == "conv3_block1_preact_act"
    assert isinstance(get("conv3_block1_out"), keras.layers.Add)
    assert _source(get("post_bn").input) == "conv5_block3_out"
    assert model.output.shape == (None, 1, 1, 2048)
    assert sum(isinstance(l, keras.layers.Add) for l in model.layers) == 16


def test_downsample_in_3x3_moves_the_stride():
    default = _model("resnet50")
    v15 = kerasnets.resnet50(downsample_in_3x3=True)
    assert default.get_layer("conv3_block1_1_conv").strides == (2, 2)
    assert default.get_layer("conv3_block1_2_conv").strides == (1, 1)
    assert v15.get_layer("conv3_block1_1_conv").strides == (1, 1)
    assert v15.get_layer("conv3_block1_2_conv").strides == (2, 2)
    assert _trainable(default) == _trainable(v15)
    # torchvision's v1.5 ResNet-50: 4.089 GFLOPS (multiply-adds) at 224
    assert abs(count(v15).macs / 1e9 - 4.089) < 0.005


def test_resnext_grouped_convolutions():
    model = kerasnets.resnext50_32x4d(include_top=False, input_shape=(32, 32, 3))
    conv = model.get_layer("conv2_block1_2_conv")
    assert conv.groups == 32 and conv.filters == 128  # C=32 paths of width d=4
    assert model.get_layer("conv5_block3_2_conv").filters == 1024
    assert model.get_layer("conv5_block3_out").output.shape[-1] == 2048


def test_resnet1001_layout_and_fast_config():
    config = R.CONFIGS["resnet1001"]
    # 3 convolutions per bottleneck, 111 blocks per stage, plus conv1 and the classifier
    assert 3 * sum(config.depths) + 2 == 1001
    assert [config.out_width(s) for s in range(3)] == [64, 128, 256]
    assert config.preact and config.stem == "cifar"


@SLOW
def test_resnet1001_builds_and_counts():
    model = kerasnets.resnet1001()
    weighted = [l for l in model.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))]
    assert len(weighted) - 3 == 1001  # three projection shortcuts are not counted as layers
    assert _trainable(model) == get_spec("resnet1001").ref_params


@pytest.mark.parametrize(
    "kind, ours, builder",
    [("v1", "resnet50", "ResNet50"), ("v2", "resnet50_v2", "ResNet50V2"),
     pytest.param("v1", "resnet101", "ResNet101", marks=SLOW),
     pytest.param("v1", "resnet152", "ResNet152", marks=SLOW),
     pytest.param("v2", "resnet101_v2", "ResNet101V2", marks=SLOW),
     pytest.param("v2", "resnet152_v2", "ResNet152V2", marks=SLOW)],
)
def test_keras_applications_weights_load_and_agree(kind, ours, builder, tmp_path):
    shape = (64, 64, 3)
    reference = getattr(keras.applications, builder)(weights=None, input_shape=shape, classes=7)
    path = str(tmp_path / f"{builder}.weights.h5")
    reference.save_weights(path)
    model = kerasnets.get_model(ours, keras_compatible=True, weights=path, input_shape=shape, classes=7)
    assert model.count_params() == reference.count_params()
    x = np.random.default_rng(0).uniform(0, 255, (2,) + shape).astype("float32")
    # eager calls: tracing predict() for a 170-layer graph costs more than the forward pass
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(reference(x)), rtol=1e-4, atol=1e-6)
    if kind == "v1":
        # Without keras_compatible there are no conv biases: the file does not fit, loudly.
        with pytest.raises(ValueError, match=r"first mismatching layer is 'conv1_conv'"):
            kerasnets.load_weights(_model(ours), path)


def test_validation_messages():
    with pytest.raises(ValueError, match=r"`shortcut` must be one of 'A', 'B', 'C'\. Received: shortcut='D'"):
        kerasnets.resnet34(shortcut="D")
    with pytest.raises(TypeError, match=r"Received: keras_compatible='yes'"):
        kerasnets.resnet50(keras_compatible="yes")
    with pytest.raises(ValueError, match=r"basic blocks.*Received: downsample_in_3x3=True"):
        kerasnets.resnet18(downsample_in_3x3=True)
    with pytest.raises(ValueError, match=r"too small for resnet20.*Received: input_shape=\(4, 4, 3\)"):
        kerasnets.resnet20(input_shape=(4, 4, 3))
    with pytest.raises(ValueError, match=r"Received: activation='relu6'"):
        kerasnets.resnet20(activation="relu6")


def test_features_listed_in_registry_exist():
    spec = get_spec("resnet20")
    model = kerasnets.resnet20(include_top=False, input_shape=(32, 32, 3))
    for info in spec.features:
        out = model.get_layer(info.layer).output
        assert out.shape[-1] == info.channels and 32 // out.shape[1] == info.stride, info
