"""The one place where kerasnets touches private Keras API.

Keras 3 keeps the functional graph (which layer produced a tensor, the call nodes of a layer, a
Sequential's inner functional model, recursive sub-layer lists) and the tf.data-capable preprocessing
base class out of its public namespace. kerasnets needs them to walk graphs (the MAC counter, the
dense-evaluation head, export's softmax detection) and to write augmentation layers that run inside
``tf.data`` under every backend. Every such use goes through a function here, each with a comment
saying what public API is missing, so that a Keras upgrade breaks in exactly one module and
``tests/test_compat.py`` says which name changed.

Every helper raises `KerasInternalsChanged` (a ``RuntimeError``) naming the private attribute
and the installed Keras version when that attribute is gone, instead of an ``AttributeError`` deep
inside a caller. Wrong *user* input (a NumPy array where a symbolic tensor is needed) raises
``TypeError`` with the usual ``Received:`` wording.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import keras

__all__ = [
    "KerasInternalsChanged",
    "KerasHistory",
    "keras_history",
    "inbound_nodes",
    "node_input_tensors",
    "node_output_tensors",
    "node_operation",
    "node_is_input",
    "node_call_arguments",
    "nodes_by_depth",
    "is_functional",
    "sequential_functional",
    "sublayers",
    "build_input_shapes",
    "DataLayer",
]


class KerasInternalsChanged(RuntimeError):
    """A private Keras attribute kerasnets relies on is missing (Keras changed its internals)."""


def _missing(what: str, owner: Any) -> KerasInternalsChanged:
    return KerasInternalsChanged(
        f"kerasnets relies on the private Keras attribute {what} (see kerasnets/_compat.py), which "
        f"{type(owner).__name__} no longer has in keras {keras.__version__}; kerasnets needs updating "
        "for this Keras version."
    )


def _private(owner: Any, path: str, where: str) -> Any:
    """``owner.<path>`` (a dotted path); `KerasInternalsChanged` naming ``{where}.{path}`` when it is gone."""
    value = owner
    try:
        for name in path.split("."):
            value = getattr(value, name)
    except AttributeError:
        raise _missing(f"{where}.{path}", owner) from None
    return value


class KerasHistory(NamedTuple):
    """Where a symbolic tensor came from: the producing operation and the call/output indices."""

    operation: Any
    node_index: int
    tensor_index: int


def keras_history(tensor: Any) -> KerasHistory:
    """``(operation, node_index, tensor_index)`` of a symbolic tensor of a functional graph.

    Why private: Keras 3 records the producer of a ``keras.KerasTensor`` only in
    ``tensor._keras_history``; there is no public accessor (``layer.output`` goes the other way,
    from a layer to its tensor, and is ambiguous for layers called more than once).

    Raises:
        TypeError: ``tensor`` is not a symbolic tensor produced inside a functional graph.
    """
    if not isinstance(tensor, keras.KerasTensor):
        raise TypeError(
            "Expected a symbolic keras.KerasTensor from a functional model (e.g. model.outputs[0]). "
            f"Received: tensor={type(tensor).__name__}"
        )
    # A KerasTensor gets ``_keras_history`` only when an operation (or keras.Input) produces it.
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        raise TypeError(
            "The tensor was not produced by a Keras layer or keras.Input (it has no graph history). "
            f"Received: tensor={tensor!r}"
        )
    operation, node_index, tensor_index = history
    return KerasHistory(operation, int(node_index), int(tensor_index))


def inbound_nodes(layer: Any) -> list:
    """The call nodes of ``layer`` (one per call in a functional graph), oldest first.

    Why private: Keras 2 had ``layer.inbound_nodes`` / ``get_input_at(i)``; Keras 3 kept only
    ``layer._inbound_nodes``. ``layer.input`` is public but only for a single call.
    """
    if not isinstance(layer, keras.Operation):
        raise TypeError(f"Expected a Keras layer or operation. Received: layer={type(layer).__name__}")
    return list(_private(layer, "_inbound_nodes", "Operation"))


def node_input_tensors(node: Any) -> list:
    """The symbolic input tensors of a call node (flattened, in call order).

    Why here: ``Node`` (keras.src.ops.node) is not exported, so its attributes are not public API
    even though the attribute itself has no underscore.
    """
    return list(_private(node, "input_tensors", "Node"))


def node_output_tensors(node: Any) -> list:
    """The symbolic output tensors of a call node (flattened). Private for the same reason as above."""
    return list(_private(node, "outputs", "Node"))


def node_operation(node: Any) -> Any:
    """The layer or operation a call node calls (``None`` for a graph input's node)."""
    return _private(node, "operation", "Node")


def node_is_input(node: Any) -> bool:
    """True for the node of a ``keras.Input`` (it calls nothing)."""
    return bool(_private(node, "is_input", "Node"))


def node_call_arguments(node: Any, tensors: dict[int, Any]) -> tuple[tuple, dict]:
    """The ``(args, kwargs)`` the node's call used, with each symbolic input replaced by ``tensors[id(x)]``.

    Why private: re-playing a recorded call with other inputs (e.g. other shapes) needs the
    node's ``SymbolicArguments.fill_in``; Keras' own ``Functional._run_through_graph`` uses it.
    """
    return _private(node, "arguments.fill_in", "Node")(tensors)


def is_functional(model: Any) -> bool:
    """True for a functional graph model (``keras.Model(inputs, outputs)``, a builder's result).

    Why private: the class ``Functional`` lives in ``keras.src.models.functional`` and is not
    exported; a public ``keras.Model`` may be functional or subclassed. We test the attributes a
    functional graph carries instead of importing the class.
    """
    return (
        isinstance(model, keras.Model)
        and not isinstance(model, keras.Sequential)
        and getattr(model, "_nodes_by_depth", None) is not None
        and getattr(model, "_inputs_struct", None) is not None
    )


def nodes_by_depth(model: Any) -> dict[int, list]:
    """``{depth: [node, ...]}`` of a functional model (depth 0 = the output nodes).

    Why private: the topologically sorted call nodes are only in ``Functional._nodes_by_depth``;
    the public ``model.operations`` lists each layer once, not each call of a shared layer.
    """
    return dict(_private(model, "_nodes_by_depth", "Functional"))


def sequential_functional(model: Any) -> Any:
    """The functional model a built ``keras.Sequential`` wraps, or ``None`` when it is not built.

    Why private: Sequential builds a ``Functional`` graph in ``model._functional`` once its input
    shape is known; the public API exposes its layers but not that graph's nodes.
    """
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"Expected a keras.Sequential model. Received: model={type(model).__name__}")
    return _private(model, "_functional", "Sequential")  # set (to None) in Sequential.__init__


