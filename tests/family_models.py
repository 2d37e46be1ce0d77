"""The small model per registered family that the export, JAX and distribute tests build.

Families come from ``kerasnets.list_families()``, so a newly registered family is covered
without editing the tests. Per family the variant with the fewest reference parameters is
taken, at its minimum input size (at least ``MIN_SIDE`` pixels). Fixed-size heads
(Flatten + Dense: LeNet, AlexNet, VGG) at other sizes become ``include_top=False``,
``pooling="avg"`` plus a Dense softmax ``predictions`` layer. Kept importable without
pytest so the JAX-backend subprocess can use it.
"""

from __future__ import annotations

MIN_SIDE = 16
CLASSES = 5


def pick_per_family(pick=min) -> list:
    """Per registered family (sorted), the spec ``pick`` (``min`` or ``max``) chooses by reference
    parameters (a model without a reference figure counts as the largest), ties by name."""
    import kerasnets

    def size(spec):
        return (spec.ref_params if spec.ref_params is not None else float("inf"), spec.name)

    return [pick((kerasnets.get_spec(n) for n in kerasnets.list_models(family=family)), key=size)
            for family in kerasnets.list_families()]


def smallest_per_family() -> list[tuple[str, str, int]]:
    """``[(family, model name, input side), ...]`` sorted by family."""
    picks = []
    for spec in pick_per_family(min):
        side = spec.default_size if spec.fixed_size and spec.default_size <= 32 else max(spec.min_size, MIN_SIDE)
        picks.append((spec.family, spec.name, side))
    return picks


def small_classifier(name: str, side: int, classes: int = CLASSES):
    """A ``classes``-way softmax classifier from registered model ``name`` at ``side`` pixels."""
    import keras

    import kerasnets

    spec = kerasnets.get_spec(name)
    shape = (side, side, spec.channels)
    if spec.fixed_size and side != spec.default_size:
        base = kerasnets.get_model(name, include_top=False, pooling="avg", input_shape=shape)
        out = keras.layers.Dense(classes, activation="softmax", name="predictions")(base.output)
        return keras.Model(base.input, out, name=f"{name}_{side}px")
    return kerasnets.get_model(name, classes=classes, input_shape=shape)
