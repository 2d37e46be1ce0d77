"""Bad builder arguments: each is refused before any layer is built, with the right exception
type and a message naming the argument and the value (kerasnets.checks' one wording per check)."""

import warnings

import keras
import pytest

import kerasnets
from kerasnets.models.googlenet import inception_module_model


def _tensor(*shape):
    return keras.Input(shape=shape)


# (builder or callable, kwargs, exception, words the message must hold: the argument and the value)
CASES = [
    ("lenet5", dict(classes=0), ValueError, ("classes", "0")),
    ("lenet5", dict(classes="10"), TypeError, ("classes", "'10'")),
    ("lenet5", dict(classes=2.5), TypeError, ("classes", "2.5")),
    ("lenet5", dict(include_top="yes"), TypeError, ("include_top", "'yes'")),
    ("alexnet", dict(weights="imagenet"), ValueError, ("weights", "'imagenet'")),
    ("lenet5", dict(weights="nope.weights.h5"), ValueError, ("weights", "'nope.weights.h5'")),
    ("lenet5", dict(weights=3), TypeError, ("weights", "3")),
    ("nin_cifar", dict(include_top=False, pooling="mean"), ValueError, ("pooling", "'mean'")),
    ("lenet5", dict(input_shape=(28.7, 28, 1)), ValueError, ("input_shape", "(28.7, 28, 1)")),
    ("lenet5", dict(input_shape=(32, 32)), ValueError, ("input_shape", "(32, 32)")),
    ("lenet5", dict(input_shape=(32, 32, 0)), ValueError, ("input_shape", "(32, 32, 0)")),
    ("lenet5", dict(input_shape="32x32"), ValueError, ("input_shape", "'32x32'")),
    ("nin_cifar", dict(input_shape=(32, -4, 3)), ValueError, ("input_shape", "(32, -4, 3)")),
    ("vgg16", dict(include_top=False, input_shape=(16, 16, 3)), ValueError, ("input_shape", "(16, 16, 3)", "32")),
    ("vgg11", dict(input_shape=(160, 160, 3)), ValueError, ("input_shape", "(160, 160, 3)", "224")),
    ("nin_cifar", dict(input_tensor=(32, 32, 3), input_shape=(64, 64, 3)), ValueError, ("input_shape", "(64, 64, 3)", "input_tensor")),
    ("nin_cifar", dict(input_tensor=(10,)), ValueError, ("input_tensor", "(None, 10)")),
    ("nin_cifar", dict(activation="rectifier"), ValueError, ("activation", "'rectifier'")),
    ("nin_cifar", dict(activation=("leaky_relu", {"slope": 0.1})), ValueError, ("activation", "slope", "negative_slope")),
    ("nin_cifar", dict(activation=("relu", {"alpha": 1})), ValueError, ("activation", "alpha", "no options")),
    ("nin_cifar", dict(activation=3), TypeError, ("activation", "3")),
    ("nin_cifar", dict(classifier_activation="softer"), ValueError, ("classifier_activation", "'softer'")),
    ("nin_cifar", dict(classifier_activation=3), TypeError, ("classifier_activation", "3")),
    ("nin_cifar", dict(name=3), TypeError, ("name", "3")),
    ("nin_cifar", dict(name=" "), ValueError, ("name", "' '")),
    ("alexnet", dict(towers=3), ValueError, ("towers", "3")),
    ("alexnet", dict(padded="no"), TypeError, ("padded", "'no'")),
    ("alexnet", dict(lrn=1), TypeError, ("lrn", "1")),
    ("alexnet", dict(dropout=1.5), ValueError, ("dropout", "1.5")),
    ("vgg11", dict(dropout=-0.1), ValueError, ("dropout", "-0.1")),
    ("vgg11", dict(fully_convolutional="yes"), TypeError, ("fully_convolutional", "'yes'")),
    ("lenet5", dict(form="fancy"), ValueError, ("form", "'fancy'")),
    ("lenet5", dict(filters=(6, 16)), ValueError, ("filters", "(6, 16)")),
    ("lenet5", dict(filters=(6, 0, 120)), ValueError, ("filters[1]", "0")),
    ("lenet5", dict(units=0), ValueError, ("units", "0")),
    ("lenet5", dict(batch_norm="no"), TypeError, ("batch_norm", "'no'")),
    ("lenet5", dict(dropout=1.0), ValueError, ("dropout", "1.0")),
    ("resnet20", dict(shortcut="D"), ValueError, ("shortcut", "'D'")),
    ("plain18", dict(shortcut="A"), ValueError, ("shortcut", "'A'", "plain18")),
    ("resnet18", dict(downsample_in_3x3=True), ValueError, ("downsample_in_3x3", "True", "basic blocks")),
    ("resnet50", dict(downsample_in_3x3="yes"), TypeError, ("downsample_in_3x3", "'yes'")),
    ("resnet20", dict(keras_compatible=1), TypeError, ("keras_compatible", "1")),
    ("densenet_bc_100", dict(dropout=2), ValueError, ("dropout", "2")),
    ("densenet_bc_100", dict(keras_compatible="y"), TypeError, ("keras_compatible", "'y'")),
    ("googlenet", dict(aux_logits=True, include_top=False), ValueError, ("aux_logits", "include_top", "False")),
    ("googlenet", dict(aux_logits=True, input_shape=(48, 48, 3)), ValueError, ("input_shape", "(48, 48, 3)", "65")),
    ("googlenet", dict(aux_logits="yes"), TypeError, ("aux_logits", "'yes'")),
    ("googlenet", dict(naive=1), TypeError, ("naive", "1")),
    ("googlenet", dict(aux_dropout=1.2), ValueError, ("aux_dropout", "1.2")),
    ("inception_v3", dict(aux_logits=True, input_shape=(None, None, 3)), ValueError, ("input_shape", "(None, None, 3)")),
    ("inception_v4", dict(dropout=-1), ValueError, ("dropout", "-1")),
    ("bn_inception", dict(dropout="x"), TypeError, ("dropout", "'x'")),
    ("lenet5", dict(foo=1), TypeError, ("lenet5()", "foo", "include_top")),
    ("get_model", dict(name="vgg61"), ValueError, ("name", "'vgg61'", "vgg16")),
    ("get_spec", dict(name=3), TypeError, ("name", "3")),
    ("list_models", dict(family="nope"), ValueError, ("family", "'nope'", "resnet")),
    ("list_models", dict(pattern=3), TypeError, ("pattern", "3")),
    ("inception_module_model", dict(module="inc9z"), ValueError, ("module", "'inc9z'")),
    ("inception_module_model", dict(input_shape=(28.5, 28, 256)), ValueError, ("input_shape", "(28.5, 28, 256)")),
]


