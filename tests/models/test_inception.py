"""The Inception family: GoogLeNet and BN-Inception, Inception-v3, Inception-v4 and the Inception-ResNets.

Counts against the references, the papers' grid sizes, the auxiliary heads and their losses,
weights interchange with keras.applications, and the options.
"""

import keras
import numpy as np
import pytest

import kerasnets
from kerasnets.models.googlenet import GOOGLENET_MODULES, bn_inception, googlenet, inception_module_model
from kerasnets.models.inception_v3 import inception_v3
from kerasnets.models.inception_v4 import CONFIGS, inception_resnet_v1, inception_resnet_v2, inception_v4
from kerasnets.training import label_smoothing_loss
from kerasnets.training.inception import compile_googlenet, compile_inception_v3, inference_model

# ---------------------------------------------------------------------------------------------
# Helpers: independent counting, shapes, training

def trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def conv_dense_macs(model):
    """Multiply-accumulates of the convolutions and dense layers, from static shapes."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            total += h * w * c_out * kh * kw * c_in
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def shapes_at(model, layer_names, size):
    """Output shapes of the named layers for a ``size`` x ``size`` input (symbolic, no compute)."""
    sub = keras.Model(model.input, [model.get_layer(n).output for n in layer_names])
    shapes = sub.compute_output_shape((1, size, size, 3))
    return {n: tuple(s[1:]) for n, s in zip(layer_names, shapes)}


def train_losses(model, *, size, steps=2, batch=2, classes=3, seed=0):
    """Losses (training mode) on one fixed small batch before and after each of ``steps`` Adam updates.

    Eager TensorFlow steps: tracing a graph of a ~1000-layer model costs more on a CI CPU than
    the few steps themselves.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32"))
    y = tf.constant(np.arange(batch) % classes)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    optimizer = keras.optimizers.Adam(1e-3)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        losses.append(float(loss))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    losses.append(float(loss_fn(y, model(x, training=True))))
    return losses


# ---------------------------------------------------------------------------------------------
# GoogLeNet and BN-Inception

# Table 1 of Szegedy et al. 2014: module -> (input shape, "ops" column in millions).
TABLE1_OPS = {
    "inc3a": ((28, 28, 192), 128),
    "inc3b": ((28, 28, 256), 304),
    "inc4a": ((14, 14, 480), 73),
    "inc4b": ((14, 14, 512), 88),
    "inc4c": ((14, 14, 512), 100),
    "inc4d": ((14, 14, 512), 119),
    "inc4e": ((14, 14, 528), 170),
    "inc5b": ((7, 7, 832), 71),
}


@pytest.fixture(scope="module")
def v1():
    keras.utils.set_random_seed(0)
    return googlenet(input_shape=(None, None, 3))


@pytest.fixture(scope="module")
def bn():
    keras.utils.set_random_seed(0)
    return bn_inception(input_shape=(None, None, 3))


def test_googlenet_count_equals_caffe_bvlc_googlenet(v1):
    assert v1.count_params() == trainable(v1) == 6_998_552
    weights = sum(int(np.prod(layer.kernel.shape)) for layer in v1.layers if hasattr(layer, "kernel"))
    biases = sum(int(np.prod(layer.bias.shape)) for layer in v1.layers if getattr(layer, "bias", None) is not None)
    assert (weights, biases) == (6_990_272, 8_280)


def test_googlenet_table1_layers_and_lrn(v1):
    assert v1.get_layer("dropout").rate == 0.4
    assert v1.get_layer("inc4a_b3x3_1_conv").filters == 96 and v1.get_layer("inc4a_b3x3_2_conv").filters == 208
    assert type(v1.get_layer("lrn2")).__name__ == "LocalResponseNormalization"
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in v1.layers)


@pytest.mark.parametrize("module", sorted(TABLE1_OPS))
def test_module_cost_matches_table1_ops_column(module):
    shape, ops_millions = TABLE1_OPS[module]
    macs = conv_dense_macs(inception_module_model(input_shape=shape, module=module))
    assert abs(macs / 1e6 - ops_millions) < 1.0, macs


