"""The model registry: one record per public variant, the single source of truth.

Every public builder is registered with ``register_model``
(through ``kerasnets.models._variants.define_variants``), which stores a
[ModelSpec][kerasnets.ModelSpec] (family, default and minimum input size, the
reference parameter/MAC counts with their source, the stage layers users can tap).
Tests, the CLI and the summary tool iterate this registry, so a model that is
registered is automatically built, counted and checked.

This module imports nothing from kerasnets (it is the bottom layer). It is filled
by importing the family modules, which ``kerasnets.models`` does explicitly; the
public lookups (``kerasnets.list_models`` ...) are reached through
``kerasnets.models``, so the families are always registered when they run. Calling
a lookup here before any family is imported is an error, not an empty answer.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from typing import Any, Callable

__all__ = [
    "FeatureInfo",
    "ModelSpec",
    "register_model",
    "add_spec",
    "PREPROCESSING_MODES",
    "list_models",
    "get_model",
    "get_spec",
    "list_families",
]


@dataclasses.dataclass(frozen=True)
class FeatureInfo:
    """A stage output users can tap: layer name, channels and total stride."""

    layer: str
    channels: int
    stride: int


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Metadata of one registered variant.

    Attributes:
        name: public variant name (``"resnet50"``); also the builder's name.
        family: the family module (``"resnet"``).
        builder: the public builder function.
        paper: short citation of the paper the architecture comes from.
        default_size: the input side length the paper uses (square inputs).
        min_size: the smallest input side length the network accepts with
            ``include_top=False`` (every stride/pool still yields >= 1 pixel).
        channels: input channels of the default configuration.
        fixed_size: True when the top (Flatten + Dense) needs the default size.
        ref_params: reference trainable parameter count at the default config
            (``classes=1000``, or 10 for LeNet), or None if none is published.
        ref_params_source: where ``ref_params`` comes from.
        ref_macs: reference multiply-accumulates at the default size, or None.
        ref_macs_source: where ``ref_macs`` comes from.
        features: stage outputs (see [FeatureInfo][kerasnets.FeatureInfo]).
        default_classes: the classifier size of the default configuration.
        preprocessing: the input preprocessing the model expects, named as
            ``keras.applications.imagenet_utils.preprocess_input`` names its modes:
            ``"caffe"`` (RGB to BGR, ImageNet mean subtracted, no scaling), ``"tf"``
            (scaled to [-1, 1]) or ``"torch"`` (scaled to [0, 1], ImageNet mean/std).
            For the families keras.applications has, its choice (VGG and ResNet v1:
            caffe; ResNet v2, Inception-v3, Inception-ResNet-v2: tf; DenseNet: torch).
            For the others: the mode of the released reference model: AlexNet, NiN,
            GoogLeNet and BN-Inception were released as Caffe models (caffe);
            Inception-v4 and Inception-ResNet-v1 as TF-slim ones (tf); ResNeXt
            (torchvision) and the CIFAR networks (per-channel mean/std, as in their
            papers' training) use torch; LeNet-5 (one grey channel, which caffe and torch
            cannot take) uses tf: [-1, 1], the paper's near-zero-mean input range.
    """

    name: str
    family: str
    builder: Callable[..., Any]
    paper: str
    default_size: int
    min_size: int
    channels: int = 3
    fixed_size: bool = False
    ref_params: int | None = None
    ref_params_source: str = ""
    ref_macs: int | None = None
    ref_macs_source: str = ""
    features: tuple[FeatureInfo, ...] = ()
    default_classes: int = 1000
    preprocessing: str = "caffe"

    @property
    def default_input_shape(self) -> tuple[int, int, int]:
        return (self.default_size, self.default_size, self.channels)


_REGISTRY: dict[str, ModelSpec] = {}

# keras.applications.imagenet_utils.preprocess_input's modes.
PREPROCESSING_MODES = ("caffe", "tf", "torch")


