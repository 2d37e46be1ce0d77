"""kerasnets: the classic CNN lineage as Keras 3 builders, counted and checked.

Every builder follows ``keras.applications``::

    import kerasnets
    model = kerasnets.alexnet(weights=None)          # a functional keras.Model
    kerasnets.list_models("resnet*")                  # registered names
    model = kerasnets.get_model("vgg16", classes=10)  # by name
    kerasnets.summary(model)                          # per-layer params and MACs

``import kerasnets`` is light: it imports neither Keras nor TensorFlow. Every public
name is resolved on first use (PEP 562), so the command lines answer ``--help`` at
once and a script pays for Keras only when it builds, counts or loads something.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import warnings

from kerasnets import _autoregister

__version__ = "0.1.0"

# Every registered builder: the names of the generated registry index, which ``python -m
# kerasnets._index`` writes from the live registry (tests/test_cli.py checks the two agree).
# Read here without importing kerasnets._index, which ``python -m`` runs as a script.
_BUILDERS = tuple(json.loads(pathlib.Path(__file__).with_name("_index.json").read_text()))

# The other public names, by the module that defines each under the same name.
_HOMES = {
    "kerasnets._registry": ("FeatureInfo", "ModelSpec"),
    "kerasnets.models": ("get_model", "get_spec", "list_families", "list_models"),
    "kerasnets._weights": ("load_weights",),
    "kerasnets.features": ("feature_extractor",),
    "kerasnets.counting": ("summary",),
    "kerasnets.preprocessing": ("preprocess_input",),
    "kerasnets.pretrained.imagenet": ("decode_predictions",),
    "kerasnets.pretrained.sources": ("list_pretrained",),
}
_LAZY = {name: module for module, names in _HOMES.items() for name in names}

# Names the star imports of the family modules used to leak to the top level; they keep
# working for one release with a DeprecationWarning naming their home.
_MOVED = {
    "CONFIGS": "kerasnets.models.inception_v4",
    "VGGConfig": "kerasnets.models.vgg",
    "NiNBlock": "kerasnets.models.nin",
    "ResNetConfig": "kerasnets.models.resnet",
    "DenseNetConfig": "kerasnets.models.densenet",
    "InceptionV1Module": "kerasnets.models.googlenet",
    "BNInceptionModule": "kerasnets.models.googlenet",
    "GOOGLENET_MODULES": "kerasnets.models.googlenet",
    "BN_INCEPTION_MODULES": "kerasnets.models.googlenet",
    "inception_module_model": "kerasnets.models.googlenet",
    "compile_googlenet": "kerasnets.training.inception",
    "inference_model": "kerasnets.training.inception",
    "INCEPTION_V3_LAYOUT": "kerasnets.models.inception_v3",
    "label_smoothing_loss": "kerasnets.training",
    "compile_inception_v3": "kerasnets.training.inception",
    "InceptionV4Config": "kerasnets.models.inception_v4",
    "ReductionA": "kerasnets.models.inception_v4",
}

__all__ = sorted(_BUILDERS + tuple(_LAZY))


def __getattr__(name: str):
    if name in _BUILDERS:
        value = importlib.import_module("kerasnets.models").get_spec(name).builder
    elif name in _LAZY:
        module = _LAZY[name]
        if module in ("kerasnets.features", "kerasnets.counting"):
            importlib.import_module("kerasnets.models")  # both look models up in the registry
        value = getattr(importlib.import_module(module), name)
    elif name in _MOVED:
        home = _MOVED[name]
        warnings.warn(
            f"kerasnets.{name} is deprecated and will be removed in the next release; use {home}.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)
    else:
        raise AttributeError(f"module 'kerasnets' has no attribute {name!r}")
    globals()[name] = value  # resolved once
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


_autoregister.install()
