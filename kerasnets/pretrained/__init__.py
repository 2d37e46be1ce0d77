"""ImageNet weights from the public torchvision and timm files, loaded exactly.

``kerasnets.resnet50(weights="timm/resnet50.tv_in1k")`` downloads (once, with
``keras.utils.get_file``) the Hugging Face Hub's ``model.safetensors`` of that timm model, reads
it with ``safetensors`` (NumPy, no PyTorch), converts the PyTorch layout
(`kerasnets.pretrained.convert`) and sets the weights. The name also selects the builder
options the file was trained with (torchvision's ResNet v1.5 stride placement). A local
``.safetensors`` file works the same way, as does a torchvision ``.pth`` file when PyTorch is
installed.

Offline, the error says which URL to download and where to put the file.
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from kerasnets.checks import is_published_name
from kerasnets.pretrained.convert import convert_state_dict, detect_layout
from kerasnets.pretrained.sources import (
    PRETRAINED,
    PretrainedWeights,
    get_pretrained,
    list_pretrained,
)

__all__ = [
    "PRETRAINED",
    "PretrainedWeights",
    "get_pretrained",
    "list_pretrained",
    "is_published_name",
    "is_pretrained_reference",
    "builder_options",
    "cached_path",
    "read_state_dict",
    "load_pretrained",
]

_FILE_SUFFIXES = (".safetensors", ".pth", ".pt")


def is_pretrained_reference(weights) -> bool:
    """True for a registered weights name or a ``.safetensors``/``.pth`` path (not ``.weights.h5``)."""
    if not isinstance(weights, (str, os.PathLike)):
        return False
    text = os.fspath(weights)
    return text in PRETRAINED or text.lower().endswith(_FILE_SUFFIXES) or is_published_name(text)


def builder_options(model_name: str, weights, options: Mapping[str, object]) -> dict[str, object]:
    """The builder options a weights name implies, merged with the user's.

    Raises:
        ValueError: the name is for another model, or the user asked for an option value the
            file's architecture does not have.
    """
    if not is_published_name(weights):
        return dict(options)
    entry = get_pretrained(weights)
    if entry.model != model_name:
        raise ValueError(
            f"The weights {weights!r} are for `{entry.model}`, not `{model_name}`. Expected one of "
            f"{list_pretrained(model_name) or 'none (no published weights for this model)'}. "
            f"Received: weights={weights!r}"
        )
    merged = dict(options)
    for key, value in entry.options.items():
        given = merged.get(key)
        if given is not None and given != value:
            raise ValueError(
                f"The weights {weights!r} need `{key}={value!r}` (the architecture they were trained "
                f"with). Received: {key}={given!r}"
            )
        merged[key] = value
    return merged


def _cache_dir(cache_dir) -> str:
    if cache_dir is not None:
        return os.fspath(cache_dir)
    return os.environ.get("KERASNETS_WEIGHTS_DIR") or os.path.join(
        os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")), "kerasnets"
    )


def cached_path(entry: PretrainedWeights, cache_dir=None) -> str:
    """Where the file of ``entry`` is (or will be) kept: ``<cache>/<name>/<file>``.

    The cache is ``$KERASNETS_WEIGHTS_DIR``, else ``$KERAS_HOME/kerasnets`` (``~/.keras/kerasnets``).
    """
    filename = os.path.basename(entry.url) if entry.file_format == "pth" else "model.safetensors"
    return os.path.join(_cache_dir(cache_dir), *entry.name.split("/"), filename)


def _fetch(entry: PretrainedWeights, cache_dir=None) -> str:
    path = cached_path(entry, cache_dir)
    if os.path.isfile(path):
        return path
    import keras

    try:
        return keras.utils.get_file(
            fname=os.path.basename(path), origin=entry.url, cache_dir=os.path.dirname(path), cache_subdir="."
        )
    except Exception as exc:  # noqa: BLE001 - urllib, HTTP and OS errors all mean "not downloaded"
        raise ValueError(
            f"Could not download the weights {entry.name!r} from {entry.url} ({type(exc).__name__}: {exc}). "
            f"On a machine with internet, download that file and put it at {path} "
            f"(or set KERASNETS_WEIGHTS_DIR), or pass its path as weights=."
        ) from None


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a ``.safetensors`` (NumPy) or ``.pth`` (PyTorch, imported lazily) file.

    Raises:
        ValueError: a missing, truncated or unreadable file (naming it), or a ``.pth`` file without
            PyTorch installed.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"Expected an existing weights file. Received: weights={path!r}")
    if path.lower().endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            return dict(load_file(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ValueError(f"Could not read the safetensors file {path!r} (truncated or not safetensors?): {exc}") from None
    try:
        import torch
    except ImportError:
        raise ValueError(
            f"Reading a PyTorch .pth file needs PyTorch (`pip install torch`); or use the timm "
            f"`.safetensors` form of the same weights. Received: weights={path!r}"
        ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, pickle and zip errors
        raise ValueError(f"Could not read the PyTorch file {path!r}: {exc}") from None
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    return {k: v.detach().cpu().numpy() for k, v in state.items() if hasattr(v, "detach")}


def load_pretrained(model, weights, *, cache_dir=None):
    """Load published (or local PyTorch-layout) weights into a kerasnets ``model``.

    Args:
        model: a kerasnets model built with the options of the file (a registered name selects
            them when passed as the builder's ``weights=``).
        weights: a name from `list_pretrained`, or a ``.safetensors``/``.pth`` path.
        cache_dir: where downloads are kept (default: see `cached_path`).

    Returns:
        The model.

    Raises:
        ValueError: unknown name, no download and no cached file, unreadable file, a key that
            does not fit (named), or non-finite values.
    """
    layout = None
    if is_published_name(weights):
        entry = get_pretrained(weights)
        layout = entry.layout
        path = _fetch(entry, cache_dir)
    else:
        path = os.fspath(weights)
    state = read_state_dict(path)
    if not state:
        raise ValueError(f"The weights file {path!r} holds no tensors.")
    arrays = convert_state_dict(state, model, layout=layout or detect_layout(state))
    for name, values in arrays.items():
        for value in values:
            if not np.all(np.isfinite(value)):
                raise ValueError(f"The weights file {path!r} holds non-finite values for layer `{name}`.")
        model.get_layer(name).set_weights(values)
    return model