def sublayers(layer: Any, *, recursive: bool = True) -> list:
    """Every layer inside ``layer`` (not ``layer`` itself), nested models and layers included.

    Why private: ``model.layers`` lists only the direct children of a model, and plain layers have
    no public list of the layers they track; Keras itself uses ``_flatten_layers``.
    """
    flatten = _private(layer, "_flatten_layers", "Layer")
    return list(flatten(include_self=False, recursive=recursive))


def build_input_shapes(layer: Any) -> dict:
    """``{argument name: shape}`` a built layer or subclassed model was built with (``{}`` if none).

    Why private: Keras records the shapes ``build()`` received in ``layer._build_shapes_dict``; a
    subclassed model has no public ``input_shape`` (it raises), and its inputs are not tracked.
    """
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"Expected a Keras layer or model. Received: layer={type(layer).__name__}")
    return dict(_private(layer, "_build_shapes_dict", "Layer") or {})


# DataLayer: the base class of Keras' own random preprocessing layers. A subclass writes its ``call``
# against ``self.backend`` (keras ops of the *active* backend, switched to TensorFlow inside a
# tf.data graph), so one layer runs in a model and in ``dataset.map`` under JAX, TF or Torch.
# Why private: Keras 3 exports the concrete preprocessing layers, not their base class.
try:  # Keras >= 3.9
    from keras.src.layers.preprocessing.data_layer import DataLayer
except ImportError:  # pragma: no cover - Keras 3.0 - 3.8
    from keras.src.layers.preprocessing.tf_data_layer import TFDataLayer as DataLayer
