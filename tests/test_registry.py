import pytest

import kerasnets
from kerasnets._registry import register_model


def test_list_models_pattern_and_family():
    assert kerasnets.list_models("vgg1[19]") == ["vgg11", "vgg19"]
    assert kerasnets.list_models(family="alexnet") == ["alexnet"]
    assert "lenet" in kerasnets.list_families()


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"Did you mean: .*vgg16.*Received: name='vgg61'"):
        kerasnets.get_model("vgg61")


def test_get_model_normalises_case_and_dashes():
    assert kerasnets.get_spec("VGG-16").name == "vgg16"


def test_duplicate_registration_refused():
    with pytest.raises(ValueError, match="already registered"):

        @register_model(family="x", paper="", default_size=32, min_size=32, name="alexnet")
        def _dup():  # pragma: no cover - never called
            pass


def test_feature_extractor_returns_listed_stages():
    m = kerasnets.feature_extractor("vgg11", input_shape=(64, 64, 3))
    assert [tuple(o.shape) for o in m.outputs] == [
        (None, 32, 32, 64),
        (None, 16, 16, 128),
        (None, 8, 8, 256),
        (None, 4, 4, 512),
        (None, 2, 2, 512),
    ]
    assert [f.stride for f in m.feature_info] == [2, 4, 8, 16, 32]
    with pytest.raises(ValueError, match=r"out_indices.*Received: out_indices=\[7\]"):
        kerasnets.feature_extractor("vgg11", out_indices=[7])


def test_unknown_family_is_an_error_listing_the_families():
    with pytest.raises(ValueError, match=r"`family` must be one of alexnet, densenet, .*vgg. Received: family='nope'"):
        kerasnets.list_models(family="nope")


def test_every_family_attribute_is_a_module():
    import types

    import kerasnets.models

    for module in kerasnets.models.FAMILY_MODULES:
        name = module.__name__.rsplit(".", 1)[1]
        assert isinstance(getattr(kerasnets.models, name), types.ModuleType), name
    import kerasnets.models.googlenet as g

    assert isinstance(g, types.ModuleType)
    assert {spec.family for spec in map(kerasnets.get_spec, kerasnets.list_models())} == set(kerasnets.list_families())


def test_all_equals_the_public_names():
    import kerasnets._registry

    public = set(kerasnets.list_models()) | {
        "FeatureInfo", "ModelSpec", "get_model", "get_spec", "list_families", "list_models",
        "load_weights", "summary", "feature_extractor", "preprocess_input", "decode_predictions",
        "list_pretrained",
    }
    assert set(kerasnets.__all__) == public
    assert len(kerasnets.__all__) == len(set(kerasnets.__all__))
    for name in kerasnets.__all__:
        assert getattr(kerasnets, name) is not None, name
    assert set(kerasnets.__all__) <= set(dir(kerasnets))
    namespace = {}
    exec("from kerasnets import *", namespace)
    assert set(kerasnets.__all__) <= set(namespace)
    assert kerasnets.FeatureInfo is kerasnets._registry.FeatureInfo


def test_family_tables_do_not_leak_to_the_top_level():
    import warnings

    assert "CONFIGS" not in kerasnets.__all__ and "CONFIGS" not in dir(kerasnets)
    with pytest.warns(DeprecationWarning, match=r"kerasnets.compile_googlenet is deprecated.*kerasnets.training.inception"):
        fn = kerasnets.compile_googlenet
    from kerasnets.training.inception import compile_googlenet

    assert fn is compile_googlenet
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kerasnets.vgg16  # noqa: B018 - a public name warns nothing
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kerasnets.nope  # noqa: B018


def test_registry_module_imports_nothing_from_kerasnets():
    import ast
    import pathlib

    import kerasnets._registry

    tree = ast.parse(pathlib.Path(kerasnets._registry.__file__).read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.startswith("kerasnets")], imported


@pytest.mark.parametrize("module", ["kerasnets", "kerasnets._registry", "kerasnets._autoregister"])
def test_import_is_light(module):
    """``import kerasnets`` (the CLIs' first line) imports neither Keras nor TensorFlow."""
    import subprocess
    import sys

    code = (
        f"import sys, {module}, kerasnets; "
        "heavy = sorted(m for m in ('keras', 'tensorflow', 'jax', 'numpy') if m in sys.modules); "
        "print(heavy); dir(kerasnets); assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_keras_classes_are_registered_once_keras_is_imported():
    import subprocess
    import sys

    code = (
        "import sys, kerasnets; assert 'kerasnets.layers' not in sys.modules; import keras; "
        "assert keras.saving.get_registered_object('kerasnets>LocalResponseNormalization') is not None"
    )
    env = {**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
