"""The one place that writes the public builders: their signature, docstring and registration.

Every builder follows ``keras.applications``: keyword-only ``include_top, weights,
input_tensor, input_shape, pooling, classes, classifier_activation``, then kerasnets'
``activation``, the family's own options, and ``name``. A family module holds its
configuration table, its block functions and one ``_build``; ``define_variants``
turns that into one public function per variant:

```python
vgg11, vgg16 = define_variants(
    "vgg",
    _build,                       # _build(spec, config, common, *, <family options>)
    (Variant("vgg11", CONFIGS["vgg11"], doc="...", paper=..., default_size=224, ...), ...),
    options=(Option("dropout", 0.5, "dropout rate after fc6 and fc7."),),
    returns="A ``keras.Model`` ...",
)
```

Each builder gets a real ``__signature__`` (``help()``, ``inspect.signature`` and
mkdocstrings show the keyword-only arguments and their defaults), a docstring made of the
variant's own text, its reference counts (from the registry record, so the two cannot
disagree) and one shared text per argument, and is registered
([kerasnets.ModelSpec][]). Calling it binds the arguments (an unknown or positional
argument is a ``TypeError`` naming the builder and listing its arguments), splits off the
common ones into one dict, and calls ``build(spec, config, common, **options)``;
``kerasnets.blocks.prepare`` checks the common ones.
"""

from __future__ import annotations

import dataclasses
import inspect
import textwrap
from typing import Any, Callable, Sequence, Union

from kerasnets._registry import FeatureInfo, ModelSpec, add_spec
from kerasnets.checks import is_published_name

__all__ = [
    "Option",
    "Variant",
    "variant",
    "define_variants",
    "stages",
    "PER_VARIANT",
    "IMAGENET_SIZES",
    "CIFAR_SIZES",
    "COMMON_OPTIONS",
    "COMMON_NAMES",
]

Doc = Union[str, Callable[["Variant"], str]]


@dataclasses.dataclass(frozen=True)
class Option:
    """One builder argument: its name, default and docstring text.

    ``doc`` is a string or a function of the ``Variant``
    (for text that differs per variant). ``default`` may be ``PER_VARIANT``:
    ``classes`` defaults to the variant's ``default_classes`` and ``name`` to its name.
    """

    name: str
    default: Any
    doc: Doc


PER_VARIANT = object()  # a default taken from the variant (classes, name)

COMMON_OPTIONS = (
    Option("include_top", True, "whether to include the classifier head (the paper's last layers)."),
    Option(
        "weights",
        None,
        "None (random initialisation); a published ImageNet weights name such as "
        '``"timm/resnet50.tv_in1k"`` (downloaded once and cached; it also selects the builder '
        "options the file was trained with; ``kerasnets.list_pretrained()`` lists them, see "
        "docs/weights.md); the path of a torchvision/timm ``.safetensors`` (or, with PyTorch, "
        "``.pth``) file; or the path of a ``.weights.h5`` file saved from this architecture (or "
        "from the matching ``keras.applications`` model where the docstring says so). "
        '``"imagenet"`` is an error naming these choices.',
    ),
    Option(
        "input_tensor",
        None,
        "optional Keras tensor (rank 4) to use as the image input; with ``input_shape`` too, "
        "the two must agree.",
    ),
    Option(
        "input_shape",
        None,
        "optional ``(height, width, channels)`` of integers; defaults to the paper's size.",
    ),
    Option(
        "pooling",
        None,
        'with ``include_top=False``: None (the last feature map), ``"avg"`` or ``"max"`` (global '
        "pooling to a vector). With the top it is ignored, with a warning.",
    ),
    Option(
        "classes",
        PER_VARIANT,
        "number of classes of the classifier head (without the top a non-default value is "
        "ignored, with a warning).",
    ),
    Option("classifier_activation", "softmax", 'activation of the head (``"softmax"``, or None for logits).'),
    Option(
        "activation",
        "relu",
        'the network\'s nonlinearity: ``"relu"`` (default), ``"leaky_relu"``, ``"prelu"``, '
        '``"elu"``, ``"selu"``, ``"gelu"``, ``"swish"``/``"silu"``, ``"mish"``, ``"crelu"`` '
        '(doubles channels), ``"maxout"`` (halves them; ``("maxout", {"pieces": k})``), '
        '``"tanh"``, ``"sigmoid"``, ``"dynamic_relu"``; a ``(name, options)`` pair passes options '
        "to the layer (unknown option keys are an error).",
    ),
)
_NAME = Option("name", PER_VARIANT, "the model's name (default: the variant's name).")
COMMON_NAMES = tuple(o.name for o in COMMON_OPTIONS) + ("name",)

