"""The published ImageNet weights kerasnets can load, as data.

Each entry names a public file (a timm ``model.safetensors`` on the Hugging Face Hub, or a
torchvision ``.pth``), the kerasnets builder and the builder options whose layout the file was
trained with, the key layout of the file, the preprocessing it expects and the accuracy its
publisher reports. Nothing here is downloaded at import time.

Top-1/top-5 figures are the ones torchvision publishes with each weights enum
(``<Model>_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]``, read from the installed
torchvision 0.29.1 package when the test fixtures were made); timm's ``*.tv_in1k`` files are
those same torchvision weights with timm's key names. timm's ``*.tf_in1k`` files are its ports of
the TF-slim checkpoints; their figures are timm's own evaluation (``results-imagenet.csv``).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

__all__ = ["PretrainedWeights", "PRETRAINED", "list_pretrained", "get_pretrained"]

_HF = "https://huggingface.co/{repo}/resolve/main/model.safetensors"
_TV = "https://download.pytorch.org/models/{file}"
_TV_LICENSE = "BSD-3-Clause (torchvision); trained on ImageNet-1k, whose terms restrict use to research"
_TV_SOURCE = "torchvision 0.29.1, {enum}.IMAGENET1K_V1.meta['_metrics']"
_TIMM_SOURCE = "timm results/results-imagenet.csv (huggingface/pytorch-image-models, commit 0173a13)"
_TF_LICENSE = "Apache-2.0 (TF-slim checkpoint, ported by timm); trained on ImageNet-1k, whose terms restrict use to research"


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """One published weights file and how it maps onto a kerasnets builder.

    Attributes:
        name: the ``weights=`` value, e.g. ``"timm/resnet50.tv_in1k"``.
        model: the kerasnets model name it loads into.
        options: builder options the file's architecture needs (``{"downsample_in_3x3": True}``
            for torchvision's ResNet v1.5); the weights name selects them.
        layout: the key layout of the file (see ``kerasnets.pretrained.convert``).
        url: where the file is published.
        file_format: ``"safetensors"`` (read with NumPy) or ``"pth"`` (needs PyTorch).
        top1, top5: ImageNet-1k validation accuracy as published (percent).
        accuracy_source: who published the accuracy.
        preprocessing: the [`kerasnets.preprocess_input`][kerasnets.preprocessing.preprocess_input] mode the file expects.
        input_size: the evaluation resolution of the published accuracy.
        license: the licence of the weights as their publisher states it.
        source_model: the publisher's model name when it differs from ``model`` (torchvision's
            ``vgg16_bn`` is kerasnets' ``vgg16`` with ``batch_norm=True``).
    """

    name: str
    model: str
    layout: str
    url: str
    top1: float
    top5: float
    accuracy_source: str
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)
    file_format: str = "safetensors"
    preprocessing: str = "torch"
    input_size: int = 224
    license: str = _TV_LICENSE
    source_model: str = ""

    def __post_init__(self):
        if not self.source_model:
            object.__setattr__(self, "source_model", self.model)


def _entry(publisher, model, source, enum, file, top1, top5, layout, options, **extra):
    """The record of one torchvision file: timm's ``model.safetensors`` copy or torchvision's ``.pth``."""
    timm = publisher == "timm"
    name = f"timm/{source}.tv_in1k" if timm else f"torchvision/{source}"
    return PretrainedWeights(
        name=name,
        model=model,
        source_model=source,
        # timm's copies of torchvision's VGGs keep fc6/fc7 as 7x7 and 1x1 convolutions.
        layout="vgg_timm" if timm and layout == "vgg" else layout,
        url=_HF.format(repo=name) if timm else _TV.format(file=file),
        top1=top1,
        top5=top5,
        accuracy_source=_TV_SOURCE.format(enum=enum),
        options=options,
        file_format="safetensors" if timm else "pth",
        **extra,
    )


def _timm_tf_entry(model, top1, top5, options):
    """timm's port of a TF-slim checkpoint (``timm/<model>.tf_in1k``)."""
    name = f"timm/{model}.tf_in1k"
    return PretrainedWeights(
        name=name,
        model=model,
        layout=model,
        url=_HF.format(repo=name),
        top1=top1,
        top5=top5,
        accuracy_source=_TIMM_SOURCE,
        options=options,
        preprocessing="tf",
        input_size=299,
        license=_TF_LICENSE,
    )


# torchvision's ResNets (and timm's *.tv_in1k copies) are "v1.5": the bottleneck's stride is on
# the 3x3 convolution, not on the first 1x1 as in the paper (4.09 G vs 3.86 G MACs for ResNet-50).
_V15 = {"downsample_in_3x3": True}

