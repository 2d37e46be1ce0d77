"""A model's "old form": every `kerasnets.layers.GroupedConv2D` as the ``Conv2D(groups=g)`` it replaced.

kerasnets' AlexNet built ``Conv2D(groups=2)`` for its two towers before it built ``GroupedConv2D``
(the same layer computed group by group); the AlexNet and weights-file tests compare with, and save
files from, that form.
"""

from __future__ import annotations

import keras

from kerasnets.layers import GroupedConv2D


def plain_conv_form(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with each GroupedConv2D a plain ``Conv2D`` (same config), holding the same weights."""

    def clone(layer):
        cls = keras.layers.Conv2D if isinstance(layer, GroupedConv2D) else layer.__class__
        return cls.from_config(layer.get_config())

    old = keras.models.clone_model(model, clone_function=clone)
    old.set_weights(model.get_weights())
    assert not any(isinstance(layer, GroupedConv2D) for layer in old.layers)
    return old
