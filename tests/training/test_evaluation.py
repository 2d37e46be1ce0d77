"""10-crop boxes and values, multi-crop, and dense evaluation (FC -> conv) equivalence."""

import keras
import numpy as np
import pytest

from kerasnets import training as kt


def test_ten_crop_boxes_alexnet_256_224():
    boxes = kt.ten_crop_boxes(256, 224)
    assert boxes[:5] == [
        (0, 0, 224, 224, False),
        (0, 32, 224, 224, False),
        (32, 0, 224, 224, False),
        (32, 32, 224, 224, False),
        (16, 16, 224, 224, False),
    ]
    assert [b[:4] for b in boxes[5:]] == [b[:4] for b in boxes[:5]]
    assert all(b[4] for b in boxes[5:])
    assert kt.ten_crop_boxes((10, 12), (6, 8))[3] == (4, 4, 6, 8, False)
    with pytest.raises(ValueError, match=r"Received: crop_size=300"):
        kt.ten_crop_boxes(256, 300)


def test_ten_crop_values():
    x = np.random.default_rng(0).normal(size=(2, 8, 9, 3)).astype("float32")
    crops = np.asarray(kt.ten_crop(x, 5))
    assert crops.shape == (10, 2, 5, 5, 3)
    np.testing.assert_array_equal(crops[0], x[:, :5, :5])
    np.testing.assert_array_equal(crops[3], x[:, 3:, 4:])
    np.testing.assert_array_equal(crops[4], x[:, 2:7, 2:7])
    np.testing.assert_array_equal(crops[6], x[:, :5, 4:][:, :, ::-1])


def test_grid_crop_boxes_and_multi_crop():
    boxes = kt.grid_crop_boxes(256, 224, grid=5)
    assert len(boxes) == 50  # VGG: 5x5 grid x 2 flips per scale
    assert sorted({b[0] for b in boxes}) == [0, 8, 16, 24, 32]
    assert kt.grid_crop_boxes(256, 224, grid=1, flip=False) == [(16, 16, 224, 224, False)]
    x = np.random.default_rng(0).normal(size=(1, 10, 10, 2)).astype("float32")
    crops = np.asarray(kt.multi_crop(x, 8, grid=3, flip=True))
    assert crops.shape == (18, 1, 8, 8, 2)
    np.testing.assert_array_equal(crops[4], x[:, 1:9, 1:9])
    np.testing.assert_array_equal(crops[9 + 2], x[:, 0:8, 2:10][:, :, ::-1])


def _classifier(size=8, classes=4, activation="softmax"):
    return keras.Sequential(
        [
            keras.Input((size, size, 2)),
            keras.layers.Conv2D(3, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation=activation),
        ]
    )


def test_predict_ten_crop_averages_softmax_outputs():
    model = _classifier()
    x = np.random.default_rng(1).normal(size=(3, 10, 11, 2)).astype("float32")
    want = np.mean([np.asarray(model(c, training=False)) for c in np.asarray(kt.ten_crop(x, 8))], axis=0)
    np.testing.assert_allclose(kt.predict_ten_crop(model, x), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kt.predict_ten_crop(model, x, batch_size=12), want, rtol=1e-5, atol=1e-6)  # chunks
    logits_model = _classifier(activation=None)
    logits_model.set_weights(model.get_weights())
    np.testing.assert_allclose(kt.predict_ten_crop(logits_model, x, apply_softmax=True), want, rtol=1e-4, atol=1e-6)


