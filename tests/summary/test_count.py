"""The counting rules of kerasnets.counting, layer type by layer type, and the report formats."""

import csv
import io
import types

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.layers import CReLU, LocalResponseNormalization, Maxout
from kerasnets.counting import CONVENTION, Report, count


def _model(shape, *layers, name="m"):
    inp = keras.Input(shape)
    x = inp
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x, name=name)


def test_recurrent_layers_params_and_macs():
    t, d, u = 7, 5, 4
    for layer, gates in (
        (keras.layers.SimpleRNN(u, name="r"), 1),
        (keras.layers.LSTM(u, name="r"), 4),
        (keras.layers.GRU(u, reset_after=True, name="r"), 3),
        (keras.layers.GRU(u, reset_after=False, name="r"), 3),
    ):
        model = _model((t, d), layer)
        row = count(model).layer("r")
        assert row.params == model.count_params()
        assert row.macs == t * gates * u * (d + u)
        assert row.note == ""
    bi = _model((t, d), keras.layers.Bidirectional(keras.layers.LSTM(u, return_sequences=True), name="r"))
    row = count(bi).layer("r")
    assert row.params == bi.count_params() == 2 * 4 * (u * (d + u) + u)
    assert row.macs == 2 * t * 4 * u * (d + u)
    assert row.output_shape == (t, 2 * u)
    stacked = _model((t, d), keras.layers.RNN([keras.layers.GRUCell(u), keras.layers.LSTMCell(3)], name="r"))
    row = count(stacked).layer("r")
    assert row.params == stacked.count_params()
    assert row.macs == t * (3 * u * (d + u) + 4 * 3 * (u + 3))


def test_unknown_sequence_length_counts_one_step():
    model = _model((None, 6), keras.layers.LSTM(3, name="r"))
    row = count(model).layer("r")
    assert row.macs == 4 * 3 * (6 + 3)
    assert "one time step" in row.note


def test_attention_layers():
    q = keras.Input((5, 8))
    v = keras.Input((7, 8))
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")
    dot = keras.layers.Attention(name="att")
    model = keras.Model([q, v], [mha(q, v), dot([q, v])])
    report = count(model)
    row = report.layer("mha")
    assert row.params == mha.count_params()
    t, s, h, kd = 5, 7, 2, 3
    assert row.macs == t * 8 * h * kd + s * 8 * h * kd + s * 8 * h * kd + 2 * h * t * s * kd + t * h * kd * 8
    assert report.layer("att").macs == 2 * t * s * 8
    assert report.params == model.count_params()


def test_elementwise_layers_and_custom_layers():
    model = _model(
        (8, 8, 4),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.PReLU(shared_axes=[1, 2], name="prelu"),
        LocalResponseNormalization(name="lrn"),
        CReLU(name="crelu"),
        Maxout(pieces=2, name="maxout"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
    )
    report = count(model)
    elements = 8 * 8 * 4
    assert report.layer("bn").params == 4 * 4 and report.layer("bn").trainable_params == 8
    assert report.layer("bn").other_ops == 2 * elements
    assert report.layer("prelu").params == 4
    assert report.layer("lrn").other_ops == (5 + 4) * elements
    assert report.layer("crelu").output_shape == (8, 8, 8)
    assert report.layer("maxout").other_ops == elements  # one comparison per output for 2 pieces
    assert report.layer("pool").other_ops == 4 * 4 * 4 * 3
    assert report.macs == 0
    assert report.params == model.count_params()
    assert report.non_trainable_params == 8


def test_merges_embedding_and_shared_layers_in_nested_models():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.Dense(3, name="fc")(inner_in), name="inner")
    a, b = keras.Input((4,)), keras.Input((4,))
    shared = keras.layers.Dense(4, name="shared")
    ya, yb = shared(a), shared(b)
    out = keras.layers.Add(name="add")([inner(ya), inner(yb)])
    model = keras.Model([a, b], out, name="outer")
    report = count(model)
    assert report.params == model.count_params() == (4 * 4 + 4) + (4 * 3 + 3)
    assert report.macs == 2 * 16 + 2 * 12  # every call is counted, every weight once
    containers = [r for r in report.rows if r.container]
    assert [r.name for r in containers] == ["inner", "inner"]
    assert containers[0].macs == 12 and containers[0].depth == 0
    assert report.layer("inner/fc").depth == 1
    assert sum("shared layer" in r.note for r in report.rows) == 2  # second calls of shared and inner/fc
    assert report.layer("add").other_ops == 3
    emb = _model((5,), keras.layers.Embedding(50, 8, name="emb"))
    assert count(emb).layer("emb").params == 400 and count(emb).macs == 0