def add_spec(spec: ModelSpec) -> ModelSpec:
    """Register one [ModelSpec][kerasnets.ModelSpec] under its name.

    Raises:
        ValueError: if the name is already registered (no silent overwrite) or the spec's
            ``preprocessing`` is not one of ``PREPROCESSING_MODES``.
    """
    if spec.name in _REGISTRY:
        raise ValueError(
            f"A model named '{spec.name}' is already registered "
            f"(family '{_REGISTRY[spec.name].family}'). Received: name={spec.name!r}"
        )
    if spec.preprocessing not in PREPROCESSING_MODES:
        raise ValueError(
            f"`preprocessing` must be one of {', '.join(map(repr, PREPROCESSING_MODES))}. "
            f"Received: preprocessing={spec.preprocessing!r}"
        )
    _REGISTRY[spec.name] = spec
    return spec


def register_model(*, family: str, name: str | None = None, **fields: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a public builder under its function name (or ``name``).

    ``fields`` are the other [ModelSpec][kerasnets.ModelSpec] fields (``paper``,
    ``default_size``, ``min_size``, ...). Families use
    ``kerasnets.models._variants.define_variants``, which also writes the builder.

    Raises:
        ValueError: if the name is already registered (no silent overwrite).
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        features = tuple(fields.pop("features", ()))
        add_spec(ModelSpec(name=name or fn.__name__, family=family, builder=fn, features=features, **fields))
        return fn

    return decorator


def _registered() -> dict[str, ModelSpec]:
    if not _REGISTRY:
        raise RuntimeError(
            "No model family is registered yet: use kerasnets.list_models() / kerasnets.get_spec() "
            "(or import kerasnets.models first), which import the families before looking up."
        )
    return _REGISTRY


def list_models(pattern: str | None = None, *, family: str | None = None) -> list[str]:
    """Sorted names of the registered models.

    Args:
        pattern: optional shell-style pattern (``"resnet*"``), case-insensitive.
        family: optional family name to keep (``"inception"``).

    Returns:
        A sorted list of model names.

    Examples:
        >>> import kerasnets
        >>> "alexnet" in kerasnets.list_models("alex*")
        True
    """
    registry = _registered()
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError(f"`pattern` must be a shell-style pattern (str) or None. Received: pattern={pattern!r}")
    names = sorted(registry)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n.lower(), pattern.lower())]
    if family is not None:
        families = list_families()
        if family not in families:
            raise ValueError(f"`family` must be one of {', '.join(families)}. Received: family={family!r}")
        names = [n for n in names if registry[n].family == family]
    return names


def list_families() -> list[str]:
    """Sorted names of the registered families."""
    return sorted({spec.family for spec in _registered().values()})


def get_spec(name: str) -> ModelSpec:
    """The [ModelSpec][kerasnets.ModelSpec] of a registered model.

    Raises:
        ValueError: for an unknown name, listing close matches.
    """
    registry = _registered()
    if not isinstance(name, str):
        raise TypeError(f"Expected a model name (str). Received: name={name!r}")
    key = name.strip().lower()
    for candidate in (key, key.replace("-", "_"), key.replace("-", "")):
        if candidate in registry:
            return registry[candidate]
    close = difflib.get_close_matches(key, list(registry), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"Unknown model; kerasnets.list_models() lists the {len(_REGISTRY)} registered models."
        f"{hint} Received: name={name!r}"
    )


def get_model(name: str, **kwargs: Any):
    """Build a registered model by name.

    Args:
        name: a name from [list_models][kerasnets.list_models] (case-insensitive, ``-`` or ``_``).
        **kwargs: forwarded to the builder (``include_top``, ``classes``, ...).

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: for an unknown name (with close matches) or bad arguments.

    Examples:
        >>> import kerasnets
        >>> kerasnets.get_model("lenet5").name
        'lenet5'
    """
    return get_spec(name).builder(**kwargs)