def test_naive_module_costs_854m_vs_358m_claim():
    # The 28x28x256 module with 1x1 128, 3x3 192, 5x5 96 and a 3x3 max-pool is inception 3b.
    naive = inception_module_model(input_shape=(28, 28, 256), module="inc3b", naive=True)
    reduced = inception_module_model(input_shape=(28, 28, 256), module="inc3b")
    assert conv_dense_macs(naive) == 28 * 28 * 256 * (128 + 9 * 192 + 25 * 96) == 854_196_224
    assert conv_dense_macs(reduced) == 304_267_264  # Table 1: 304M
    assert naive.output.shape == (None, 28, 28, 672) and reduced.output.shape == (None, 28, 28, 480)
    # no 1x1 reduction or pool projection is left in the naive module
    assert [layer.kernel.shape[:2] for layer in naive.layers if hasattr(layer, "kernel")] == [(1, 1), (3, 3), (5, 5)]
    summary = pytest.importorskip("kerasnets.counting")
    assert summary.count(naive).macs == 854_196_224
    assert summary.count(reduced).macs == 304_267_264


def test_naive_googlenet_has_more_weights():
    model = googlenet(naive=True, include_top=False, input_shape=(64, 64, 3))
    assert model.get_layer("inc3a").output.shape[-1] == 192 + 64 + 128 + 32  # pool passes 192 through
    assert not any(name.endswith("_b3x3_2_conv") for name in (layer.name for layer in model.layers))


def test_aux_heads_follow_the_paper_and_loss_is_weighted_0_3():
    keras.utils.set_random_seed(0)
    model = googlenet(aux_logits=True, classes=5, input_shape=(96, 96, 3))
    assert [o.shape for o in model.outputs] == [(None, 5)] * 3
    assert model.get_layer("aux1_pool").input is model.get_layer("inc4a").output
    assert model.get_layer("aux2_pool").input is model.get_layer("inc4d").output
    assert model.get_layer("aux1_conv_conv").filters == 128
    assert model.get_layer("aux1_fc1").units == 1024
    assert model.get_layer("aux1_dropout").rate == 0.7
    # 224x224 aux head: 5x5/3 pool on 14x14 -> 4x4x128 -> FC 1024 -> FC 1000
    full = googlenet(aux_logits=True)
    aux1 = (512 * 128 + 128) + (4 * 4 * 128 * 1024 + 1024) + (1024 * 1000 + 1000)
    aux2 = aux1 + 16 * 128
    assert full.count_params() == 6_998_552 + aux1 + aux2 == 13_378_280

    compile_googlenet(model, optimizer="sgd", run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 96, 96, 3)).astype("float32")
    y = np.array([0, 1, 2, 3])
    results = model.evaluate(x, (y, y, y), verbose=0, return_dict=True)
    probs = [np.asarray(o) for o in model(x, training=False)]
    per_output = [float(np.mean(-np.log(p[np.arange(4), y]))) for p in probs]
    expected = per_output[0] + 0.3 * per_output[1] + 0.3 * per_output[2]
    assert results["loss"] == pytest.approx(expected, rel=1e-4)

    plain = inference_model(model)
    assert len(plain.outputs) == 1 and not any(layer.name.startswith("aux") for layer in plain.layers)
    np.testing.assert_allclose(np.asarray(plain(x, training=False)), probs[0], rtol=1e-5, atol=1e-6)


def test_strided_convolutions_pad_symmetrically(v1, bn):
    # As Caffe, Torch7 and PyTorch: (3, 3) for the 7x7/2, (1, 1) for a 3x3/2; Keras' "same" would
    # pad (2, 3) and (0, 1) on an even side. The output sides stay ceil(n / 2).
    assert v1.get_layer("conv1_pad").padding == ((3, 3), (3, 3))
    assert v1.get_layer("conv1_conv").padding == "valid"
    for name in ("inc3c_b3x3_2", "inc3c_bdbl_3", "inc4e_b3x3_2", "inc4e_bdbl_3"):
        assert bn.get_layer(f"{name}_pad").padding == ((1, 1), (1, 1)), name
    assert shapes_at(v1, ["conv1_act", "inc5b"], 227) == {"conv1_act": (114, 114, 64), "inc5b": (8, 8, 1024)}


