"""Loading weights files with errors a person can act on.

Keras 3 stores a functional model's weights in ``.weights.h5`` under
``layers/<snake_case class name>[_<n>]/vars/<i>``: layers are addressed by
their class and position, not by their names. That is what makes weights
interchange with ``keras.applications`` possible (the same sequence of
layer classes loads, whatever the layers are called), and it is also why a
file from another architecture can fail deep inside Keras with a message
that names no layer. :func:`load_weights` therefore compares the file with
the model first and names the first layer that does not fit.
"""

from __future__ import annotations

import os

import h5py
import keras

from kerasnets._validation import check_existing_file

__all__ = ["load_weights", "weight_paths"]


def _snake_case(name: str) -> str:
    # Same rule as keras.src.utils.naming.to_snake_case.
    import re

    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def weight_paths(model: keras.Model) -> list[tuple[str, keras.layers.Layer, list[tuple]]]:
    """The file paths under which Keras saves each top-level layer's variables.

    Returns:
        ``[(path, layer, [variable shapes...]), ...]`` for layers that own
        variables, in the order Keras saves them.
    """
    used: dict[str, int] = {}
    out = []
    for layer in model.layers:
        key = _snake_case(layer.__class__.__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        if layer.weights and not getattr(layer, "_layers", None):
            out.append((f"layers/{key}", layer, [tuple(v.shape) for v in layer.weights]))
    return out


def _file_shapes(handle: h5py.File, path: str) -> list[tuple] | None:
    group = handle.get(f"{path}/vars")
    if group is None:
        return None
    keys = sorted(group.keys(), key=int)
    return [tuple(group[k].shape) for k in keys]


def load_weights(model: keras.Model, path: str | os.PathLike) -> keras.Model:
    """Load a Keras ``.weights.h5`` file into ``model``, checking it first.

    Args:
        model: a built ``keras.Model``.
        path: a weights file saved by ``model.save_weights`` (from a kerasnets
            model or the matching ``keras.applications`` model).

    Returns:
        The model, with the weights loaded.

    Raises:
        ValueError: the file is not a readable HDF5 weights file, or its
            layers do not match the model's; the message names the first layer
            whose variables differ (and says when it is the input channels).
    """
    path = check_existing_file("weights", path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(
            f"`weights` must be a readable HDF5 weights file (.weights.h5); this file could not be "
            f"opened ({exc}). Received: weights={path!r}"
        ) from None
    with handle:
        if "layers" not in handle:
            raise ValueError(
                "`weights` must be a Keras 3 weights file (saved with model.save_weights(...)"
                f"'.weights.h5'); it has no 'layers' group. Received: weights={path!r}"
            )
        expected = weight_paths(model)
        first_conv_seen = False
        for file_path, layer, shapes in expected:
            got = _file_shapes(handle, file_path)
            is_first_conv = not first_conv_seen and len(shapes[0]) == 4
            first_conv_seen = first_conv_seen or len(shapes[0]) == 4
            if got is None:
                raise ValueError(
                    f"The weights file does not fit model '{model.name}': its first mismatching layer "
                    f"is '{layer.name}' ({layer.__class__.__name__}), which the file lacks (no "
                    f"'{file_path}'). Received: weights={path!r}"
                )
            if got != shapes:
                if (
                    is_first_conv
                    and got
                    and len(got[0]) == 4
                    and got[0][:2] == shapes[0][:2]
                    and got[0][3] == shapes[0][3]
                    and got[0][2] != shapes[0][2]
                ):
                    raise ValueError(
                        f"The weights file was saved for {got[0][2]}-channel inputs but model "
                        f"'{model.name}' takes {shapes[0][2]} channels (layer '{layer.name}'). Build the "
                        f"model with input_shape=(..., ..., {got[0][2]}). Received: weights={path!r}"
                    )
                raise ValueError(
                    f"The weights file does not fit model '{model.name}': its first mismatching layer "
                    f"is '{layer.name}' ({layer.__class__.__name__}): the model expects variable shapes "
                    f"{shapes}, the file has {got} at '{file_path}'. Received: weights={path!r}"
                )
        n_file = len([k for k in handle["layers"].keys() if "vars" in handle["layers"][k] and len(handle["layers"][k]["vars"])])
        if n_file != len(expected):
            raise ValueError(
                f"The weights file does not fit model '{model.name}': it holds variables for {n_file} "
                f"layers, the model has {len(expected)} layers with variables. Received: weights={path!r}"
            )
    model.load_weights(path)
    return model
