"""Map a PyTorch-layout state dict (torchvision or timm key names) onto a kerasnets model.

A state dict is a flat ``{key: array}`` with keys like ``layer1.0.conv1.weight``. Conversion
has two parts:

1. **Names.** Keys are grouped by module (``layer1.0.conv1``), and a layout's rules map each
   module to a kerasnets layer name (``conv2_block1_1_conv``). The layout is recognised from the
   keys themselves (`detect_layout`).
2. **Tensors.** PyTorch keeps convolution kernels as ``(out, in/groups, kh, kw)`` and dense
   kernels as ``(out, in)``; Keras as ``(kh, kw, in/groups, out)`` and ``(in, out)``. A dense
   layer fed by ``Flatten`` needs its rows reordered, because PyTorch flattens ``(C, H, W)``
   feature maps and Keras ``(H, W, C)``. A convolution that replaces a dense layer (timm keeps
   VGG's fc6 as a 7x7 convolution) is reshaped into the dense kernel. BatchNorm's
   ``weight, bias, running_mean, running_var`` become ``gamma, beta, moving_mean,
   moving_variance`` (``num_batches_tracked`` is dropped).

Every model layer with weights must receive exactly its variables and every source module must
be used; otherwise a ValueError names the key (and both shapes for a shape mismatch).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping

import numpy as np

__all__ = ["LAYOUTS", "detect_layout", "group_modules", "convert_state_dict"]

_BN_KEYS = ("weight", "bias", "running_mean", "running_var")
_IGNORED_SUFFIXES = ("num_batches_tracked",)


def group_modules(state: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """``{"a.b.weight": w, "a.b.bias": b}`` -> ``{"a.b": {"weight": w, "bias": b}}``."""
    modules: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if leaf in _IGNORED_SUFFIXES:
            continue
        modules.setdefault(module, {})[leaf] = np.asarray(value)
    return modules


# ------------------------------------------------------------------------------- name rules


_RESNET_FIXED = {"conv1": "conv1_conv", "bn1": "conv1_bn", "fc": "predictions"}


def _resnet_name(module: str) -> str | None:
    if module in _RESNET_FIXED:
        return _RESNET_FIXED[module]
    m = re.fullmatch(r"layer(\d)\.(\d+)\.(conv|bn)(\d)", module)
    if m:
        stage, block, kind, k = int(m[1]), int(m[2]), m[3], m[4]
        return f"conv{stage + 1}_block{block + 1}_{k}_{kind}"
    m = re.fullmatch(r"layer(\d)\.(\d+)\.downsample\.([01])", module)
    if m:
        stage, block, which = int(m[1]), int(m[2]), m[3]
        return f"conv{stage + 1}_block{block + 1}_0_{'conv' if which == '0' else 'bn'}"
    return None


def _densenet_name(module: str) -> str | None:
    # torchvision's published .pth files spell "norm.1"/"conv.2"; its loader renames them to
    # "norm1"/"conv2" (timm's files already use the new names). Accept both.
    module = re.sub(r"\b(norm|conv)\.([12])$", r"\1\2", module)
    fixed = {
        "features.conv0": "conv1_conv",
        "features.norm0": "conv1_bn",
        "features.norm5": "final_bn",
        "classifier": "predictions",
    }
    if module in fixed:
        return fixed[module]
    m = re.fullmatch(r"features\.denseblock(\d)\.denselayer(\d+)\.(norm1|conv1|norm2|conv2)", module)
    if m:
        block, layer, part = int(m[1]), int(m[2]), m[3]
        suffix = {"norm1": "0_bn", "conv1": "1_conv", "norm2": "1_bn", "conv2": "2_conv"}[part]
        return f"conv{block + 1}_block{layer}_{suffix}"
    m = re.fullmatch(r"features\.transition(\d)\.(norm|conv)", module)
    if m:
        return f"pool{int(m[1]) + 1}_{'bn' if m[2] == 'norm' else 'conv'}"
    return None


def _vgg_names(modules: Mapping[str, Mapping[str, np.ndarray]], model) -> dict[str, str]:
    """VGG's ``features.<i>`` modules are numbered by position: map them in order."""
    convs = [layer.name for layer in model.layers if _kind(layer) == "conv" and layer.name.startswith("conv")]
    bns = [layer.name for layer in model.layers if _kind(layer) == "bn" and layer.name.startswith("conv")]
    feats = sorted(
        (int(m[1]), m[0]) for m in (re.fullmatch(r"features\.(\d+)", name) for name in modules) if m
    )
    out: dict[str, str] = {}
    conv_i = bn_i = 0
    for _, module in feats:
        if "running_mean" in modules[module]:  # a BatchNorm module (the vgg*_bn forms)
            out[module] = bns[bn_i] if bn_i < len(bns) else f"<extra batch norm {module}>"
            bn_i += 1
        else:
            out[module] = convs[conv_i] if conv_i < len(convs) else f"<extra convolution {module}>"
            conv_i += 1
    for src, dst in (
        ("classifier.0", "fc6"),
        ("classifier.3", "fc7"),
        ("classifier.6", "predictions"),
        ("pre_logits.fc1", "fc6"),
        ("pre_logits.fc2", "fc7"),
        ("head.fc", "predictions"),
    ):
        if src in modules:
            out[src] = dst
    return out