def test_predict_multi_crop_over_scales():
    model = _classifier()
    x = np.random.default_rng(2).normal(size=(2, 9, 12, 2)).astype("float32")
    want = []
    for q in (8, 10):
        scaled = np.asarray(kt.resize_shorter_side(x, q))
        assert min(scaled.shape[1:3]) == q
        want += [np.asarray(model(c, training=False)) for c in np.asarray(kt.multi_crop(scaled, 8, grid=2))]
    got = kt.predict_multi_crop(model, x, scales=(8, 10), grid=2)
    np.testing.assert_allclose(got, np.mean(want, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-5)


def _vgg_like(valid=False):
    """VGG/AlexNet-style: conv trunk, Flatten, fc6/fc7 with dropout, softmax predictions."""
    padding = "valid" if valid else "same"
    inputs = keras.Input((16, 16, 3), name="images")
    x = keras.layers.Conv2D(4, 3, padding=padding, activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(6, 3, padding=padding, activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(10, name="fc6")(x)
    x = keras.layers.ReLU(name="fc6_act")(x)
    x = keras.layers.Dropout(0.5, name="drop6")(x)
    x = keras.layers.Dense(10, activation="relu", name="fc7")(x)
    x = keras.layers.Dropout(0.5, name="drop7")(x)
    x = keras.layers.Dense(5, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="vgg_like")


def test_fully_convolutional_equals_original_at_training_size():
    model = _vgg_like()
    fcn = kt.to_fully_convolutional(model)
    assert fcn.get_layer("fc6").kernel.shape == (4, 4, 6, 10)  # first FC -> 4x4 conv here (7x7 in VGG)
    assert fcn.get_layer("fc7").kernel.shape == (1, 1, 10, 10)
    assert fcn.count_params() == model.count_params()
    x = np.random.default_rng(0).normal(size=(3, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(fcn.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    probs = kt.to_fully_convolutional(model, average="probabilities")
    np.testing.assert_allclose(probs.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    seq = keras.Sequential(model.layers)
    np.testing.assert_allclose(
        kt.to_fully_convolutional(seq).predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_class_map_positions_are_the_model_on_shifted_windows():
    # With a valid-padding trunk every position of the class map is exactly the original model
    # applied to one window (stride 4 = the two 2x2 pools).
    model = _vgg_like(valid=True)  # 16 -> 14 -> 7 -> 5 -> 2: Flatten input 2x2x6
    x = np.random.default_rng(3).normal(size=(2, 20, 24, 3)).astype("float32")
    class_map = kt.to_fully_convolutional(model, spatial_average=False).predict(x, verbose=0)
    assert class_map.shape == (2, 2, 3, 5)
    for i in range(2):
        for j in range(3):
            window = x[:, 4 * i : 4 * i + 16, 4 * j : 4 * j + 16]
            np.testing.assert_allclose(class_map[:, i, j], np.asarray(model(window)), rtol=1e-4, atol=1e-6)
    # "probabilities": softmax per position then average; "logits": average scores, then softmax.
    averaged = kt.to_fully_convolutional(model, average="probabilities").predict(x, verbose=0)
    np.testing.assert_allclose(averaged, class_map.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    logits_fcn = kt.to_fully_convolutional(model, average="logits")
    score_map = np.asarray(keras.Model(logits_fcn.inputs, logits_fcn.get_layer("predictions").output)(x))
    assert score_map.shape == (2, 2, 3, 5)
    mean_scores = score_map.mean(axis=(1, 2))
    want = np.exp(mean_scores) / np.exp(mean_scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(logits_fcn(x)), want, rtol=1e-5, atol=1e-6)


def test_predict_dense_averages_scales_and_flips():
    model = _vgg_like()
    fcn = kt.to_fully_convolutional(model, average="probabilities")
    x = np.random.default_rng(4).normal(size=(2, 16, 20, 3)).astype("float32")
    want = []
    for q in (16, 24):
        scaled = np.asarray(kt.resize_shorter_side(x, q))
        want += [fcn.predict(scaled, verbose=0), fcn.predict(scaled[:, :, ::-1], verbose=0)]
    np.testing.assert_allclose(kt.predict_dense(fcn, x, scales=(16, 24)), np.mean(want, 0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"spatial_average=True"):
        kt.predict_dense(kt.to_fully_convolutional(model, spatial_average=False), x)


def test_to_fully_convolutional_errors():
    gap = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"no Flatten"):
        kt.to_fully_convolutional(gap)
    odd = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4), keras.layers.Reshape((4,)),
         keras.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match=r"Reshape"):
        kt.to_fully_convolutional(odd)
    inputs = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(inputs)
    two = keras.Model(inputs, [keras.layers.Dense(2)(flat), keras.layers.Dense(3)(flat)])
    with pytest.raises(ValueError, match=r"single output"):
        kt.to_fully_convolutional(two)
    with pytest.raises(ValueError, match=r"Received: average='mean'"):
        kt.to_fully_convolutional(_vgg_like(), average="mean")


def test_kerasnets_alexnet_dense_evaluation():
    kerasnets = pytest.importorskip("kerasnets")
    model = kerasnets.alexnet(classes=10, towers=1)
    fcn = kt.to_fully_convolutional(model)
    assert fcn.get_layer("fc6").kernel.shape == (6, 6, 256, 4096)  # AlexNet's first FC -> 6x6 conv
    x = np.random.default_rng(0).uniform(0, 255, size=(1, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(fcn.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)
    big = np.random.default_rng(1).uniform(0, 255, size=(1, 256, 256, 3)).astype("float32")
    class_map = kt.to_fully_convolutional(model, spatial_average=False).predict(big, verbose=0)
    assert class_map.shape == (1, 2, 2, 10)  # pool5 7x7 at 256 -> a 2x2 class map
    assert fcn.predict(big, verbose=0).shape == (1, 10)


@pytest.mark.slow
def test_kerasnets_vgg11_dense_evaluation_matches_fully_convolutional_builder():
    kerasnets = pytest.importorskip("kerasnets")
    model = kerasnets.vgg11(classes=10)
    fcn = kt.to_fully_convolutional(model)
    x = np.random.default_rng(0).uniform(0, 255, size=(1, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(fcn.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)
    big = np.random.default_rng(1).uniform(0, 255, size=(1, 256, 256, 3)).astype("float32")
    assert kt.to_fully_convolutional(model, spatial_average=False).predict(big, verbose=0).shape == (1, 2, 2, 10)
    builder = kerasnets.vgg11(classes=10, fully_convolutional=True, input_shape=(None, None, 3))
    builder.set_weights(fcn.get_weights())
    np.testing.assert_allclose(fcn.predict(big, verbose=0), builder.predict(big, verbose=0), rtol=1e-4, atol=1e-6)
