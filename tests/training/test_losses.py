"""Label smoothing against the closed form q'(k) = (1 - eps) delta + eps / K."""

import keras
import numpy as np
import pytest

from kerasnets.training import LabelSmoothingCrossentropy, label_smoothing_loss, smooth_labels

PROBS = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.1, 0.1, 0.7], [0.25, 0.25, 0.25, 0.25]], dtype="float32")
LABELS = np.array([0, 3, 2])


def _closed_form(labels, probs, eps):
    k = probs.shape[-1]
    q = (1 - eps) * np.eye(k)[labels] + eps / k
    logp = np.log(np.clip(probs / probs.sum(-1, keepdims=True), keras.config.epsilon(), 1.0))
    return float(np.mean(-(q * logp).sum(-1)))


def test_smooth_labels_closed_form():
    got = np.asarray(smooth_labels(LABELS, 0.1, num_classes=4))
    np.testing.assert_allclose(got[0], [0.925, 0.025, 0.025, 0.025], rtol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(smooth_labels(np.eye(4)[LABELS], 0.1)), got, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Received: num_classes=None"):
        smooth_labels(LABELS, 0.1)
    with pytest.raises(ValueError, match=r"Received: epsilon=1.5"):
        smooth_labels(LABELS, 1.5, num_classes=4)


def test_keras_categorical_label_smoothing_is_the_inception_v3_formula():
    one_hot = np.eye(4, dtype="float32")[LABELS]
    keras_loss = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(one_hot, PROBS)
    assert float(keras_loss) == pytest.approx(_closed_form(LABELS, PROBS, 0.1), rel=1e-5)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_sparse_and_one_hot_losses_match_closed_form(eps):
    want = _closed_form(LABELS, PROBS, eps)
    sparse = LabelSmoothingCrossentropy(eps, sparse=True)
    dense = LabelSmoothingCrossentropy(eps, sparse=False)
    assert float(sparse(LABELS, PROBS)) == pytest.approx(want, rel=1e-5)
    assert float(sparse(LABELS[:, None], PROBS)) == pytest.approx(want, rel=1e-5)
    assert float(dense(np.eye(4)[LABELS], PROBS)) == pytest.approx(want, rel=1e-5)


def test_from_logits_and_zero_epsilon():
    logits = np.log(np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]], "float32")) + 1.7
    labels = np.array([1, 2])
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    loss = LabelSmoothingCrossentropy(0.1, from_logits=True)
    assert float(loss(labels, logits)) == pytest.approx(_closed_form(labels, probs, 0.1), rel=1e-5)
    plain = label_smoothing_loss(0.0)
    assert isinstance(plain, keras.losses.SparseCategoricalCrossentropy)
    assert float(plain(labels, probs)) == pytest.approx(_closed_form(labels, probs, 0.0), rel=1e-5)
    assert isinstance(label_smoothing_loss(0.0, sparse=False), keras.losses.CategoricalCrossentropy)
    assert label_smoothing_loss(0.2).epsilon == 0.2


def test_loss_trains_and_serializes():
    loss = LabelSmoothingCrossentropy(0.1)
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(clone, LabelSmoothingCrossentropy)
    assert (clone.epsilon, clone.sparse, clone.from_logits) == (0.1, True, False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    # With smoothing the optimum keeps p(true) near 1 - eps + eps/K = 0.95, not 1: the loss stays
    # above the entropy of q' (its minimum).
    q = np.array([0.95, 0.05])
    assert history.history["loss"][-1] > float(-(q * np.log(q)).sum())