# The Inception family: torchvision's BasicConv2d and timm's ConvNormAct are a unit ``<unit>.conv``
# + ``<unit>.bn``, which kerasnets names ``<unit name>_conv`` / ``<unit name>_bn``. A layout is a
# rule for unit names plus a table of the plain layers (classifiers, Inception-ResNet projections).


def _unit_rule(unit: Callable[[str], str | None], plain: Callable[[str], str | None]):
    def rule(module: str) -> str | None:
        name = plain(module)
        if name is not None:
            return name
        base, _, leaf = module.rpartition(".")
        name = unit(base) if leaf in ("conv", "bn") and base else None
        return f"{name}_{leaf}" if name else None

    return rule


def _matching(table: Mapping[str, str]):
    """A rule from ``{regex: template}``: the first full match, formatted with its groups."""
    compiled = [(re.compile(pattern), template) for pattern, template in table.items()]

    def rule(module: str) -> str | None:
        for pattern, template in compiled:
            m = pattern.fullmatch(module)
            if m:
                return template.format(*m.groups())
        return None

    return rule


def _googlenet_unit(module: str) -> str | None:
    m = re.fullmatch(r"inception(\d[a-e])\.branch([1-4])(?:\.([01]))?", module)
    if m:
        branch = {"1": "b1x1", "2": "b3x3", "3": "b5x5", "4": "bpool"}[m[2]]
        return f"inc{m[1]}_{branch}" + (f"_{int(m[3]) + 1}" if m[2] in "23" else "")
    return {"conv1": "conv1", "conv2": "conv2_reduce", "conv3": "conv2"}.get(module) or _matching(
        {r"aux([12])\.conv": "aux{}_conv"}
    )(module)


_PLAIN_GOOGLENET = _matching({"fc": "predictions", r"aux([12])\.fc1": "aux{}_fc1", r"aux([12])\.fc2": "aux{}_predictions"})

# Inception-v3's branches (torchvision names, shared by timm) per module kind -> kerasnets branch.
_V3_BRANCHES = {
    "5": {"branch1x1": "b0", "branch5x5": "b1", "branch3x3dbl": "b2", "branch_pool": "bpool"},
    "6a": {"branch3x3": "b0", "branch3x3dbl": "b1"},
    "6": {"branch1x1": "b0", "branch7x7": "b1", "branch7x7dbl": "b2", "branch_pool": "bpool"},
    "7a": {"branch3x3": "b0", "branch7x7x3": "b1"},
    "7": {"branch1x1": "b0", "branch3x3": "b1", "branch3x3dbl": "b2", "branch_pool": "bpool"},
}


