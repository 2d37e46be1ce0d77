"""DenseNet: counts against torchvision, dense connectivity, transitions, CIFAR DenseNet-BC,
keras.applications weight interchange."""

import functools

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.models import get_spec
from kerasnets.models import densenet as D
from kerasnets.counting import count

# torchvision's published num_params and GFLOPS (multiply-adds), typed in independently.
TORCHVISION = {
    "densenet121": (7_978_856, 2.834),
    "densenet161": (28_681_000, 7.728),
    "densenet169": (14_149_480, 3.36),
    "densenet201": (20_013_928, 4.291),
}
SLOW = pytest.mark.slow


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.mark.parametrize(
    "name",
    ["densenet121", pytest.param("densenet161", marks=SLOW), pytest.param("densenet169", marks=SLOW),
     pytest.param("densenet201", marks=SLOW)],
)
def test_counts_match_torchvision(name):
    model = kerasnets.get_model(name)
    params, gmacs = TORCHVISION[name]
    assert _trainable(model) == params
    assert abs(count(model).macs / 1e9 - gmacs) < 0.001 * gmacs + 0.0005
    # Keras also counts BN moving mean and variance (non-trainable): 2 per BN channel
    bn_channels = sum(l.gamma.shape[0] for l in model.layers if isinstance(l, keras.layers.BatchNormalization))
    assert model.count_params() == params + 2 * bn_channels


def test_registry_references():
    for name, (params, gmacs) in TORCHVISION.items():
        spec = get_spec(name)
        assert spec.ref_params == params and abs(spec.ref_macs / 1e9 - gmacs) < 0.0005, name
    # Table 1 / Table 2 of the paper: the widths at the end of each dense block
    assert D.CONFIGS["densenet121"].stage_channels() == (256, 512, 1024, 1024)
    assert D.CONFIGS["densenet161"].stage_channels() == (384, 768, 2112, 2208)
    assert D.CONFIGS["densenet264"].stage_channels() == (256, 512, 2304, 2688)
    assert D.CONFIGS["densenet_bc_100"].stage_channels() == (216, 300, 342)
    assert round(get_spec("densenet_bc_100").ref_params / 1e6, 1) == 0.8  # paper Table 2: 0.8M


@functools.lru_cache(maxsize=None)
def _bc100():
    return kerasnets.densenet_bc_100()


def test_cifar_densenet_bc_structure_and_count():
    model = _bc100()
    assert _trainable(model) == 769_162
    assert model.output.shape == (None, 10)
    # L = 100: 3 blocks x 16 layers x 2 convs + first conv + 2 transitions + classifier
    weighted = [l for l in model.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))]
    assert len(weighted) == 100
    assert model.get_layer("pool2_conv").filters == 108  # theta=0.5 of 24 + 16 x 12 = 216
    assert model.get_layer("conv4_block16_concat").output.shape[1:] == (8, 8, 342)


def test_each_layer_sees_all_earlier_maps():
    model = _bc100()
    get = model.get_layer
    # the concatenation keeps the block input first, then the new k=12 maps
    concat = get("conv2_block3_concat")
    assert [t._keras_history[0].name for t in concat.input] == ["conv2_block2_concat", "conv2_block3_2_conv"]
    assert get("conv2_block3_0_bn").input.shape[-1] == 24 + 2 * 12
    assert get("conv2_block3_1_conv").filters == 48  # the 4k bottleneck
    probe = keras.Model(model.input, [get("conv2_block2_concat").output, concat.output])
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    before, after = (np.asarray(t) for t in probe(x))
    np.testing.assert_array_equal(after[..., :48], before)  # earlier maps pass through unchanged


def test_keras_applications_densenet121_weights_load_and_agree(tmp_path):
    shape = (64, 64, 3)
    reference = keras.applications.DenseNet121(weights=None, input_shape=shape, classes=5)
    path = str(tmp_path / "densenet121.weights.h5")
    reference.save_weights(path)
    model = kerasnets.densenet121(keras_compatible=True, weights=path, input_shape=shape, classes=5)
    assert model.count_params() == reference.count_params()
    assert model.get_layer("conv1_bn").epsilon == pytest.approx(1.001e-5)
    x = np.random.default_rng(0).uniform(0, 255, (2,) + shape).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(reference(x)), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name, builder", [("densenet169", "DenseNet169"), ("densenet201", "DenseNet201")])
def test_keras_applications_weights_load_slow(name, builder, tmp_path):
    shape = (64, 64, 3)
    reference = getattr(keras.applications, builder)(weights=None, input_shape=shape, classes=5)
    path = str(tmp_path / f"{name}.weights.h5")
    reference.save_weights(path)
    model = kerasnets.get_model(name, keras_compatible=True, weights=path, input_shape=shape, classes=5)
    x = np.random.default_rng(0).uniform(0, 255, (2,) + shape).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(reference(x)), rtol=1e-4, atol=1e-6)


def test_dropout_option_and_validation():
    model = kerasnets.densenet_bc_100(dropout=0.2, include_top=False, input_shape=(8, 8, 3))
    drops = [l for l in model.layers if isinstance(l, keras.layers.Dropout)]
    assert len(drops) == 3 * 16 * 2 + 2 and all(l.rate == 0.2 for l in drops)
    with pytest.raises(ValueError, match=r"Received: dropout=1\.5"):
        kerasnets.densenet121(dropout=1.5)
    with pytest.raises(TypeError, match=r"Received: keras_compatible=1"):
        kerasnets.densenet121(keras_compatible=1)
    with pytest.raises(ValueError, match=r"too small for densenet121"):
        kerasnets.densenet121(input_shape=(16, 16, 3), include_top=False)
