"""Loading weights files with errors a person can act on.

Keras 3 stores a functional model's weights in ``.weights.h5`` under
``layers/<snake_case class name>[_<n>]/vars/<i>``: layers are addressed by
their class and position, not by their names. That is what makes weights
interchange with ``keras.applications`` possible (the same sequence of
layer classes loads, whatever the layers are called), and it is also why a
file from another architecture can fail deep inside Keras with a message
that names no layer. `load_weights` therefore checks the file first:

- an empty, truncated, non-HDF5 or unreadable file is reported as such (with the byte counts of
  a truncated one);
- a file for another model names the first layer that does not fit (and says when it is the
  input channels);
- a file holding NaN or infinite values (e.g. saved from a diverged run) is refused, naming the
  first such variable: loading it would only give a model that predicts NaN.

Because the keys follow the classes, giving a layer a faster class with the same variables moves
the keys: AlexNet's grouped conv2/conv4/conv5 became `kerasnets.layers.GroupedConv2D` (they were
``Conv2D(groups=2)``), so an older file keys them ``conv2d_N``, a newer one ``grouped_conv2d_N``.
`_LAYOUT_ALIASES` lists such classes with the class an older file stored them as; a file that does
not fit the model's layout but fits the aliased one is loaded under the aliased keys.
"""

from __future__ import annotations

import os
import re

import h5py
import keras
import numpy as np

from kerasnets import _compat
from kerasnets.checks import check_existing_file

__all__ = ["load_weights", "weight_paths"]

# {layer class name: the class name older weights files stored it as}. A GroupedConv2D has the
# configuration and variables of a Conv2D (it only computes differently), and kerasnets built
# Conv2D(groups=g) in its place before; a file from then keys it as a Conv2D.
_LAYOUT_ALIASES = {"GroupedConv2D": "Conv2D"}


def _snake_case(name: str) -> str:
    # Same rule as keras.src.utils.naming.to_snake_case (tests/test_compat.py compares them).
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def weight_paths(
    model: keras.Model, *, aliases: dict[str, str] | None = None
) -> list[tuple[str, keras.layers.Layer, list[tuple]]]:
    """The file paths under which Keras saves each top-level layer's variables.

    Args:
        model: a built ``keras.Model``.
        aliases: ``{class name: class name}``: key the layers of the first class as Keras keys the
            second (the layout of a file saved when the model used the second class); ``None``:
            the layout Keras writes for ``model`` now.

    Returns:
        ``[(path, layer, [variable shapes...]), ...]`` for layers that own
        variables, in the order Keras saves them.
    """
    aliases = aliases or {}
    used: dict[str, int] = {}
    out = []
    for layer in model.layers:
        class_name = layer.__class__.__name__
        key = _snake_case(aliases.get(class_name, class_name))
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        # A layer with sub-layers (a nested model) saves them in its own sub-groups.
        if layer.weights and not _compat.sublayers(layer, recursive=False):
            out.append((f"layers/{key}", layer, [tuple(v.shape) for v in layer.weights]))
    return out


def _file_shapes(handle: h5py.File, path: str) -> list[tuple] | None:
    group = handle.get(f"{path}/vars")
    if group is None:
        return None
    keys = sorted(group.keys(), key=int)
    return [tuple(group[k].shape) for k in keys]


_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*stored_eof = (\d+)")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _open(path: str) -> h5py.File:
    """Open ``path`` as HDF5, telling an empty, truncated, non-HDF5 and otherwise broken file apart."""
    size = os.path.getsize(path)
    if size == 0:
        raise ValueError(
            "`weights` must be a Keras weights file (.weights.h5); this file is empty (0 bytes). "
            f"Received: weights={path!r}"
        )
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        truncated = _TRUNCATED.search(str(exc))
        if truncated:
            have, want = (int(g) for g in truncated.groups())
            raise ValueError(
                f"`weights` file is truncated: it has {have:,} of the {want:,} bytes its HDF5 header "
                "records (an interrupted copy, download or save?). Received: "
                f"weights={path!r}"
            ) from None
        with open(path, "rb") as handle:
            head = handle.read(8)
        if head != _HDF5_SIGNATURE and not h5py.is_hdf5(path):
            raise ValueError(
                "`weights` must be an HDF5 weights file (.weights.h5, saved with model.save_weights); "
                f"this file is not HDF5 (it starts with {head!r}). Received: weights={path!r}"
            ) from None
        raise ValueError(
            f"`weights` file is corrupt: it is HDF5 but could not be opened ({exc}). "
            f"Received: weights={path!r}"
        ) from None


