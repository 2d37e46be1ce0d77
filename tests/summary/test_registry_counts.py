"""Every registered builder, counted: totals equal count_params(), every layer has a rule,
and the papers' headline MAC figures come out.

The default suite builds the smallest model of each family (heavy heads at a small input
with include_top=False) plus the models whose published figures the convention must
reproduce; `-m slow` builds every registered model at its default configuration.
"""

import gc

import keras
import pytest

import kerasnets
from kerasnets.counting import count
from kerasnets.counting.check import _agrees
from family_models import pick_per_family
from keras_session import shapes_only


FAST = sorted(spec.name for spec in pick_per_family(min))
ALL = kerasnets.list_models()


def _check_counts(model):
    report = count(model)
    assert report.params == model.count_params()
    assert report.unknown == ()
    assert [r.name for r in report.rows if "formula gives" in r.note] == []
    assert report.macs > 0
    return report


def _build_light(name):
    spec = kerasnets.get_spec(name)
    if spec.ref_params is not None and spec.ref_params < 20_000_000:
        return kerasnets.get_model(name)
    side = max(spec.min_size, 32)
    return kerasnets.get_model(name, include_top=False, input_shape=(side, side, spec.channels))


@pytest.mark.parametrize("name", FAST)
def test_smallest_model_of_each_family(name):
    with shapes_only():  # counting reads shapes only
        model = _build_light(name)
    _check_counts(model)
    keras.backend.clear_session()
    gc.collect()


@pytest.mark.parametrize(
    "name, printed",
    [("resnet18", "1.8G"), ("resnet50", "3.8G"), ("vgg16", "15.5G")],
)
def test_published_figures(name, printed):
    """ResNet Table 1 (1.8e9, 3.8e9 multiply-adds) and VGG-16 (15.5e9) at 224x224."""
    if name not in ALL:
        pytest.skip(f"{name} is not registered yet")
    with shapes_only():
        model = kerasnets.get_model(name)
    report = _check_counts(model)
    assert _agrees(printed, report.macs), (name, report.macs)
    keras.backend.clear_session()
    gc.collect()


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_every_registered_model_at_default(name):
    spec = kerasnets.get_spec(name)
    with shapes_only():
        model = kerasnets.get_model(name)
    report = _check_counts(model)
    if spec.ref_macs:
        assert abs(report.macs - spec.ref_macs) <= 0.02 * spec.ref_macs, (report.macs, spec.ref_macs)
    keras.backend.clear_session()
    gc.collect()