def _inception_v3_unit(module: str) -> str | None:
    m = re.fullmatch(r"Mixed_(\d)([a-e])\.(branch(?:_pool|\d+x\d+(?:dbl|x3)?))(?:_(\d[ab]?))?", module)
    if m:
        kind = _V3_BRANCHES.get(m[1] + m[2]) or _V3_BRANCHES[m[1]]
        branch = kind.get(m[3])
        return branch and f"mixed_{m[1]}{m[2]}_{branch}" + (f"_{m[4]}" if m[4] else "")
    return _matching({r"Conv2d_(\d[ab])_\d+x\d+": "conv{}", "AuxLogits.conv0": "aux_conv1", "AuxLogits.conv1": "aux_conv2"})(
        module
    )


_PLAIN_V3 = _matching({"fc": "predictions", r"AuxLogits\.fc": "aux_predictions"})


def _timm_branch(item: str, rest: str) -> str | None:
    """timm's Inception-v4 / Inception-ResNet-v2 branch path inside module ``item``."""
    if rest == "conv":  # Mixed3a (max-pool, conv) and Mixed5a (conv, max-pool)
        return {"mixed_3a": f"{item}_b1", "mixed_5a": f"{item}_b0"}.get(item)
    m = re.fullmatch(r"branch(\d)(?:[._](\d)([ab]?))?", rest)
    if not m:
        return None
    if m[1] == "3" and m[2] == "1":  # the pool branch: pool, then a 1x1 projection
        return f"{item}_bpool"
    return f"{item}_b{m[1]}" + (f"_{int(m[2]) + 1}{m[3]}" if m[2] else "")


# timm's Inception-v4 keeps its 22 units in one ``features`` Sequential: ``features.N`` is the
# N-th of these (a fact of timm's published key layout, so it is written out here rather than read
# from kerasnets.models: this package is imported by the builders). tests/test_pretrained.py
# checks it against the builder's own layout.
TIMM_INCEPTION_V4_FEATURES = (
    "conv1a", "conv2a", "conv2b", "mixed_3a", "mixed_4a", "mixed_5a",
    "mixed_5b", "mixed_5c", "mixed_5d", "mixed_5e", "mixed_6a",
    "mixed_6b", "mixed_6c", "mixed_6d", "mixed_6e", "mixed_6f", "mixed_6g", "mixed_6h",
    "mixed_7a", "mixed_7b", "mixed_7c", "mixed_7d",
)


def _inception_v4_unit(module: str) -> str | None:
    m = re.fullmatch(r"features\.(\d+)(?:\.(.+))?", module)
    if not m or int(m[1]) >= len(TIMM_INCEPTION_V4_FEATURES):
        return None
    item = TIMM_INCEPTION_V4_FEATURES[int(m[1])]
    return _timm_branch(item, m[2]) if m[2] else item


_IRV2_ITEMS = {"repeat": "block35_{}", "repeat_1": "block17_{}", "repeat_2": "block8_{}"}


def _irv2_item(module: str) -> tuple[str, str | None] | None:
    """(kerasnets module name, the rest of the path) of an Inception-ResNet-v2 key."""
    m = re.fullmatch(r"(repeat(?:_[12])?)\.(\d+)(?:\.(.+))?", module)
    if m:
        return _IRV2_ITEMS[m[1]].format(int(m[2]) + 1), m[3]
    m = re.fullmatch(r"(block8|mixed_\d[ab]|conv2d_\d[ab])(?:\.(.+))?", module)
    if m:
        item = {"block8": "block8_10"}.get(m[1]) or re.sub(r"^conv2d_", "conv", m[1])
        return item, m[2]
    return None


def _inception_resnet_v2_unit(module: str) -> str | None:
    found = _irv2_item(module)
    if not found:
        return None
    item, rest = found
    return _timm_branch(item, rest) if rest else item


