"""kerasnets.feature_extractor: built with the builder's own input structure, so no Keras warning."""

import warnings

import numpy as np
import pytest

import kerasnets
from kerasnets.features import feature_extractor


@pytest.mark.parametrize("name, shape", [("lenet5", (32, 32, 1)), ("resnet20", (32, 32, 3))])
def test_feature_extractor_calls_without_warning(name, shape):
    x = np.zeros((2,) + shape, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (e.g. "structure of `inputs` doesn't match") fails
        model = feature_extractor(name)
        outputs = model(x)
        predicted = model.predict(x, verbose=0)
    infos = model.feature_info
    assert len(outputs) == len(predicted) == len(infos) == len(kerasnets.get_spec(name).features)
    sizes = [out.shape[1] for out in predicted]
    assert [out.shape[-1] for out in predicted] == [info.channels for info in infos]
    assert all(size <= -(-shape[0] // info.stride) for size, info in zip(sizes, infos))  # valid padding may shrink more
    assert sizes == sorted(sizes, reverse=True)
