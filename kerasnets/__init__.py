"""kerasnets: the classic CNN lineage as Keras 3 builders, counted and checked.

Every builder follows ``keras.applications``::

    import kerasnets
    model = kerasnets.alexnet(weights=None)          # a functional keras.Model
    kerasnets.list_models("resnet*")                  # registered names
    model = kerasnets.get_model("vgg16", classes=10)  # by name
    kerasnets.summary(model)                          # per-layer params and MACs
"""

from kerasnets._registry import FeatureInfo, ModelSpec, get_model, get_spec, list_families, list_models
from kerasnets._weights import load_weights
from kerasnets.models import *  # noqa: F401,F403
from kerasnets import models as _models

__version__ = "0.1.0"


def _public_builders():
    from kerasnets._registry import _REGISTRY

    return sorted(_REGISTRY)


def __getattr__(name):
    # `kerasnets.summary` and `kerasnets.feature_extractor` are imported lazily so that
    # `import kerasnets` stays light.
    if name == "summary":
        from kerasnets.summary import summary

        return summary
    if name == "feature_extractor":
        from kerasnets.features import feature_extractor

        return feature_extractor
    raise AttributeError(f"module 'kerasnets' has no attribute {name!r}")


__all__ = [
    "FeatureInfo",
    "ModelSpec",
    "get_model",
    "get_spec",
    "list_families",
    "list_models",
    "load_weights",
    "summary",
    "feature_extractor",
] + _public_builders()
