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