def test_torchvision_googlenet_form():
    keras.utils.set_random_seed(0)
    model = googlenet(form="torchvision")
    assert trainable(model) == 6_624_904  # GoogLeNet_Weights.IMAGENET1K_V1.meta["num_params"]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(convs) == len(bns) == 57 and not any(c.use_bias for c in convs)
    assert {b.epsilon for b in bns} == {1e-3} and all(b.scale for b in bns)
    assert not any(type(layer).__name__ == "LocalResponseNormalization" for layer in model.layers)
    assert {model.get_layer(f"{m}_b5x5_2_conv").kernel_size for m in GOOGLENET_MODULES} == {(3, 3)}
    assert model.get_layer("pool4").pool_size == (2, 2)
    size, paper = GRIDS["googlenet"]
    expected = {name: shape for name, shape in paper.items() if not name.startswith("lrn")}
    assert shapes_at(model, list(expected), size) == expected
    with pytest.raises(ValueError, match=r"`form` must be one of .*'paper', 'torchvision'.*Received: form='caffe'"):
        googlenet(form="caffe")
    with pytest.raises(ValueError, match=r"static input size.*Received: input_shape"):
        googlenet(form="torchvision", input_shape=(None, None, 3))


def _torch_pool(x, kind, k, s, pad=0, ceil=False):
    """PyTorch's max_pool2d / avg_pool2d (count_include_pad=True) on an NHWC array, in NumPy."""
    n, h, w, c = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (pad, pad + s), (pad, pad + s), (0, 0)), constant_values=fill)

    def out(side):
        o = -(-(side + 2 * pad - k) // s) + 1 if ceil else (side + 2 * pad - k) // s + 1
        return o - 1 if ceil and (o - 1) * s >= side + pad else o

    res = np.empty((n, out(h), out(w), c), np.float32)
    for i in range(out(h)):
        for j in range(out(w)):
            win = xp[:, i * s : i * s + k, j * s : j * s + k]
            res[:, i, j] = win.max((1, 2)) if kind == "max" else win.sum((1, 2)) / k**2
    return res


@pytest.mark.parametrize("side", [(8, 8), (9, 9), (8, 9), (7, 6)])
def test_pytorch_pooling_modes_match_a_numpy_reference(side):
    from kerasnets.models.inception.blocks import Pool, apply_pool

    x = np.random.default_rng(0).normal(0, 1, (2, *side, 3)).astype("float32")  # negatives: -inf matters
    cases = [
        (Pool("max", 3, 2, "valid", ceil_mode=True), dict(kind="max", k=3, s=2, ceil=True)),
        (Pool("max", 2, 2, "valid", ceil_mode=True), dict(kind="max", k=2, s=2, ceil=True)),
        (Pool("avg", 3, 1, count_include_pad=True), dict(kind="avg", k=3, s=1, pad=1)),
    ]
    inputs = keras.Input(side + (3,))
    model = keras.Model(inputs, [apply_pool(inputs, pool, name=f"p{i}") for i, (pool, _) in enumerate(cases)])
    for got, (_, ref) in zip(model.predict(x, verbose=0), cases):
        np.testing.assert_allclose(got, _torch_pool(x, **ref), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"aux_logits": True, "include_top": False}, r"aux_logits=True.*include_top=True.*Received: include_top=False"),
        ({"aux_logits": True, "input_shape": (None, None, 3)}, r"static input size.*Received: input_shape=\(None, None, 3\)"),
        ({"aux_logits": True, "input_shape": (48, 48, 3)}, r"at least 65.*Received: input_shape=\(48, 48, 3\)"),
        ({"dropout": 1.5}, r"`dropout` must be a number in \[0, 1\). Received: dropout=1.5"),
    ],
)
def test_googlenet_argument_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        googlenet(**kwargs)


def test_argument_type_errors():
    with pytest.raises(TypeError, match=r"`naive` must be True or False. Received: naive='yes'"):
        googlenet(naive="yes")
    with pytest.raises(ValueError, match=r"`module` must be one of .*Received: module='inc9z'"):
        inception_module_model(module="inc9z")