def test_unknown_layer_is_flagged_with_params_from_its_weights():
    class Scale(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    model = _model((3, 3, 5), Scale(name="scale"), keras.layers.Conv2D(2, 1, name="c"))
    report = count(model)
    row = report.layer("scale")
    assert not row.known and row.params == 5 and row.macs == 0
    assert report.unknown == ("scale",)
    assert "scale" in report.to_text()
    assert "Unknown layer types" in report.to_markdown()


def test_sequential_needs_a_shape_and_input_shape_propagates():
    seq = keras.Sequential([keras.layers.Conv2D(4, 3, name="c"), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built.*Received: input_shape=None"):
        count(seq)
    report = count(seq, input_shape=(6, 6, 1))
    assert report.layer("c").macs == 4 * 4 * 4 * 9
    assert report.params == seq.count_params()
    # A fully-convolutional model counted at another size without rebuilding it.
    inp = keras.Input((None, None, 3))
    fcn = keras.Model(inp, keras.layers.Conv2D(8, 3, padding="same", name="c")(inp))
    assert count(fcn, input_shape=(10, 10, 3)).layer("c").macs == 10 * 10 * 8 * 27
    assert count(fcn, input_shape=(20, 20, 3)).layer("c").macs == 20 * 20 * 8 * 27
    assert "not fully known" in count(fcn).layer("c").note
    with pytest.raises(ValueError, match="rank 3"):
        count(fcn, input_shape=(10, 10))
    with pytest.raises(TypeError, match="keras.Model"):
        count("not a model")


def test_subclassed_model_is_traced():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.conv = keras.layers.Conv2D(4, 3, name="conv")
            self.lstm = keras.layers.Bidirectional(keras.layers.LSTM(2), name="bilstm")
            self.fc = keras.layers.Dense(3, name="fc")

        def call(self, x):
            y = self.conv(x)
            y = keras.ops.reshape(y, (-1, 16, 4))
            return self.fc(self.lstm(y))

    net = Net()
    report = count(net, input_shape=(6, 6, 1))
    assert report.params == net.count_params()
    assert report.layer("conv").macs == 16 * 4 * 9
    assert report.layer("bilstm").macs == 2 * 16 * 4 * 2 * (4 + 2)
    assert report.layer("fc").macs == 4 * 3
    assert all(r.known for r in report.rows)
    assert type(net.conv) is keras.layers.Conv2D  # the tracing hooks are removed


def test_formats_agree():
    model = kerasnets.lenet5()
    report = count(model)
    assert isinstance(report, Report)
    rows = list(csv.DictReader(io.StringIO(report.to_csv(flops=True))))
    assert rows[-1]["name"] == "TOTAL"
    assert sum(int(r["macs"]) for r in rows[:-1]) == int(rows[-1]["macs"]) == report.macs == 416_520
    assert int(rows[-1]["flops"]) == 2 * report.macs
    assert int(rows[-1]["params"]) == model.count_params()
    md = report.to_markdown(flops=True)
    assert "| Layer | Type | Output shape | Params | MACs | FLOPs | Other ops | Note |" in md
    assert f"**{report.macs:,}**" in md and CONVENTION in md
    text = report.to_text(flops=True)
    assert "Total FLOPs (2 x MACs): 833,040" in text and "c1" in text
    assert report.as_dict()["totals"]["params"] == 61_706


def test_kerasnets_summary_is_the_counting_function():
    import pathlib

    import kerasnets.counting

    init = pathlib.Path(kerasnets.__file__).read_text()
    if "kerasnets.counting" not in init:
        pytest.xfail("NEEDS h-core: kerasnets/__init__.py must export `summary` from kerasnets.counting")

    assert kerasnets.summary is kerasnets.counting.summary
    assert isinstance(kerasnets.counting, types.ModuleType) and callable(kerasnets.summary)


def test_summary_function():
    from kerasnets.counting import summary

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    report = summary(model, print_output=False)
    assert report.layer("d").macs == 8
    buffer = io.StringIO()
    summary(model, format="csv", file=buffer)
    assert buffer.getvalue().splitlines()[-1].startswith("TOTAL,,,10,10,8")
    with pytest.raises(ValueError, match="Received: format='html'"):
        summary(model, format="html")
    with pytest.raises(TypeError, match="Received: model_or_name=3"):
        summary(3)
    np.testing.assert_equal(summary("lenet5", print_output=False).macs, 416_520)


def test_table_to_a_pipe_is_not_wrapped(monkeypatch):
    from kerasnets.counting import render

    monkeypatch.delenv("COLUMNS", raising=False)
    inputs = keras.Input((8, 8, 3), name="images")
    x = keras.layers.Conv2D(4, 3, name="a_rather_long_convolution_layer_name_for_wrapping")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions_with_a_long_name")(x), name="m")
    buffer = io.StringIO()  # not a terminal
    render(count(model), file=buffer)
    lines = buffer.getvalue().splitlines()
    assert any("a_rather_long_convolution_layer_name_for_wrapping" in line for line in lines)
    assert max(len(line) for line in lines) > 80  # wider than rich's 80-column default, so nothing folded
    # COLUMNS still wins, as for every rich program.
    monkeypatch.setenv("COLUMNS", "60")
    narrow = io.StringIO()
    render(count(model), file=narrow)
    assert max(len(line) for line in narrow.getvalue().splitlines()) <= 60


def test_counting_modules_import_without_a_loop():
    import ast
    import pathlib

    import kerasnets.counting as counting

    folder = pathlib.Path(counting.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        name = "kerasnets.counting" if path.stem == "__init__" else f"kerasnets.counting.{path.stem}"
        tree = ast.parse(path.read_text())
        graph[name] = {
            node.module for node in ast.walk(tree)  # function-level imports included
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kerasnets.counting")
        }

    def reaches(start, target, seen=()):
        return any(n == target or (n not in seen and reaches(n, target, seen + (n,))) for n in graph.get(start, ()))

    loops = [name for name in graph if reaches(name, name)]
    assert loops == [], f"import loop through {loops}"


def test_grouped_conv2d_counts_as_the_grouped_conv_it_computes():
    from kerasnets.layers import GroupedConv2D

    def model(conv):
        inputs = keras.Input((7, 7, 96))
        return keras.Model(inputs, conv(inputs))

    ours = count(model(GroupedConv2D(256, 5, padding="same", groups=2, name="conv")))
    theirs = count(model(keras.layers.Conv2D(256, 5, padding="same", groups=2, name="conv")))
    assert ours.layer("conv").macs == theirs.layer("conv").macs == 7 * 7 * 256 * 5 * 5 * 48
    assert ours.params == theirs.params and ours.layer("conv").known
