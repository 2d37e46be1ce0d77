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
import warnings

from kerasnets import _autoregister

__version__ = "0.1.0"

# Every registered builder (tests/test_registry.py checks this equals list_models()).
_BUILDERS = (
    "alexnet",
    "bn_inception",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "densenet264",
    "densenet_bc_100",
    "googlenet",
    "inception_resnet_v1",
    "inception_resnet_v2",
    "inception_v3",
    "inception_v4",
    "lenet5",
    "nin",
    "nin_cifar",
    "plain18",
    "plain34",
    "resnet1001",
    "resnet101",
    "resnet101_v2",
    "resnet110",
    "resnet152",
    "resnet152_v2",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet50_v2",
    "resnet56",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "resnext50_32x4d",
    "vgg11",
    "vgg11_lrn",
    "vgg13",
    "vgg16",
    "vgg16_c",
    "vgg19",
)

# name -> (module, attribute) of the other public names.
_LAZY = {
    "FeatureInfo": ("kerasnets._registry", "FeatureInfo"),
    "ModelSpec": ("kerasnets._registry", "ModelSpec"),
    "get_model": ("kerasnets.models", "get_model"),
    "get_spec": ("kerasnets.models", "get_spec"),
    "list_families": ("kerasnets.models", "list_families"),
    "list_models": ("kerasnets.models", "list_models"),
    "load_weights": ("kerasnets._weights", "load_weights"),
    "feature_extractor": ("kerasnets.features", "feature_extractor"),
    "summary": ("kerasnets.counting", "summary"),
    "preprocess_input": ("kerasnets.preprocessing", "preprocess_input"),
    "decode_predictions": ("kerasnets.pretrained.imagenet", "decode_predictions"),
    "list_pretrained": ("kerasnets.pretrained.sources", "list_pretrained"),
}

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
        module, attribute = _LAZY[name]
        if module in ("kerasnets.features", "kerasnets.counting"):
            importlib.import_module("kerasnets.models")  # both look models up in the registry
        value = getattr(importlib.import_module(module), attribute)
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
