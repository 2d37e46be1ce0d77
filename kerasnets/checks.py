"""Every argument check of kerasnets, public, with one wording per check.

Messages always say what was expected (`` `arg` must be ...``), then
``Received: <arg>=<value>``, the wording of Keras's own argument errors. Builders,
readers, apps and CLIs call these before creating any layer or touching any file,
so bad input fails at the edge with a message that names the argument and the value.
``ValueError`` is raised for a value of the right kind that is not allowed,
``TypeError`` for a value of the wrong kind.

The builder checks (``check_input_shape``, ``check_head_arguments``,
``check_aux_logits``, ...) are collected here rather than next to each family, so that
every family refuses the same mistakes with the same words. This module imports Keras
only inside the two checks that need it, so a CLI can use it before Keras loads.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "is_published_name",
    "check_choice",
    "check_positive_int",
    "check_positive_number",
    "check_fraction",
    "check_bool",
    "check_classes",
    "check_pooling",
    "check_weights",
    "check_existing_file",
    "check_input_shape",
    "check_channels_last",
    "check_activation",
    "check_same_length",
    "check_classifier_activation",
    "check_name",
    "check_int_tuple",
    "check_input_tensor",
    "check_head_arguments",
    "check_aux_logits",
    "check_none_unless",
    "ACTIVATIONS",
    "ACTIVATION_OPTIONS",
]

# Activation names every builder accepts (see kerasnets.blocks.apply_activation).
ACTIVATIONS = (
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "mish",
    "crelu",
    "maxout",
    "tanh",
    "sigmoid",
    "dynamic_relu",
)

# The options each activation accepts in a ``(name, options)`` pair; any other key is an error.
ACTIVATION_OPTIONS = {
    "leaky_relu": ("negative_slope",),
    "maxout": ("pieces",),
    "dynamic_relu": ("reduction", "pieces", "lambda_a", "lambda_b"),
}

#: The prefixes of published weights names (``timm/<model>.<tag>``, ``torchvision/<model>``).
PUBLISHERS = ("timm/", "torchvision/")


def is_published_name(weights) -> bool:
    """True for a ``timm/...`` or ``torchvision/...`` name, registered or not (an unknown one is
    then an error of `kerasnets.pretrained.get_pretrained` listing close names, not a missing file)."""
    return isinstance(weights, str) and weights.startswith(PUBLISHERS)


def check_choice(arg: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Check ``value`` is one of ``allowed``; return it."""
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"`{arg}` must be one of {shown}. Received: {arg}={value!r}")
    return value


def check_bool(arg: str, value: Any) -> bool:
    """Check ``value`` is a bool (not a truthy string or int); return it."""
    if not isinstance(value, bool):
        raise TypeError(f"`{arg}` must be True or False. Received: {arg}={value!r}")
    return value


def check_positive_int(arg: str, value: Any, *, minimum: int = 1) -> int:
    """Check ``value`` is an int >= ``minimum``; return it."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not _is_integer_like(value):
        raise TypeError(f"`{arg}` must be an integer >= {minimum}. Received: {arg}={value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"`{arg}` must be an integer >= {minimum}. Received: {arg}={value!r}")
    return value


def _is_integer_like(value: Any) -> bool:
    try:
        import numpy as np

        return isinstance(value, np.integer)
    except ImportError:  # pragma: no cover - numpy is a dependency
        return False


def check_positive_number(arg: str, value: Any, *, allow_zero: bool = False) -> float:
    """Check ``value`` is a finite real number > 0 (or >= 0); return it as float.

    ``inf`` and ``nan`` are refused: every caller expects a finite number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_number_like(value):
        raise TypeError(f"`{arg}` must be a number. Received: {arg}={value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{arg}` must be a finite number {bound}. Received: {arg}={value!r}")
    return value


def _is_number_like(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (np.integer, np.floating))


