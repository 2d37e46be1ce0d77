"""MomentumSGD against AlexNet's closed-form update, clipping by global norm, schedules."""

import keras
import numpy as np
import pytest

from kerasnets import training as kt

W0 = np.array([[0.5, -1.0], [2.0, 0.25]], dtype="float32")
GRADS = [
    np.array([[0.1, -0.2], [0.3, 0.05]], dtype="float32"),
    np.array([[-0.4, 0.1], [0.2, -0.3]], dtype="float32"),
    np.array([[0.0, 0.5], [-0.1, 0.2]], dtype="float32"),
    np.array([[0.25, 0.25], [0.25, -0.25]], dtype="float32"),
]


def _run(optimizer, grads=GRADS, w0=W0, name="kernel"):
    var = keras.Variable(w0.copy(), name=name)
    history = []
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        history.append(np.array(var.numpy()))
    return history


def _alexnet_closed_form(lr, momentum, wd, grads=GRADS, w0=W0, nesterov=False):
    w = w0.astype("float64").copy()
    v = np.zeros_like(w)
    out = []
    for g in grads:
        # Krizhevsky et al. 2012, sec. 5: v <- 0.9 v - 0.0005 eps w - eps g ; w <- w + v
        step = wd * lr * w + lr * g
        v = momentum * v - step
        w = w + (momentum * v - step if nesterov else v)
        out.append(w.copy())
    return out


def test_momentum_sgd_matches_alexnet_rule_exactly():
    lr, momentum, wd = 0.1, 0.9, 0.05
    got = _run(kt.MomentumSGD(learning_rate=lr, momentum=momentum, weight_decay=wd))
    want = _alexnet_closed_form(lr, momentum, wd)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def test_momentum_sgd_nesterov_matches_closed_form():
    got = _run(kt.MomentumSGD(learning_rate=0.05, momentum=0.9, weight_decay=0.01, nesterov=True))
    want = _alexnet_closed_form(0.05, 0.9, 0.01, nesterov=True)
    np.testing.assert_allclose(got[-1], want[-1], rtol=1e-6, atol=1e-7)


def test_keras_sgd_decoupled_decay_is_not_the_alexnet_rule():
    lr, momentum, wd = 0.1, 0.9, 0.05
    keras_sgd = _run(keras.optimizers.SGD(learning_rate=lr, momentum=momentum, weight_decay=wd))
    want = _alexnet_closed_form(lr, momentum, wd)
    # Same first step (velocity starts at 0) ...
    np.testing.assert_allclose(keras_sgd[0], want[0], rtol=1e-6)
    # ... then Keras's decay, applied outside the velocity, is never accumulated by the momentum:
    # step 2 differs by exactly momentum * lr * wd * w0.
    np.testing.assert_allclose(want[1] - keras_sgd[1], -momentum * lr * wd * W0, rtol=1e-4, atol=1e-7)
    assert np.abs(keras_sgd[-1] - want[-1]).max() > 1e-3


def test_weight_decay_exclusion_by_name():
    opt = kt.MomentumSGD(learning_rate=0.1, momentum=0.9, weight_decay=0.05)
    opt.exclude_from_weight_decay(var_names=["bias"])
    got = _run(opt, name="bias")
    want = _alexnet_closed_form(0.1, 0.9, 0.0)
    np.testing.assert_allclose(got[-1], want[-1], rtol=1e-6)


def test_momentum_sgd_global_clipnorm_clips_by_global_norm():
    # g <- g * v / ||g|| when ||g|| > v: gradients (3, 4) and (12,) have global norm 13.
    a = keras.Variable(np.zeros(2, "float32"))
    b = keras.Variable(np.zeros(1, "float32"))
    opt = kt.MomentumSGD(learning_rate=1.0, momentum=0.0, weight_decay=0.0, global_clipnorm=1.0)
    opt.apply_gradients([(np.array([3.0, 4.0], "float32"), a), (np.array([12.0], "float32"), b)])
    np.testing.assert_allclose(a.numpy(), [-3 / 13, -4 / 13], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-12 / 13], rtol=1e-6)
    assert opt.global_clipnorm == 1.0
    # Below the threshold the gradient is unchanged.
    opt2 = kt.MomentumSGD(learning_rate=1.0, momentum=0.0, weight_decay=0.0, global_clipnorm=20.0)
    c = keras.Variable(np.zeros(2, "float32"))
    opt2.apply_gradients([(np.array([3.0, 4.0], "float32"), c)])
    np.testing.assert_allclose(c.numpy(), [-3.0, -4.0])