def _read(handle: h5py.File, key: str, path: str) -> np.ndarray:
    try:
        return handle[key][()]
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise ValueError(
            f"`weights` file is corrupt: reading '{key}' failed ({exc}). Received: weights={path!r}"
        ) from None


def _non_finite_text(data: np.ndarray) -> str | None:
    if data.dtype.kind not in "fc":
        return None
    finite = np.isfinite(data)
    if finite.all():
        return None
    n_nan = int(np.isnan(data).sum())
    n_inf = int(data.size - finite.sum()) - n_nan
    parts = [f"{n:,} {what}" for n, what in ((n_nan, "NaN"), (n_inf, "infinite")) if n]
    return f"{' and '.join(parts)} of its {data.size:,} values"


def _check_finite(handle: h5py.File, expected: list, path: str) -> None:
    """Refuse a file with a NaN/inf value, naming the first such variable in the model's order."""
    checked = set()
    for file_path, layer, shapes in expected:
        for i, variable in enumerate(layer.weights):
            key = f"{file_path}/vars/{i}"
            checked.add(key)
            bad = _non_finite_text(_read(handle, key, path))
            if bad:
                raise ValueError(
                    f"`weights` file holds non-finite values: variable '{variable.path}' of layer "
                    f"'{layer.name}' ({layer.__class__.__name__}, '{key}') has {bad}; a model loaded "
                    "from it would predict NaN (was it saved from a diverged run?). "
                    f"Received: weights={path!r}"
                )
    rest: list[str] = []
    handle.visititems(lambda name, obj: rest.append(name) if isinstance(obj, h5py.Dataset) else None)
    for key in rest:
        if key not in checked:
            bad = _non_finite_text(_read(handle, key, path))
            if bad:
                raise ValueError(
                    f"`weights` file holds non-finite values: '{key}' has {bad}; a model loaded from it "
                    f"would predict NaN (was it saved from a diverged run?). Received: weights={path!r}"
                )