def check_fraction(arg: str, value: Any, *, inclusive_high: bool = False) -> float:
    """Check ``0 <= value < 1`` (or ``<= 1``); return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_number_like(value):
        raise TypeError(f"`{arg}` must be a number in [0, 1{']' if inclusive_high else ')'}. Received: {arg}={value!r}")
    value = float(value)
    high_ok = value <= 1 if inclusive_high else value < 1
    if not (value >= 0 and high_ok):
        raise ValueError(
            f"`{arg}` must be a number in [0, 1{']' if inclusive_high else ')'}. Received: {arg}={value!r}"
        )
    return value


def check_classes(classes: Any) -> int:
    """Check the classifier size."""
    return check_positive_int("classes", classes)


def check_pooling(pooling: Any) -> Any:
    """Check ``pooling`` is None, "avg" or "max"."""
    return check_choice("pooling", pooling, (None, "avg", "max"))


def check_activation(activation: Any, arg: str = "activation") -> Any:
    """Check an activation spec: a name from ACTIVATIONS, or a (name, options) pair.

    ``("maxout", {"pieces": 3})`` and ``("leaky_relu", {"negative_slope": 0.1})``
    pass options to the layer.
    """
    name, options = activation, {}
    if isinstance(activation, (tuple, list)) and len(activation) == 2 and isinstance(activation[1], dict):
        name, options = activation
    if not isinstance(name, str):
        raise TypeError(
            f"`{arg}` must be an activation name or a (name, options) pair; "
            f"allowed names: {', '.join(ACTIVATIONS)}. Received: {arg}={activation!r}"
        )
    check_choice(arg, name.lower(), ACTIVATIONS + ("linear",))
    allowed = ACTIVATION_OPTIONS.get(name.lower(), ())
    unknown = sorted(str(key) for key in options if key not in allowed)
    if unknown:
        takes = f"takes the options {', '.join(allowed)}" if allowed else "takes no options"
        raise ValueError(
            f"`{arg}` options must be known to the activation: {name!r} {takes}; unknown: "
            f"{', '.join(unknown)}. Received: {arg}={activation!r}"
        )
    return activation


def check_existing_file(arg: str, path: Any, *, suffixes: Sequence[str] = ()) -> str:
    """Check ``path`` names an existing file (optionally with one of ``suffixes``)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{arg}` must be a file path. Received: {arg}={path!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`{arg}` must name an existing file. Received: {arg}={path!r}")
    if suffixes and not any(path.endswith(s) for s in suffixes):
        raise ValueError(f"`{arg}` must be a file ending in {' or '.join(suffixes)}. Received: {arg}={path!r}")
    return path


def check_weights(weights: Any) -> str | None:
    """Check ``weights``: None, a published weights name, or an existing weights file.

    Accepted: a name from ``kerasnets.list_pretrained()`` (``"timm/resnet50.tv_in1k"``), a
    torchvision/timm ``.safetensors`` or ``.pth`` file, or a Keras ``.weights.h5`` / ``.h5`` file.

    Raises:
        TypeError: not None, a string or a path.
        ValueError: an unknown name (close names suggested), ``"imagenet"`` (the message lists
            the published names to use instead), a missing file or folder, or another suffix.
    """
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"`weights` must be None, a published weights name or a path to a weights file. Received: weights={weights!r}")
    path = os.fspath(weights)
    if is_published_name(path):
        from kerasnets.pretrained.sources import get_pretrained


        get_pretrained(path)  # an unknown name is a ValueError suggesting close ones
        return path
    if not os.path.isfile(path):
        if path.lower() in ("imagenet", "imagenet21k", "pretrained", "default"):
            raise ValueError(
                "kerasnets names its ImageNet weights by their published source: pass e.g. "
                "weights='timm/resnet50.tv_in1k' (`kerasnets list --pretrained` or "
                "kerasnets.list_pretrained() lists them; docs/weights.md), a downloaded "
                ".safetensors/.pth file, or a .weights.h5 file saved with model.save_weights or from "
                f"the matching keras.applications model. Received: weights={weights!r}"
            )
        what = "is a folder, not a file" if os.path.isdir(path) else "No such file"
        raise ValueError(
            "`weights` must be None, a published weights name or the path of an existing weights file "
            f"(.weights.h5, .safetensors, .pth). {what}. Received: weights={weights!r}"
        )
    lower = path.lower()
    if not lower.endswith((".h5", ".hdf5", ".safetensors", ".pth", ".pt")):
        raise ValueError(
            "`weights` must be a Keras weights file ending in .weights.h5 (or .h5), or a "
            f"torchvision/timm .safetensors or .pth file. Received: weights={weights!r}"
        )
    return path


def check_channels_last() -> None:
    """kerasnets builds channels_last models only."""
    import keras

    fmt = keras.config.image_data_format()
    if fmt != "channels_last":
        raise ValueError(
            "kerasnets models are channels_last only; call "
            "keras.config.set_image_data_format('channels_last'). "
            f"Received: image_data_format={fmt!r}"
        )


def check_input_shape(
    input_shape: Any,
    *,
    input_tensor: Any,
    default_size: int,
    min_size: int,
    channels: int,
    include_top: bool,
    fixed_size: bool,
    model_name: str,
) -> tuple:
    """Resolve and check the input shape of a builder.

    Returns:
        ``(height, width, channels)`` where height/width may be None (any size)
        when ``include_top`` does not need a fixed size and the user gave None.

    Raises:
        ValueError: wrong rank, a dimension that is not an integer (``28.7`` is refused,
            not truncated), too few pixels (names the minimum), a fixed-size head with a
            non-default size, a non-positive dimension, or an ``input_tensor`` whose shape
            contradicts ``input_shape``.
    """
    if input_tensor is not None:
        tensor_shape = check_input_tensor(input_tensor, input_shape)
        if input_shape is None:
            input_shape = tensor_shape
    if input_shape is None:
        return (default_size, default_size, channels)
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            "`input_shape` must be a tuple (height, width, channels) (channels_last). "
            f"Received: input_shape={input_shape!r}"
        )
    for d in input_shape:
        if d is not None and (isinstance(d, bool) or not (isinstance(d, int) or _is_integer_like(d))):
            raise ValueError(
                "`input_shape` must hold integers (or None for a free height/width). "
                f"Received: input_shape={tuple(input_shape)!r}"
            )
    height, width, chans = (None if d is None else int(d) for d in input_shape)
    if chans is None or chans < 1:
        raise ValueError(
            f"`input_shape` must have a known, positive channel count. Received: input_shape={tuple(input_shape)!r}"
        )
    for side in (height, width):
        if side is not None and side < 1:
            raise ValueError(
                f"`input_shape` must have positive dimensions. Received: input_shape={tuple(input_shape)!r}"
            )
        if side is not None and side < min_size:
            raise ValueError(
                f"`input_shape` is too small for {model_name}: height and width must be at least "
                f"{min_size}. Received: input_shape={tuple(input_shape)!r}"
            )
    if include_top and fixed_size and (height, width) != (default_size, default_size):
        raise ValueError(
            f"With include_top=True, {model_name}'s fully-connected head needs input_shape "
            f"({default_size}, {default_size}, {chans}); use include_top=False (with pooling) for "
            f"other sizes. Received: input_shape={tuple(input_shape)!r}"
        )
    return (height, width, chans)


def check_same_length(arg_a: str, a: Sequence, arg_b: str, b: Sequence) -> None:
    """Check two per-stage config lists have the same length."""
    if len(a) != len(b):
        raise ValueError(
            f"`{arg_a}` and `{arg_b}` must have one entry per stage (the same length). "
            f"Received: {arg_a}={tuple(a)!r}, {arg_b}={tuple(b)!r}"
        )


def check_input_tensor(input_tensor: Any, input_shape: Any = None) -> tuple:
    """Check an ``input_tensor`` is a batch of images (rank 4) agreeing with ``input_shape``.

    Returns:
        The tensor's ``(height, width, channels)`` (entries may be None).

    Raises:
        ValueError: a tensor without a rank-4 shape, or one whose known dimensions differ
            from a given ``input_shape`` (Keras would otherwise build on one of the two).
    """
    shape = getattr(input_tensor, "shape", None)
    if shape is None or len(tuple(shape)) != 4:
        raise ValueError(
            "`input_tensor` must be a rank-4 (batch, height, width, channels) tensor. "
            f"Received: input_tensor with shape {None if shape is None else tuple(shape)!r}"
        )
    dims = tuple(None if d is None else int(d) for d in tuple(shape)[1:])
    if input_shape is not None and isinstance(input_shape, (tuple, list)) and len(input_shape) == 3:
        for given, actual in zip(input_shape, dims):
            if given is not None and actual is not None and given != actual:
                raise ValueError(
                    "`input_shape` and `input_tensor` must agree (give one of them, or the same "
                    f"shape): the tensor's shape is {dims!r}. Received: input_shape={tuple(input_shape)!r}"
                )
    return dims


def check_classifier_activation(classifier_activation: Any) -> Any:
    """Check the head's activation: None, a Keras activation name or a callable."""
    if classifier_activation is None or callable(classifier_activation):
        return classifier_activation
    if not isinstance(classifier_activation, str):
        raise TypeError(
            "`classifier_activation` must be None, an activation name or a callable. "
            f"Received: classifier_activation={classifier_activation!r}"
        )
    import keras

    try:
        keras.activations.get(classifier_activation)
    except ValueError:
        raise ValueError(
            "`classifier_activation` must be None or a Keras activation name such as 'softmax'. "
            f"Received: classifier_activation={classifier_activation!r}"
        ) from None
    return classifier_activation


def check_name(name: Any, arg: str = "name") -> str | None:
    """Check a model or layer name: None or a non-empty string."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"`{arg}` must be a string. Received: {arg}={name!r}")
    if name is not None and not name.strip():
        raise ValueError(f"`{arg}` must be a non-empty string. Received: {arg}={name!r}")
    return name


def check_int_tuple(arg: str, value: Any, length: int, *, minimum: int = 1, what: str = "") -> tuple[int, ...]:
    """Check ``value`` is a sequence of ``length`` integers >= ``minimum``; return it as a tuple."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != length:
        hint = f" ({what})" if what else ""
        count = {2: "two", 3: "three", 4: "four"}.get(length, str(length))
        raise ValueError(f"`{arg}` must be {count} integers{hint}. Received: {arg}={value!r}")
    return tuple(check_positive_int(f"{arg}[{i}]", v, minimum=minimum) for i, v in enumerate(value))


def check_head_arguments(*, include_top: bool, pooling: Any, classes: int, default_classes: int, model_name: str) -> None:
    """Warn about head arguments that the chosen configuration ignores.

    Like ``keras.applications``, ``pooling`` only applies with ``include_top=False`` and
    ``classes`` only with ``include_top=True``; there Keras ignores them silently. Here each
    ignored value gives a ``UserWarning`` naming it (a warning rather than an error, so code
    that forwards one set of arguments to both forms, such as a feature extractor, keeps
    working). ``pooling=None`` and the variant's default ``classes`` are never reported.
    """
    if include_top and pooling is not None:
        warnings.warn(
            f"`pooling` applies only with include_top=False; {model_name}'s head pools by itself, so it "
            f"is ignored. Received: pooling={pooling!r}",
            UserWarning,
            stacklevel=5,  # the caller of the builder
        )
    if not include_top and classes != default_classes:
        warnings.warn(
            f"`classes` applies only with include_top=True (the classifier head); {model_name} without "
            f"its top has no classifier, so it is ignored. Received: classes={classes!r}",
            UserWarning,
            stacklevel=5,  # the caller of the builder
        )


def check_aux_logits(aux_logits: Any, *, include_top: bool, input_shape: tuple, min_size: int, model_name: str) -> bool:
    """The one check of the Inception auxiliary classifiers (``aux_logits``).

    Auxiliary heads are classifiers (they need ``include_top=True``) whose dense layer is
    sized from the map they read, so they need a static input of at least ``min_size``.
    """
    check_bool("aux_logits", aux_logits)
    if not aux_logits:
        return False
    if not include_top:
        raise ValueError(
            "`aux_logits=True` needs include_top=True (the auxiliary heads are classifiers). "
            f"Received: include_top={include_top!r}"
        )
    height, width, _ = input_shape
    if height is None or width is None:
        raise ValueError(
            "`aux_logits=True` needs a static input size (the auxiliary classifier's dense layer is "
            f"sized from it). Received: input_shape={tuple(input_shape)!r}"
        )
    if min(height, width) < min_size:
        raise ValueError(
            f"`input_shape` is too small for {model_name} with aux_logits=True: height and width must be "
            f"at least {min_size}. Received: input_shape={tuple(input_shape)!r}"
        )
    return True


def check_none_unless(arg: str, value: Any, applies: bool, why: str) -> Any:
    """Check an option that only some variants have is None where it does not apply.

    ``why`` completes "`arg` applies to ...; <why>", e.g. ``"residual networks; plain18 is a
    plain network (no shortcuts)"``.
    """
    if value is not None and not applies:
        raise ValueError(f"`{arg}` applies to {why}, so it must be None. Received: {arg}={value!r}")
    return value