def stages(*layers: tuple[str, int], first_stride: int = 2) -> tuple[FeatureInfo, ...]:
    """Stage records ``(layer, channels)`` whose strides double from ``first_stride`` (2, 4, 8, ...)."""
    return tuple(FeatureInfo(layer, channels, first_stride * 2**i) for i, (layer, channels) in enumerate(layers))


# The registry's size fields of the two usual input regimes.
IMAGENET_SIZES = dict(default_size=224, min_size=32)
CIFAR_SIZES = dict(default_size=32, min_size=8, default_classes=10)

_RAISES = """ValueError: a bad argument value (the message names the argument and the value).
TypeError: an argument of the wrong type, a positional or an unknown argument."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """One public variant of a family.

    Attributes:
        name: the builder's (and the registry's) name.
        config: the family's configuration record for it, passed to ``build``.
        doc: the docstring's own text: a title line, then paragraphs.
        example: doctest lines (after ``>>> import kerasnets``); None: the default example,
            the output shape of the default model (inputs of at most 32 pixels) or of the
            headless model at 64x64 (its last stage, from the registry's ``features``).
        spec: the other [ModelSpec][kerasnets.ModelSpec] fields (``paper``, ``default_size``,
            ``min_size``, reference counts, ``features``, ``preprocessing``, ...).
    """

    name: str
    config: Any
    doc: str
    example: str | None
    spec: dict


def variant(name: str, config: Any = None, *, doc: str, example: str | None = None, **spec: Any) -> Variant:
    """Shorthand for ``Variant`` with the spec fields as keywords."""
    return Variant(name, config, doc, example, spec)


def define_variants(
    family: str,
    build: Callable[..., Any],
    variants: Sequence[Variant],
    *,
    options: Sequence[Option] = (),
    returns: Doc,
    raises: str = "",
    defaults: dict | None = None,
) -> tuple[Callable[..., Any], ...]:
    """Create, document and register one keyword-only builder per variant.

    Args:
        family: the family's name in the registry.
        build: ``build(spec, config, common, **options)`` returning the model; ``common`` is
            the dict of the common arguments (``include_top`` ... ``activation``, ``name``).
        variants: the family's variants.
        options: the family's own arguments, in signature order after ``activation``. An
            option named like a common one replaces it in place (LeNet's ``activation``
            defaults to its form's nonlinearity).
        returns: the docstring's Returns text (or a function of the variant).
        raises: extra Raises lines, appended to the shared ones.
        defaults: spec fields shared by every variant (``paper``, ``preprocessing``...);
            a variant's own fields win.

    Returns:
        The builders, in the order of ``variants``.
    """
    module = build.__module__
    replaced = {o.name: o for o in options if o.name in COMMON_NAMES}
    own = [o for o in options if o.name not in COMMON_NAMES]
    arguments = [replaced.get(o.name, o) for o in COMMON_OPTIONS] + own + [_NAME]
    builders = []
    for v in variants:
        spec_fields = {**(defaults or {}), **v.spec}
        builder = _builder(v, build, arguments, spec_fields.get("default_classes", 1000))
        builder.__module__ = module
        spec = add_spec(
            ModelSpec(
                name=v.name,
                family=family,
                builder=builder,
                **{**spec_fields, "features": tuple(spec_fields.get("features", ()))},
            )
        )
        builder.__doc__ = _docstring(v, spec, arguments, returns, raises)
        builder._spec = spec
        builders.append(builder)
    return tuple(builders)


def _builder(v: Variant, build: Callable[..., Any], arguments: list[Option], default_classes: int):
    defaults = {"classes": default_classes, "name": v.name}
    signature = inspect.Signature(
        [
            inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=defaults.get(o.name, o.default))
            for o in arguments
        ]
    )
    names = ", ".join(signature.parameters)

    def builder(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{v.name}() {exc}; its arguments (keyword-only) are: {names}") from None
        given = dict(bound.arguments)
        bound.apply_defaults()
        values = dict(bound.arguments)
        if is_published_name(values["weights"]):
            # A published weights name selects the options its file was trained with (e.g.
            # torchvision's ResNet v1.5 stride); options the caller set must agree with them.
            from kerasnets.pretrained import builder_options

            chosen = builder_options(v.name, values["weights"], {k: given[k] for k in given if k not in COMMON_NAMES})
            unknown = sorted(set(chosen) - set(values))
            if unknown:
                raise ValueError(
                    f"{v.name}() has no option {unknown[0]!r}, which the weights {values['weights']!r} need. "
                    f"Received: weights={values['weights']!r}"
                )
            values.update(chosen)
        common = {n: values.pop(n) for n in COMMON_NAMES}
        return build(builder._spec, v.config, common, **values)

    builder.__name__ = builder.__qualname__ = v.name
    builder.__signature__ = signature
    return builder


def _text(doc: Doc, v: Variant) -> str:
    return doc(v) if callable(doc) else doc


def _counts(spec: ModelSpec) -> str:
    lines = []
    if spec.ref_params is not None:
        lines.append(
            f"Parameters (classes={spec.default_classes}, trainable): {spec.ref_params:,} ({spec.ref_params_source})."
        )
    size = f"{spec.default_size}x{spec.default_size}"
    if spec.ref_macs is not None:
        lines.append(f"Multiply-accumulates at {size}: {spec.ref_macs:,} ({spec.ref_macs_source}).")
    lines.append(f'Input preprocessing: ``kerasnets.preprocess_input(x, mode="{spec.preprocessing}")``.')
    return " ".join(lines)


def _default_example(spec: ModelSpec) -> str:
    if spec.default_size <= 32:
        return f">>> kerasnets.{spec.name}().output.shape\n(None, {spec.default_classes})"
    last = spec.features[-1]
    side = 64 // last.stride
    return (
        f">>> kerasnets.{spec.name}(include_top=False, input_shape=(64, 64, {spec.channels})).output.shape\n"
        f"(None, {side}, {side}, {last.channels})"
    )


def _section(title: str, body: str) -> str:
    return f"{title}:\n" + textwrap.indent(body.strip("\n"), "    ")


def _docstring(v: Variant, spec: ModelSpec, arguments: list[Option], returns: Doc, raises: str) -> str:
    args = []
    for o in arguments:
        text = textwrap.fill(
            f"{o.name}: {_text(o.doc, v)}", width=96, subsequent_indent="    ", break_on_hyphens=False
        )
        args.append(text)
    raise_text = _RAISES + ("\n" + inspect.cleandoc(raises) if raises else "")
    example = ">>> import kerasnets\n" + (_default_example(spec) if v.example is None else inspect.cleandoc(v.example))
    parts = [
        inspect.cleandoc(v.doc),
        textwrap.fill(_counts(spec), width=96, break_on_hyphens=False),
        _section("Args", "\n".join(args)),
        _section("Returns", inspect.cleandoc(_text(returns, v))),
        _section("Raises", raise_text),
        _section("Examples", example),
    ]
    return "\n\n".join(parts) + "\n"