def _plain_irv2(module: str) -> str | None:
    if module == "classif":
        return "predictions"
    found = _irv2_item(module)
    return f"{found[0]}_up_conv" if found and found[1] == "conv2d" else None


LAYOUTS: dict[str, Callable[[str], str | None] | None] = {
    "resnet": _resnet_name,
    "densenet": _densenet_name,
    "vgg": None,  # positional, see _vgg_names
    "vgg_timm": None,
    "googlenet": _unit_rule(_googlenet_unit, _PLAIN_GOOGLENET),
    "inception_v3": _unit_rule(_inception_v3_unit, _PLAIN_V3),
    "inception_v4": _unit_rule(_inception_v4_unit, _matching({"last_linear": "predictions"})),
    "inception_resnet_v2": _unit_rule(_inception_resnet_v2_unit, _plain_irv2),
}

_SIGNATURES = (
    ("resnet", "layer1.0.conv1.weight"),
    ("densenet", "features.denseblock1."),
    ("vgg_timm", "pre_logits.fc1.weight"),
    ("vgg", "classifier.0.weight"),
    ("googlenet", "inception3a.branch1."),
    ("inception_v3", "Mixed_5b.branch1x1."),
    ("inception_v4", "features.19.branch1_1a."),
    ("inception_resnet_v2", "repeat_1.0.branch0."),
)

# Heads a model may lack: the classifier (include_top=False) and the auxiliary classifiers
# (torchvision's files keep them; its models drop them in eval). A file's tensors for them are
# then skipped.
_OPTIONAL = re.compile(r"predictions|aux\d?_.*")


def detect_layout(keys: Iterable[str]) -> str:
    """The layout a state dict's keys follow; ValueError showing some keys when none fits."""
    keys = list(keys)
    for layout, marker in _SIGNATURES:
        if any(k.startswith(marker) for k in keys):
            return layout
    shown = ", ".join(repr(k) for k in keys[:5])
    raise ValueError(
        "The weights file's keys follow no layout kerasnets can map (torchvision/timm ResNet, "
        f"ResNeXt, DenseNet, VGG, GoogLeNet or Inception). Received keys: {shown}{', ...' if len(keys) > 5 else ''}"
    )


# ------------------------------------------------------------------------------- tensors


_KINDS = {"Conv2D": "conv", "Dense": "dense", "BatchNormalization": "bn"}


def _kind(layer) -> str | None:
    return _KINDS.get(type(layer).__name__)


def _conv_kernel(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))


def _dense_kernel(layer, w: np.ndarray, model) -> np.ndarray:
    if w.ndim == 4:
        # A convolution standing in for a dense layer (timm's VGG fc6 7x7, fc7 1x1): its
        # (kh, kw, in) window flattens in Keras' (H, W, C) order once transposed.
        return _conv_kernel(w).reshape(-1, w.shape[0])
    kernel = w.T
    chw = _flatten_source(layer, model)
    if chw is not None:
        h, wd, c = chw
        if kernel.shape[0] == h * wd * c:
            # PyTorch flattened (C, H, W); Keras flattens (H, W, C).
            kernel = kernel.reshape(c, h, wd, -1).transpose(1, 2, 0, 3).reshape(h * wd * c, -1)
    return kernel


def _flatten_source(layer, model) -> tuple[int, int, int] | None:
    """(H, W, C) of the feature map a ``Flatten`` feeds into ``layer``, if there is one."""
    names = [l.name for l in model.layers]
    i = names.index(layer.name)
    for prev in reversed(model.layers[:i]):
        if type(prev).__name__ == "Flatten":
            shape = prev.input.shape
            return (int(shape[1]), int(shape[2]), int(shape[3])) if len(shape) == 4 else None
        if _kind(prev) is not None:
            return None
    return None