def test_clip_by_global_norm_values():
    grads = [keras.ops.convert_to_tensor([3.0, 4.0]), None, keras.ops.convert_to_tensor([[12.0]])]
    assert float(kt.global_norm(grads)) == pytest.approx(13.0)
    clipped, norm = kt.clip_by_global_norm(grads, 6.5)
    assert float(norm) == pytest.approx(13.0)
    assert clipped[1] is None
    np.testing.assert_allclose(clipped[0], [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(clipped[2], [[6.0]], rtol=1e-6)
    same, _ = kt.clip_by_global_norm(grads, 100.0)
    np.testing.assert_allclose(same[0], [3.0, 4.0])
    with pytest.raises(ValueError, match=r"Received: max_norm=0"):
        kt.clip_by_global_norm(grads, 0)


def test_momentum_sgd_config_round_trip_and_validation():
    opt = kt.MomentumSGD(learning_rate=0.02, momentum=0.8, weight_decay=1e-4, nesterov=True, global_clipnorm=2.0)
    config = opt.get_config()
    assert (config["momentum"], config["weight_decay"], config["nesterov"], config["global_clipnorm"]) == (
        0.8, 1e-4, True, 2.0)
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(clone, kt.MomentumSGD)
    assert clone.coupled_weight_decay == 1e-4 and clone.weight_decay is None
    with pytest.raises(ValueError, match=r"Received: momentum=1.0"):
        kt.MomentumSGD(momentum=1.0)
    with pytest.raises(ValueError, match=r"Received: weight_decay=-1"):
        kt.MomentumSGD(weight_decay=-1)


def test_momentum_sgd_trains_a_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32"))[:, None]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=kt.MomentumSGD(learning_rate=0.05, weight_decay=1e-4), loss="mse")
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


def test_divide_on_plateau_divides_by_ten():
    cb = kt.divide_on_plateau(patience=1, min_lr=1e-5)
    assert (cb.monitor, cb.mode, cb.factor) == ("val_accuracy", "max", 0.1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=kt.MomentumSGD(learning_rate=0.01), loss="mse")
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for epoch, acc in enumerate([0.5, 0.6, 0.6, 0.6, 0.6]):
        cb.on_epoch_end(epoch, {"val_accuracy": acc})
        lrs.append(float(model.optimizer.learning_rate))
    # Keras resets the wait after a reduction: each further stagnant epoch (patience 1) divides again.
    np.testing.assert_allclose(lrs, [0.01, 0.01, 0.001, 0.0001, 0.00001], rtol=1e-5)
    assert kt.divide_on_plateau(monitor="val_loss").mode == "min"
    with pytest.raises(ValueError, match=r"Received: factor=2"):
        kt.divide_on_plateau(factor=2)


def test_step_decay_per_step_and_per_epoch():
    schedule = kt.step_decay(0.045, decay_rate=0.94, decay_epochs=2, steps_per_epoch=10)
    values = [float(schedule(s)) for s in (0, 19, 20, 45)]
    np.testing.assert_allclose(values, [0.045, 0.045, 0.045 * 0.94, 0.045 * 0.94**2], rtol=1e-6)
    callback = kt.step_decay(0.01, decay_rate=0.96, decay_epochs=8)
    assert isinstance(callback, keras.callbacks.LearningRateScheduler)
    np.testing.assert_allclose([callback.schedule(e) for e in (0, 7, 8, 16)], [0.01, 0.01, 0.0096, 0.009216])


def test_warmup_cosine_values():
    s = kt.warmup_cosine(0.01, total_steps=100, warmup_fraction=0.2, initial_fraction=0.1, final_fraction=0.0)
    assert float(s(0)) == pytest.approx(0.001)
    assert float(s(10)) == pytest.approx(0.0055)  # half-way through the linear warm-up
    assert float(s(20)) == pytest.approx(0.01)
    assert float(s(60)) == pytest.approx(0.005, rel=1e-5)  # half-way through the cosine
    assert float(s(100)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match=r"Received: warmup_fraction=1"):
        kt.warmup_cosine(0.01, total_steps=10, warmup_fraction=1)