_ENTRIES = (
    # name,              torchvision enum,      .pth file,                     top-1,  top-5,  layout,     options
    ("resnet18", "ResNet18_Weights", "resnet18-f37072fd.pth", 69.758, 89.078, "resnet", {}),
    ("resnet34", "ResNet34_Weights", "resnet34-b627a593.pth", 73.314, 91.420, "resnet", {}),
    ("resnet50", "ResNet50_Weights", "resnet50-0676ba61.pth", 76.130, 92.862, "resnet", _V15),
    ("resnet101", "ResNet101_Weights", "resnet101-63fe2227.pth", 77.374, 93.546, "resnet", _V15),
    ("resnet152", "ResNet152_Weights", "resnet152-394f9c45.pth", 78.312, 94.046, "resnet", _V15),
    ("resnext50_32x4d", "ResNeXt50_32X4D_Weights", "resnext50_32x4d-7cdf4587.pth", 77.618, 93.698, "resnet", {}),
    ("resnext101_32x8d", "ResNeXt101_32X8D_Weights", "resnext101_32x8d-8ba56ff5.pth", 79.312, 94.526, "resnet", {}),
    ("densenet121", "DenseNet121_Weights", "densenet121-a639ec97.pth", 74.434, 91.972, "densenet", {}),
    ("densenet161", "DenseNet161_Weights", "densenet161-8d451a50.pth", 77.138, 93.560, "densenet", {}),
    ("densenet169", "DenseNet169_Weights", "densenet169-b2777c0a.pth", 75.600, 92.806, "densenet", {}),
    ("densenet201", "DenseNet201_Weights", "densenet201-c1103571.pth", 76.896, 93.370, "densenet", {}),
    ("vgg11", "VGG11_Weights", "vgg11-8a719046.pth", 69.020, 88.628, "vgg", {}),
    ("vgg13", "VGG13_Weights", "vgg13-19584684.pth", 69.928, 89.246, "vgg", {}),
    ("vgg16", "VGG16_Weights", "vgg16-397923af.pth", 71.592, 90.382, "vgg", {}),
    ("vgg19", "VGG19_Weights", "vgg19-dcbb9e9d.pth", 72.376, 90.876, "vgg", {}),
    # VGG with batch norm after every convolution: kerasnets' vggNN(batch_norm=True).
    ("vgg11", "VGG11_BN_Weights", "vgg11_bn-6002323d.pth", 70.370, 89.810, "vgg", {"batch_norm": True}),
    ("vgg13", "VGG13_BN_Weights", "vgg13_bn-abd245e5.pth", 71.586, 90.374, "vgg", {"batch_norm": True}),
    ("vgg16", "VGG16_BN_Weights", "vgg16_bn-6c64b313.pth", 73.360, 91.516, "vgg", {"batch_norm": True}),
    ("vgg19", "VGG19_BN_Weights", "vgg19_bn-c79401a0.pth", 74.218, 91.842, "vgg", {"batch_norm": True}),
)

# torchvision's Inception-v3 (timm's tv_in1k is the same file): batch norm with a learned scale
# and branch-pool average pools that count their zero padding, where keras.applications has
# neither. Its weights (and GoogLeNet's) expect inputs in [-1, 1]: torchvision's
# ``transform_input=True`` turns ImageNet-normalised inputs into exactly that.
_V3_TORCH = {"bn_scale": True, "count_include_pad": True}
_V3_FILE = ("Inception_V3_Weights", "inception_v3_google-0cc3c7bd.pth", 77.294, 93.450, "inception_v3", _V3_TORCH)

_INCEPTION = (
    _entry(
        "torchvision", "googlenet", "googlenet", "GoogLeNet_Weights", "googlenet-1378be20.pth",
        69.778, 89.530, "googlenet", {"form": "torchvision"}, preprocessing="tf",
    ),  # timm has no GoogLeNet
    *(_entry(p, "inception_v3", "inception_v3", *_V3_FILE, preprocessing="tf", input_size=299) for p in ("timm", "torchvision")),
    _timm_tf_entry("inception_v4", 80.156, 94.968, {}),
    # keras.applications' Inception-ResNet-v2 has no BN scale; timm's port has one per batch norm.
    _timm_tf_entry("inception_resnet_v2", 80.462, 95.308, {"bn_scale": True}),
)

PRETRAINED: dict[str, PretrainedWeights] = {
    e.name: e
    for e in (
        *(
            # The publisher's model name (vgg16_bn for vgg16 + batch norm) is the .pth file's stem.
            _entry(publisher, model, file.split("-")[0], enum, file, top1, top5, layout, options)
            for model, enum, file, top1, top5, layout, options in _ENTRIES
            for publisher in ("timm", "torchvision")
        ),
        *_INCEPTION,
    )
}


def list_pretrained(model: str | None = None) -> list[str]:
    """The ``weights=`` names kerasnets can load, optionally only those for ``model``."""
    return sorted(n for n, w in PRETRAINED.items() if model is None or w.model == model)


def get_pretrained(name: str) -> PretrainedWeights:
    """The entry for a ``weights=`` name; ValueError listing close names if unknown."""
    try:
        return PRETRAINED[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(PRETRAINED), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unknown pretrained weights name. Expected one of `kerasnets list --pretrained` "
            f"(e.g. 'timm/resnet50.tv_in1k').{hint} Received: weights={name!r}"
        ) from None