def _call(target, kwargs):
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("input_tensor"), tuple):
        kwargs["input_tensor"] = _tensor(*kwargs["input_tensor"])
    if target == "inception_module_model":
        return inception_module_model(**kwargs)
    return getattr(kerasnets, target)(**kwargs)


@pytest.mark.parametrize(
    "target, kwargs, error, words", CASES, ids=[f"{c[0]}-{'-'.join(map(str, c[1]))}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_builder_argument_is_refused_naming_it(target, kwargs, error, words):
    with pytest.raises(error) as info:
        _call(target, kwargs)
    message = str(info.value)
    assert type(info.value) is error or issubclass(type(info.value), error)
    for word in words:
        assert word in message, (word, message)
    assert "Received" in message or "got an unexpected keyword" in message, message


def test_positional_argument_is_refused_naming_the_builder():
    with pytest.raises(TypeError, match=r"lenet5\(\) too many positional arguments; its arguments \(keyword-only\)"):
        kerasnets.lenet5(10)


def test_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(pooling="avg"), "pooling='avg'"),
        (dict(include_top=False, classes=5), "classes=5"),
    ],
)
def test_ignored_head_arguments_warn(kwargs, word):
    with pytest.warns(UserWarning, match="applies only with include_top") as record:
        kerasnets.nin_cifar(**kwargs)
    assert word in str(record[0].message)


def test_defaults_and_agreeing_input_tensor_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kerasnets.nin_cifar(include_top=False)
        kerasnets.nin_cifar(include_top=False, pooling="max")
        model = kerasnets.nin_cifar(input_tensor=_tensor(32, 32, 3), input_shape=(32, 32, 3))
    assert model.inputs[0].shape == (None, 32, 32, 3)


def test_weights_file_with_the_wrong_suffix(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("x")
    with pytest.raises(ValueError, match=r"`weights` must be a Keras weights file ending in .weights.h5") as info:
        kerasnets.lenet5(weights=str(path))
    assert repr(str(path)) in str(info.value)


def test_channels_first_is_refused_naming_the_setting():
    keras.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match=r"channels_last only.*Received: image_data_format='channels_first'"):
            kerasnets.nin_cifar()
    finally:
        keras.config.set_image_data_format("channels_last")
