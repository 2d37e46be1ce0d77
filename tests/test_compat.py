"""kerasnets._compat: the private Keras API kerasnets relies on still behaves as assumed.

These tests fail loudly (and name the attribute) when a Keras upgrade renames or changes one of the
private names wrapped in kerasnets/_compat.py.
"""

import keras
import numpy as np
import pytest

from kerasnets import _compat


def _shared_layer_model():
    inputs = keras.Input((4,), name="x")
    shared = keras.layers.Dense(4, name="shared")
    a = shared(inputs)
    b = shared(a)  # second call of the same layer: node index 1
    c = keras.layers.Add(name="add")([a, b])
    return keras.Model(inputs, c), shared


def test_private_names_exist_in_installed_keras():
    model, shared = _shared_layer_model()
    tensor = model.outputs[0]
    missing = [
        name
        for owner, name in [
            (tensor, "_keras_history"),
            (shared, "_inbound_nodes"),
            (model, "_nodes_by_depth"),
            (model, "_inputs_struct"),
            (model, "_flatten_layers"),
            (keras.Sequential(), "_functional"),
        ]
        if not hasattr(owner, name)
    ]
    assert missing == [], f"keras {keras.__version__} lacks private names used by kerasnets._compat: {missing}"


def test_keras_history_and_inbound_nodes():
    model, shared = _shared_layer_model()
    history = _compat.keras_history(model.outputs[0])
    assert isinstance(history, _compat.KerasHistory)
    assert history.operation.name == "add" and history.node_index == 0 and history.tensor_index == 0
    add_node = _compat.inbound_nodes(history.operation)[history.node_index]
    a, b = _compat.node_input_tensors(add_node)
    assert _compat.keras_history(a) == (shared, 0, 0)
    assert _compat.keras_history(b) == (shared, 1, 0)
    nodes = _compat.inbound_nodes(shared)
    assert len(nodes) == 2
    assert _compat.node_output_tensors(nodes[1])[0] is b
    assert _compat.node_input_tensors(nodes[1])[0] is a
    assert _compat.keras_history(model.inputs[0]).operation.name == "x"


def test_keras_history_rejects_non_symbolic():
    with pytest.raises(TypeError, match=r"Received: tensor=ndarray"):
        _compat.keras_history(np.zeros(3))
    with pytest.raises(TypeError, match="no graph history"):
        _compat.keras_history(keras.KerasTensor((None, 3)))
    with pytest.raises(TypeError, match=r"Received: layer=int"):
        _compat.inbound_nodes(3)


def test_nodes_by_depth_covers_every_call():
    model, shared = _shared_layer_model()
    assert _compat.is_functional(model)
    by_depth = _compat.nodes_by_depth(model)
    assert min(by_depth) == 0
    calls = [n for level in by_depth.values() for n in level if n.operation is shared]
    assert len(calls) == 2  # model.operations would list the shared layer once
    assert by_depth[0][0].operation.name == "add"


def test_sequential_functional_and_is_functional():
    seq = keras.Sequential([keras.layers.Dense(3, name="d1"), keras.layers.Dense(2, name="d2")])
    assert _compat.sequential_functional(seq) is None  # not built yet
    assert not _compat.is_functional(seq)
    seq.build((None, 5))
    inner = _compat.sequential_functional(seq)
    assert _compat.is_functional(inner)
    assert [op.name for op in inner.operations][-2:] == ["d1", "d2"]
    with pytest.raises(TypeError, match="Sequential"):
        _compat.sequential_functional(keras.Model())


def test_is_functional_false_for_subclassed():
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    sub = Sub()
    sub(np.zeros((1, 3), "float32"))
    assert not _compat.is_functional(sub)
    assert [layer.name for layer in _compat.sublayers(sub)] == [sub.dense.name]


def test_sublayers_recursive_and_direct():
    inner = keras.Sequential([keras.layers.Dense(2, name="in_dense")], name="inner")
    inputs = keras.Input((3,))
    outputs = inner(keras.layers.Dense(3, name="outer_dense")(inputs))
    model = keras.Model(inputs, outputs)
    deep = {layer.name for layer in _compat.sublayers(model)}
    direct = {layer.name for layer in _compat.sublayers(model, recursive=False)}
    assert {"outer_dense", "inner", "in_dense"} <= deep
    assert "in_dense" not in direct and "inner" in direct


def test_missing_private_attribute_is_reported_clearly():
    class NotALayer:
        pass

    with pytest.raises(_compat.KerasInternalsChanged, match=r"_flatten_layers.*kerasnets/_compat.py"):
        _compat.sublayers(NotALayer())
    with pytest.raises(_compat.KerasInternalsChanged, match=r"Functional._nodes_by_depth"):
        _compat.nodes_by_depth(NotALayer())
    with pytest.raises(_compat.KerasInternalsChanged, match=r"Node.input_tensors"):
        _compat.node_input_tensors(NotALayer())


class AddOne(_compat.DataLayer):
    def call(self, inputs):
        return self.backend.numpy.add(self.backend.cast(inputs, "float32"), 1.0)


def test_data_layer_runs_eagerly_in_a_model_and_in_tf_data():
    layer = AddOne(name="add_one")
    assert isinstance(layer, keras.layers.Layer)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), x + 1)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, AddOne(name="add_one_in_model")(inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), x + 1)
    tf = pytest.importorskip("tensorflow")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(2).map(layer)
    np.testing.assert_allclose(next(iter(ds)).numpy(), x + 1)