def _layer_arrays(layer, params: Mapping[str, np.ndarray], module: str, model) -> list[np.ndarray]:
    kind = _kind(layer)
    if kind == "bn":
        missing = [k for k in _BN_KEYS if k not in params]
        if missing:
            raise ValueError(f"The weights file lacks `{module}.{missing[0]}` for batch norm `{layer.name}`.")
        arrays = []
        if layer.scale:
            arrays.append(params["weight"])
        elif not np.all(params["weight"] == 1):
            # A scale-less batch norm can take the file only where its scale is all ones.
            raise ValueError(
                f"The weights file's `{module}.weight` is a learned batch-norm scale, but batch norm "
                f"`{layer.name}` has none: build the model with `bn_scale=True` (the Inception networks) "
                "or use a file for this configuration."
            )
        if layer.center:
            arrays.append(params["bias"])
        return arrays + [params["running_mean"], params["running_var"]]
    if "weight" not in params:
        raise ValueError(f"The weights file lacks `{module}.weight` for layer `{layer.name}`.")
    kernel = _conv_kernel(params["weight"]) if kind == "conv" else _dense_kernel(layer, params["weight"], model)
    arrays = [kernel]
    if layer.use_bias:
        if "bias" not in params:
            raise ValueError(f"The weights file lacks `{module}.bias` for layer `{layer.name}`.")
        arrays.append(params["bias"])
    elif "bias" in params:
        raise ValueError(
            f"The weights file has `{module}.bias` but layer `{layer.name}` has no bias: the file is "
            "for another configuration of this model."
        )
    return arrays


def convert_state_dict(
    state: Mapping[str, np.ndarray], model, *, layout: str | None = None
) -> dict[str, list[np.ndarray]]:
    """Convert a PyTorch-layout state dict into ``{keras layer name: [arrays in layer.weights order]}``.

    Args:
        state: ``{key: array}`` as read from a ``.safetensors`` or ``.pth`` file.
        model: the kerasnets model the arrays are for.
        layout: one of `LAYOUTS`; detected from the keys when None.

    Raises:
        ValueError: naming the first key that is missing, left over, or of the wrong shape.
    """
    layout = layout or detect_layout(state)
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown weights layout. Expected one of {sorted(LAYOUTS)}. Received: layout={layout!r}")
    modules = group_modules(state)
    if layout in ("vgg", "vgg_timm"):
        names = _vgg_names(modules, model)
    else:
        rule = LAYOUTS[layout]
        names = {m: rule(m) for m in modules}
    weighted = {layer.name: layer for layer in model.layers if layer.weights}
    out: dict[str, list[np.ndarray]] = {}
    for module, params in modules.items():
        target = names.get(module)
        if target is not None and target not in weighted and _OPTIONAL.fullmatch(target):
            continue  # a head the model does not have (include_top=False, no aux_logits)
        if target is None or target not in weighted:
            key = f"{module}.{next(iter(params))}"
            raise ValueError(
                f"The weights file's key `{key}` matches no layer of model `{model.name}`"
                + (f" (it would be layer `{target}`)" if target else "")
                + f": the file is not a {layout!r}-layout file for this architecture."
            )
        layer = weighted[target]
        arrays = _layer_arrays(layer, params, module, model)
        expected = [tuple(v.shape) for v in layer.weights]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            raise ValueError(
                f"The weights file's `{module}` has shapes {got} after conversion but layer `{target}` "
                f"of model `{model.name}` expects {expected}."
            )
        if target in out:
            raise ValueError(f"Two modules of the weights file map onto layer `{target}` (the second: `{module}`).")
        out[target] = [a.astype(np.float32, copy=False) for a in arrays]
    missing = [name for name in weighted if name not in out]
    if missing:
        raise ValueError(
            f"The weights file has no tensors for layer `{missing[0]}` of model `{model.name}`"
            f" ({len(missing)} layer(s) missing): the file is for another model or configuration."
        )
    return out