def test_bn_inception_count_and_figure5_layers(bn):
    assert trainable(bn) == 11_295_240
    assert bn.count_params() - trainable(bn) == 2 * sum(
        layer.gamma.shape[0] for layer in bn.layers if isinstance(layer, keras.layers.BatchNormalization)
    )
    convs = [layer for layer in bn.layers if isinstance(layer, keras.layers.Conv2D)]
    bns = [layer for layer in bn.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(convs) == len(bns)  # BN after every convolution
    assert max(max(c.kernel_size) for c in convs[1:]) == 3  # no 5x5 left: two stacked 3x3 instead
    assert isinstance(bn.get_layer("inc4a_bpool_pool"), keras.layers.AveragePooling2D)
    assert isinstance(bn.get_layer("inc5b_bpool_pool"), keras.layers.MaxPooling2D)


def test_googlenet_and_bn_inception_train(v1, bn):
    for model in (v1, bn):
        losses = train_losses(model, size=64, steps=2, batch=4)
        assert np.isfinite(losses).all() and losses[-1] < losses[0], (model.name, losses)


def test_activation_is_passed_through():
    model = googlenet(include_top=False, input_shape=(64, 64, 3), activation="crelu")
    assert type(model.get_layer("inc3a_b1x1_act")).__name__ == "CReLU"
    # CReLU doubles every branch: 2 * (64 + 128 + 32 + 32)
    assert model.get_layer("inc3a").output.shape[-1] == 512
    assert GOOGLENET_MODULES["inc3a"].b1x1 == 64


# ---------------------------------------------------------------------------------------------
# Inception-v3

KERAS_INCEPTION_V3_PARAMS = 23_851_784  # keras.applications.InceptionV3(weights=None).count_params()


@pytest.fixture(scope="module")
def v3():
    keras.utils.set_random_seed(0)
    return inception_v3(input_shape=(None, None, 3))


def test_v3_count_equals_keras_applications(v3):
    assert v3.count_params() == KERAS_INCEPTION_V3_PARAMS
    assert trainable(v3) == 23_817_352 == kerasnets.get_spec("inception_v3").ref_params
    # no convolution biases, BN without gamma: Keras's configuration
    assert not any(layer.use_bias for layer in v3.layers if isinstance(layer, keras.layers.Conv2D))
    assert not any(layer.scale for layer in v3.layers if isinstance(layer, keras.layers.BatchNormalization))


def test_v3_factorised_and_expanded_modules(v3):
    # factorised 7x7 (Fig. 6) and expanded 8x8 outputs (Fig. 7)
    assert v3.get_layer("mixed_6b_b1_2_conv").kernel_size == (1, 7)
    assert v3.get_layer("mixed_6b_b1_3_conv").kernel_size == (7, 1)
    assert v3.get_layer("mixed_7b_b1_2a_conv").kernel_size == (1, 3)
    assert v3.get_layer("mixed_7b_b1_2b_conv").kernel_size == (3, 1)


def test_keras_applications_weights_load_and_give_same_outputs(v3, tmp_path):
    keras.utils.set_random_seed(1)
    reference = keras.applications.InceptionV3(weights=None, input_shape=(75, 75, 3))
    path = str(tmp_path / "keras_inception_v3.weights.h5")
    reference.save_weights(path)
    kerasnets.load_weights(v3, path)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    expected = reference(x, training=False)
    got = v3(x, training=False)
    assert np.allclose(np.asarray(expected), np.asarray(got), atol=1e-6)
    # and the conv kernels really came from the file (not a lucky default)
    kernels = [layer.kernel.numpy() for layer in reference.layers if isinstance(layer, keras.layers.Conv2D)]
    ours = [layer.kernel.numpy() for layer in v3.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(kernels) == len(ours) == 94 and all(np.array_equal(a, b) for a, b in zip(kernels, ours))


def test_v3_aux_head_outputs_and_count():
    keras.utils.set_random_seed(0)
    model = inception_v3(aux_logits=True)
    assert [o.shape for o in model.outputs] == [(None, 1000), (None, 1000)]
    assert model.get_layer("aux_pool").input is model.get_layer("mixed_6e").output
    # 1x1 conv 128 + BN beta, 5x5 conv 768 + BN beta, FC 768 -> 1000 (torchvision's aux, 3,326,696,
    # also has BN gammas: 128 + 768 more)
    aux = 768 * 128 + 128 + 25 * 128 * 768 + 768 + 768 * 1000 + 1000
    assert trainable(model) - 23_817_352 == aux == 3_326_696 - 896
    small = inception_v3(aux_logits=True, classes=3, input_shape=(75, 75, 3))  # kernels clipped to the 3x3 map
    assert [o.shape for o in small.outputs] == [(None, 3), (None, 3)]
    assert small.get_layer("aux_conv2_conv").kernel_size == (1, 1)


def test_v3_pytorch_form_count_and_pools():
    # torchvision / timm inception_v3 (no aux): batch norm with gamma, pools counting their padding.
    model = inception_v3(bn_scale=True, count_include_pad=True, include_top=True, input_shape=(75, 75, 3))
    assert trainable(model) == 23_834_568 == 23_817_352 + 17_216
    assert model.get_layer("mixed_5b_bpool_pool_pad").padding == ((1, 1), (1, 1))
    assert model.get_layer("mixed_5b_bpool_pool").padding == "valid"
    assert model.get_layer("mixed_6a_bpool_pool").padding == "valid"  # the stride-2 max pools are unchanged
    with pytest.raises(TypeError, match=r"`bn_scale` must be True or False. Received: bn_scale='yes'"):
        inception_v3(bn_scale="yes")


def test_label_smoothing_value():
    loss = label_smoothing_loss()
    assert loss.epsilon == 0.1
    probs = np.array([[0.1, 0.2, 0.6, 0.1]], "float32")
    target = 0.9 * np.eye(4)[2] + 0.1 / 4
    expected = -np.sum(target * np.log(probs))
    assert float(loss(np.array([2]), probs)) == pytest.approx(expected, rel=1e-5)
    # 0.925 * -ln 0.6 + 0.025 * -(2 ln 0.1 + ln 0.2), vs -ln 0.6 = 0.5108 without smoothing
    assert expected == pytest.approx(0.6279, abs=1e-4)


def test_compile_with_label_smoothing_and_aux_weight():
    keras.utils.set_random_seed(0)
    model = inception_v3(aux_logits=True, classes=4, input_shape=(75, 75, 3))
    compile_inception_v3(model, optimizer="sgd", run_eagerly=True)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    y = np.array([1, 3])
    total = model.evaluate(x, (y, y), verbose=0, return_dict=True)["loss"]
    main, aux = (np.asarray(o) for o in model(x, training=False))
    smooth = 0.9 * np.eye(4)[y] + 0.025
    expected = np.mean(-np.sum(smooth * np.log(main), 1)) + 0.4 * np.mean(-np.sum(smooth * np.log(aux), 1))
    assert total == pytest.approx(expected, rel=1e-4)


def test_v3_errors():
    with pytest.raises(ValueError, match=r"aux_logits=True.*Received: include_top=False"):
        inception_v3(aux_logits=True, include_top=False)
    with pytest.raises(ValueError, match=r"at least 75. Received: input_shape=\(64, 64, 3\)"):
        inception_v3(include_top=False, input_shape=(64, 64, 3))


def test_v3_trains_at_minimum_size(v3):
    losses = train_losses(v3, size=75)
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


# ---------------------------------------------------------------------------------------------
# Inception-v4, Inception-ResNet-v1 and -v2

TIMM_INCEPTION_V4_PARAMS = 42_679_816  # timm / imgclsmob / Cadene inception_v4, 1000 classes
KERAS_IR_V2_PARAMS = 55_873_736  # keras.applications.InceptionResNetV2(weights=None).count_params()


def _hand_count_ir_v1():
    """Inception-ResNet-v1 from the paper's Figs. 10-14, without Keras (trainable parameters)."""

    def unit(c_in, c_out, kh, kw=None):  # conv without bias + BN beta
        return c_in * c_out * kh * (kh if kw is None else kw) + c_out

    total = unit(3, 32, 3) + unit(32, 32, 3) + unit(32, 64, 3) + unit(64, 80, 1) + unit(80, 192, 3) + unit(192, 256, 3)
    c = 256
    total += 5 * (unit(c, 32, 1) * 3 + unit(32, 32, 3) * 3 + 96 * c + c)
    total += unit(c, 384, 3) + unit(c, 192, 1) + unit(192, 192, 3) + unit(192, 256, 3)
    c = 896
    total += 10 * (unit(c, 128, 1) * 2 + unit(128, 128, 1, 7) + unit(128, 128, 7, 1) + 256 * c + c)
    total += 3 * unit(c, 256, 1) + unit(256, 384, 3) + unit(256, 256, 3) * 2 + unit(256, 256, 3)
    c = 1792
    total += 5 * (unit(c, 192, 1) * 2 + unit(192, 192, 1, 3) + unit(192, 192, 3, 1) + 384 * c + c)
    return total + c * 1000 + 1000


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    return {
        "inception_v4": inception_v4(input_shape=(None, None, 3)),
        "inception_resnet_v1": inception_resnet_v1(input_shape=(None, None, 3)),
        "inception_resnet_v2": inception_resnet_v2(input_shape=(None, None, 3)),
    }


def test_reference_counts(models):
    assert trainable(models["inception_v4"]) == TIMM_INCEPTION_V4_PARAMS
    assert trainable(models["inception_resnet_v1"]) == _hand_count_ir_v1() == 22_742_808
    assert models["inception_resnet_v2"].count_params() == KERAS_IR_V2_PARAMS
    for name, model in models.items():
        assert trainable(model) == kerasnets.get_spec(name).ref_params, name


def test_reduction_a_filters_and_block_counts(models):
    klmn = {"inception_v4": (192, 224, 256, 384), "inception_resnet_v1": (192, 192, 256, 384), "inception_resnet_v2": (256, 256, 384, 384)}
    for name, (k, l, m, n) in klmn.items():
        model = models[name]
        got = tuple(model.get_layer(f"mixed_6a_{layer}_conv").filters for layer in ("b1_1", "b1_2", "b1_3", "b0"))
        assert got == (k, l, m, n), name
        assert (CONFIGS[name].reduction_a.k, CONFIGS[name].reduction_a.n) == (k, n)
    names = {layer.name for layer in models["inception_v4"].layers}
    assert {"mixed_5e", "mixed_6h", "mixed_7d"} <= names and not names & {"mixed_5f", "mixed_6i", "mixed_7e"}
    names = {layer.name for layer in models["inception_resnet_v1"].layers}
    assert {"block35_5", "block17_10", "block8_5"} <= names and not names & {"block35_6", "block17_11", "block8_6"}


def test_residual_scaling_and_linear_projection(models):
    model = models["inception_resnet_v2"]
    assert model.get_layer("block35_1_scale").scale == pytest.approx(0.17)
    assert model.get_layer("block17_1_scale").scale == pytest.approx(0.10)
    assert model.get_layer("block8_1_scale").scale == pytest.approx(0.20)
    assert model.get_layer("block8_10_scale").scale == 1.0  # last block: unscaled, no ReLU
    assert isinstance(model.get_layer("block8_10"), keras.layers.Add)
    assert isinstance(model.get_layer("block8_9"), keras.layers.Activation)
    up = model.get_layer("block17_3_up_conv")
    assert up.use_bias and up.filters == 1088 and up.kernel_size == (1, 1)
    assert isinstance(model.get_layer("block17_3_scale"), keras.layers.Rescaling)
    # the block computes relu(x + 0.1 * up(concat)): check numerically on a small input
    probe = keras.Model(
        model.input,
        [model.get_layer("block17_2").output, model.get_layer("block17_3_up_conv").output, model.get_layer("block17_3").output],
    )
    x_in, up_out, y = (np.asarray(t) for t in probe(np.random.default_rng(0).uniform(-1, 1, (1, 75, 75, 3)).astype("float32")))
    np.testing.assert_allclose(y, np.maximum(x_in + 0.1 * up_out, 0), rtol=1e-5, atol=1e-5)


def test_inception_resnet_v2_loads_keras_applications_weights(models, tmp_path):
    keras.utils.set_random_seed(1)
    reference = keras.applications.InceptionResNetV2(weights=None, input_shape=(75, 75, 3))
    assert reference.count_params() == KERAS_IR_V2_PARAMS
    path = str(tmp_path / "keras_inception_resnet_v2.weights.h5")
    reference.save_weights(path)
    model = models["inception_resnet_v2"]
    kerasnets.load_weights(model, path)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    assert np.allclose(np.asarray(reference(x, training=False)), np.asarray(model(x, training=False)), atol=1e-6)


@pytest.mark.parametrize("name", ["inception_v4", "inception_resnet_v1", "inception_resnet_v2"])
def test_v4_trains_at_minimum_size(models, name):
    losses = train_losses(models[name], size=75)
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


def test_activation_and_dropout_options():
    model = inception_resnet_v1(input_shape=(75, 75, 3), activation="elu", dropout=0.3, classes=7)
    assert model.get_layer("block35_1").get_config()["activation"] == "elu"
    assert model.get_layer("dropout").rate == 0.3 and model.output.shape == (None, 7)
    with pytest.raises(ValueError, match=r"`dropout` must be a number in \[0, 1\). Received: dropout=-0.1"):
        inception_v4(dropout=-0.1)


def test_old_module_paths_are_the_same_modules_and_training_helpers_are_deprecated():
    import types

    import kerasnets.models.googlenet as g
    import kerasnets.models.inception.googlenet as home

    assert g is home and isinstance(g, types.ModuleType)
    with pytest.warns(DeprecationWarning, match=r"kerasnets.models.googlenet.compile_googlenet is deprecated"):
        assert g.compile_googlenet is compile_googlenet
    from kerasnets.models import inception_v3 as v3_module

    with pytest.warns(DeprecationWarning, match=r"label_smoothing_loss is deprecated"):
        assert v3_module.label_smoothing_loss is label_smoothing_loss
    with pytest.warns(DeprecationWarning):
        assert v3_module.compile_inception_v3 is compile_inception_v3


def test_one_stem_for_v3_and_the_inception_resnets():
    from kerasnets.models.inception.blocks import V3_STEM
    from kerasnets.models.inception_v3 import INCEPTION_V3_LAYOUT

    assert INCEPTION_V3_LAYOUT[: len(V3_STEM)] == V3_STEM
    for name in ("inception_resnet_v1", "inception_resnet_v2"):
        assert CONFIGS[name].stem[: len(V3_STEM)] == V3_STEM


# ---------------------------------------------------------------------------------------------
# The papers' grid sizes, one table for the family (the size of the input in the first column)

GRIDS = {
    "googlenet": (224, {  # Table 1
        "conv1_act": (112, 112, 64), "pool1": (56, 56, 64), "lrn1": (56, 56, 64), "conv2_act": (56, 56, 192),
        "pool2": (28, 28, 192), "inc3a": (28, 28, 256), "inc3b": (28, 28, 480), "pool3": (14, 14, 480),
        "inc4a": (14, 14, 512), "inc4d": (14, 14, 528), "inc4e": (14, 14, 832), "pool4": (7, 7, 832),
        "inc5a": (7, 7, 832), "inc5b": (7, 7, 1024),
    }),
    "bn_inception": (224, {  # Figure 5
        "conv2_act": (56, 56, 192), "inc3a": (28, 28, 256), "inc3b": (28, 28, 320), "inc3c": (14, 14, 576),
        "inc4a": (14, 14, 576), "inc4c": (14, 14, 608), "inc4d": (14, 14, 608), "inc4e": (7, 7, 1056),
        "inc5a": (7, 7, 1024), "inc5b": (7, 7, 1024),
    }),
    "inception_v3": (299, {  # Table 1
        "conv1a_act": (149, 149, 32), "conv2b_act": (147, 147, 64), "pool3a": (73, 73, 64), "conv4a_act": (71, 71, 192),
        "pool5a": (35, 35, 192), "mixed_5b": (35, 35, 256), "mixed_5d": (35, 35, 288), "mixed_6a": (17, 17, 768),
        "mixed_6e": (17, 17, 768), "mixed_7a": (8, 8, 1280), "mixed_7c": (8, 8, 2048),
    }),
    "inception_v4": (299, {
        "mixed_3a": (73, 73, 160), "mixed_4a": (71, 71, 192), "mixed_5a": (35, 35, 384), "mixed_5e": (35, 35, 384),
        "mixed_6a": (17, 17, 1024), "mixed_6h": (17, 17, 1024), "mixed_7a": (8, 8, 1536), "mixed_7d": (8, 8, 1536),
    }),
    "inception_resnet_v1": (299, {
        "conv4b_act": (35, 35, 256), "block35_5": (35, 35, 256), "mixed_6a": (17, 17, 896),
        "block17_10": (17, 17, 896), "mixed_7a": (8, 8, 1792), "block8_5": (8, 8, 1792),
    }),
    "inception_resnet_v2": (299, {
        "mixed_5b": (35, 35, 320), "block35_10": (35, 35, 320), "mixed_6a": (17, 17, 1088),
        "block17_20": (17, 17, 1088), "mixed_7a": (8, 8, 2080), "block8_10": (8, 8, 2080), "conv7b_act": (8, 8, 1536),
    }),
}
# The module fixture that holds each network (the Inception-v4 paper's three share one).
_FIXTURE = {"googlenet": "v1", "bn_inception": "bn", "inception_v3": "v3"}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_grid_sizes(name, request):
    built = request.getfixturevalue(_FIXTURE.get(name, "models"))
    model = built if name in _FIXTURE else built[name]
    size, expected = GRIDS[name]
    assert shapes_at(model, list(expected), size) == expected