def _layout_error(
    handle: h5py.File, model: keras.Model, expected: list, path: str
) -> tuple[tuple[int, int], ValueError] | None:
    """How far the file fits the layout ``expected``, and the error there; None when it fits.

    How far: ``(index of the first layer that does not fit, 0 when its key is missing, 1 when
    its shapes differ)``; ``(number of layers, 2)`` when only the number of layers differs.
    """
    first_conv_seen = False
    for index, (file_path, layer, shapes) in enumerate(expected):
        got = _file_shapes(handle, file_path)
        is_first_conv = not first_conv_seen and len(shapes[0]) == 4
        first_conv_seen = first_conv_seen or len(shapes[0]) == 4
        if got is None:
            return (index, 0), ValueError(
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
                return (index, 1), ValueError(
                    f"The weights file was saved for {got[0][2]}-channel inputs but model "
                    f"'{model.name}' takes {shapes[0][2]} channels (layer '{layer.name}'). Build the "
                    f"model with input_shape=(..., ..., {got[0][2]}). Received: weights={path!r}"
                )
            return (index, 1), ValueError(
                f"The weights file does not fit model '{model.name}': its first mismatching layer "
                f"is '{layer.name}' ({layer.__class__.__name__}): the model expects variable shapes "
                f"{shapes}, the file has {got} at '{file_path}'. Received: weights={path!r}"
            )
    n_file = len([k for k in handle["layers"].keys() if "vars" in handle["layers"][k] and len(handle["layers"][k]["vars"])])
    if n_file != len(expected):
        return (len(expected), 2), ValueError(
            f"The weights file does not fit model '{model.name}': it holds variables for {n_file} "
            f"layers, the model has {len(expected)} layers with variables. Received: weights={path!r}"
        )
    return None


def _fitting_layout(handle: h5py.File, model: keras.Model, path: str) -> tuple[list, bool]:
    """``(layout, aliased)``: the layout the file fits, the model's own or else the aliased one.

    The aliased layout (`_LAYOUT_ALIASES` applied) is tried only when it differs and the model's
    variables all belong to the listed top-level layers (a nested model's own keys are Keras'
    business), since such a file is loaded by `_assign`, not by Keras. A file that fits neither
    gets the error of the layout it fits further (a layer whose shapes differ is further than a
    missing key; the model's own layout on a tie): a one-tower AlexNet file in a two-tower model is
    told about conv2's kernel shape, not about a missing ``grouped_conv2d`` key.

    Raises:
        ValueError: the file fits neither layout.
    """
    expected = weight_paths(model)
    error = _layout_error(handle, model, expected, path)
    if error is None:
        return expected, False
    aliased = weight_paths(model, aliases=_LAYOUT_ALIASES)
    listed = {id(v) for _, layer, _ in aliased for v in layer.weights}
    same_keys = [key for key, _, _ in aliased] == [key for key, _, _ in expected]
    if same_keys or listed != {id(v) for v in model.weights}:
        raise error[1]
    aliased_error = _layout_error(handle, model, aliased, path)
    if aliased_error is None:
        return aliased, True
    raise max(error, aliased_error, key=lambda e: e[0])[1]


def _assign(handle: h5py.File, layout: list, path: str) -> None:
    """Assign each listed layer's variables from the file's ``<key>/vars/<i>`` (as Keras would)."""
    for key, layer, shapes in layout:
        store = {str(i): _read(handle, f"{key}/vars/{i}", path) for i in range(len(shapes))}
        try:
            layer.load_own_variables(store)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"Keras could not load layer '{layer.name}' from '{key}' of the weights file "
                f"({type(exc).__name__}: {exc}). Received: weights={path!r}"
            ) from None


def load_weights(model: keras.Model, path: str | os.PathLike) -> keras.Model:
    """Load a Keras ``.weights.h5`` file into ``model``, checking it first.

    Args:
        model: a built ``keras.Model``.
        path: a weights file saved by ``model.save_weights`` (from a kerasnets
            model or the matching ``keras.applications`` model), also one saved
            when a layer of the model had the class `_LAYOUT_ALIASES` names for it
            (AlexNet's ``Conv2D(groups=2)`` layers, now
            [`GroupedConv2D`][kerasnets.layers.GroupedConv2D]).

    Returns:
        The model, with the weights loaded.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a folder.
        TypeError: ``path`` is not a path.
        ValueError: the file is empty, truncated, not HDF5 or corrupt (said
            which); its layers do not match the model's (the message names the
            first layer whose variables differ, and says when it is the input
            channels); or it holds NaN/infinite values (the first such variable
            is named).
    """
    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
        raise IsADirectoryError(
            "`weights` must be a weights file (.weights.h5), not a folder. "
            f"Received: weights={os.fspath(path)!r}"
        )
    path = check_existing_file("weights", path)
    with _open(path) as handle:
        if "layers" not in handle:
            raise ValueError(
                "`weights` must be a Keras 3 weights file (saved with model.save_weights(...)"
                f"'.weights.h5'); it has no 'layers' group. Received: weights={path!r}"
            )
        layout, aliased = _fitting_layout(handle, model, path)
        _check_finite(handle, layout, path)
        if aliased:  # an older layout: Keras would look for the model's own keys
            _assign(handle, layout, path)
            return model
    try:
        model.load_weights(path)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise ValueError(f"Keras could not load the weights file ({type(exc).__name__}: {exc}). Received: weights={path!r}") from None
    return model
