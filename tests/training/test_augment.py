"""Augmentation layers: PCA lighting values, RGB PCA, scale jittering and random-resized crops."""

import keras
import numpy as np
import pytest

from kerasnets import training

P = np.array(training.IMAGENET_PCA_EIGENVECTORS)
L = np.array(training.IMAGENET_PCA_EIGENVALUES)


def test_imagenet_eigenvectors_are_orthonormal_columns():
    np.testing.assert_allclose(P.T @ P, np.eye(3), atol=2e-3)
    assert list(L) == sorted(L, reverse=True)


def test_pca_lighting_fixed_alpha_known_values():
    images = np.stack([np.full((2, 3, 3), 100.0), np.full((2, 3, 3), 50.0)]).astype("float32")
    alpha = np.array([[0.1, -0.2, 0.3], [-0.05, 0.0, 0.2]], dtype="float32")
    out = np.asarray(training.pca_lighting(images, alpha, value_range=(0, 255)))
    for i in range(2):
        # [p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T in [0, 1] units, times 255.
        shift = 255.0 * P @ (alpha[i] * L)
        np.testing.assert_allclose(out[i], images[i] + shift, rtol=1e-5)
    # Hand-computed first pixel of image 0, red channel:
    red = 100 + 255 * (-0.5675 * 0.1 * 0.2175 + 0.7192 * -0.2 * 0.0188 + 0.4009 * 0.3 * 0.0045)
    assert out[0, 0, 0, 0] == pytest.approx(red, rel=1e-6)


def test_pca_lighting_layer_inference_is_identity_and_training_is_seeded():
    x = np.random.default_rng(0).uniform(0, 255, (4, 5, 5, 3)).astype("float32")
    layer = training.PCALighting(seed=3)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    a = np.asarray(training.PCALighting(seed=3)(x, training=True))
    b = np.asarray(training.PCALighting(seed=3)(x, training=True))
    np.testing.assert_array_equal(a, b)
    shift = a - x
    # One colour shift per image, the same for every pixel, and different across images.
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1, :1, :], shift.shape), atol=1e-3)
    assert np.abs(shift[0, 0, 0] - shift[1, 0, 0]).max() > 1e-3


def test_pca_lighting_alpha_statistics():
    layer = training.PCALighting(stddev=0.1, value_range=(0, 1), seed=0)
    x = np.zeros((4000, 1, 1, 3), "float32")
    shift = np.asarray(layer(x, training=True)).reshape(-1, 3).astype("float64")
    alpha = (shift @ P) / L  # recover a_i = p_i . shift / l_i (P is orthonormal up to rounding)
    np.testing.assert_allclose(alpha.std(axis=0), [0.1, 0.1, 0.1], rtol=0.08)
    np.testing.assert_allclose(alpha.mean(axis=0), [0, 0, 0], atol=0.01)


def test_rgb_pca_recovers_known_covariance():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    values = np.array([0.04, 0.01, 0.0025])
    cov = q @ np.diag(values) @ q.T
    pixels = rng.multivariate_normal([0.5, 0.4, 0.3], cov, size=(200, 10, 10))  # 20,000 pixels
    got_values, got_vectors = training.rgb_pca((pixels * 255.0).astype("float32"), value_range=(0, 255))
    np.testing.assert_allclose(got_values, values, rtol=0.05)
    # Eigenvectors match up to sign; each column's largest component is positive.
    np.testing.assert_allclose(np.abs(got_vectors.T @ q), np.eye(3), atol=0.03)
    assert np.all(got_vectors[np.argmax(np.abs(got_vectors), axis=0), range(3)] > 0)


def test_rgb_pca_exact_on_grey_ramp_and_streams_batches():
    # Grey pixels (v, v, v): all variance along (1, 1, 1)/sqrt(3), eigenvalue 3 var(v).
    v = np.arange(10, dtype="float64") / 9.0
    images = np.repeat(v[:, None, None, None], 3, axis=-1) * np.ones((10, 2, 2, 3))
    values, vectors = training.rgb_pca(images, value_range=(0, 1))
    expected = 3 * np.var(np.repeat(v, 4), ddof=1)
    np.testing.assert_allclose(values, [expected, 0, 0], atol=1e-12)
    np.testing.assert_allclose(vectors[:, 0], np.ones(3) / np.sqrt(3), atol=1e-12)
    # Streaming (x, y) batches gives the same result as one array.
    batches = [(images[:3], None), (images[3:7], None), (images[7:], None)]
    values2, _ = training.rgb_pca(batches, value_range=(0, 1))
    np.testing.assert_allclose(values2, values, atol=1e-12)
    with pytest.raises(ValueError, match=r"3 channels last"):
        training.rgb_pca(np.zeros((2, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"Received: value_range=\(1, 0\)"):
        training.rgb_pca(images, value_range=(1, 0))


def _ramp(batch, height, width):
    """Image whose channel 0 is the column index and channel 1 the row index."""
    cols = np.broadcast_to(np.arange(width, dtype="float32"), (height, width))
    rows = np.broadcast_to(np.arange(height, dtype="float32")[:, None], (height, width))
    img = np.stack([cols, rows, np.zeros_like(cols)], axis=-1)
    return np.broadcast_to(img, (batch, height, width, 3)).copy()


def test_scale_jitter_equals_resize_then_crop():
    x = np.random.default_rng(0).uniform(size=(3, 20, 25, 3)).astype("float32")
    out = np.asarray(training.ScaleJitter(40, 40, 14, seed=3)(x, training=True))
    big = np.asarray(keras.ops.image.resize(x, (40, 50), interpolation="bilinear", antialias=False))
    for i in range(3):
        matches = [
            (a, b) for a in range(40 - 14 + 1) for b in range(50 - 14 + 1)
            if np.allclose(out[i], big[i, a : a + 14, b : b + 14], atol=1e-4)
        ]
        assert len(matches) == 1
    # S equal to the shorter side: an exact integer crop of the original.
    same = np.asarray(training.ScaleJitter(20, 20, 14, seed=1)(x, training=True))
    assert any(np.array_equal(same[0], x[0, a : a + 14, b : b + 14]) for a in range(7) for b in range(12))


def test_scale_jitter_samples_s_in_range():
    x = _ramp(64, 30, 40)  # shorter side 30
    out = np.asarray(training.ScaleJitter(32, 48, 16, seed=0)(x, training=True))
    # Rescaling by S/30 turns the column ramp's slope into 30/S.
    slope = out[:, 0, 1, 0] - out[:, 0, 0, 0]
    s = 30.0 / slope
    assert np.all(s >= 32 - 1e-3) and np.all(s <= 48 + 1e-3)
    np.testing.assert_allclose(s, np.round(s), atol=1e-2)  # S is an integer
    assert len(np.unique(np.round(s))) >= 8
    # Inference: centre crop at Q = (S_min + S_max) / 2 = 40.
    centre = np.asarray(training.ScaleJitter(32, 48, 16)(x[:1], training=False))
    resized = np.asarray(keras.ops.image.resize(x[:1], (40, 53), antialias=False))
    # rescale 30 -> 40 (factor 4/3); the crop is centred in the 40 x 53.33 rescaled image.
    assert 30.0 / (centre[0, 0, 1, 0] - centre[0, 0, 0, 0]) == pytest.approx(40.0, rel=1e-4)
    assert centre[0, 8, 8, 1] == pytest.approx(resized[0, 20, 20, 1], abs=1e-3)


def test_scale_jitter_validation_and_config():
    with pytest.raises(ValueError, match=r"Received: max_scale=100"):
        training.ScaleJitter(256, 100)
    with pytest.raises(ValueError, match=r"Received: crop_size=300"):
        training.ScaleJitter(256, 512, 300)
    layer = training.ScaleJitter(256, 384, 224, seed=5)
    clone = training.ScaleJitter.from_config(layer.get_config())
    assert (clone.min_scale, clone.max_scale, clone.crop_size, clone.seed) == (256, 384, (224, 224), 5)


def test_random_resized_crop_area_and_aspect():
    x = _ramp(200, 40, 40)
    out = np.asarray(training.RandomResizedCrop(20, seed=0)(x, training=True))
    width = (out[:, 0, 1, 0] - out[:, 0, 0, 0]) * 20
    height = (out[:, 1, 0, 1] - out[:, 0, 0, 1]) * 20
    area = width * height / 1600.0
    assert area.min() >= 0.08 - 1e-3 and area.max() <= 1.0 + 1e-3
    unclipped = (width < 40 - 1e-3) & (height < 40 - 1e-3)
    ratio = width[unclipped] / height[unclipped]
    assert ratio.min() >= 0.75 - 1e-3 and ratio.max() <= 4 / 3 + 1e-3
    # Crops stay inside the image.
    assert out[..., :2].min() >= -1e-3 and out[..., :2].max() <= 39 + 1e-3
    with pytest.raises(ValueError, match=r"Received: area_range=\(0.5, 2\)"):
        training.RandomResizedCrop(20, area_range=(0.5, 2))


def test_alexnet_augmentation_is_a_crop_or_mirror_plus_one_shift():
    x = np.random.default_rng(0).uniform(0, 255, (3, 12, 12, 3)).astype("float32")
    aug = training.alexnet_augmentation(crop_size=8, seed=0)
    assert [layer.name for layer in aug.layers] == ["random_crop", "random_flip", "pca_lighting"]
    out = np.asarray(aug(x, training=True))
    for i in range(3):
        found = False
        for a in range(5):
            for b in range(5):
                for crop in (x[i, a : a + 8, b : b + 8], x[i, a : a + 8, b : b + 8][:, ::-1]):
                    diff = out[i] - crop
                    if np.allclose(diff, diff[0, 0], atol=1e-3):
                        found = True
        assert found
    # Inference: the centre crop (the lighting and the flip are off), the size the model expects.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x[:, 2:10, 2:10])
    with pytest.raises(ValueError, match=r"Received: crop_size=\[8, 8\]"):
        aug(x[:, :6, :6], training=True)


def test_pipelines_shapes_and_tf_data():
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).uniform(0, 255, (4, 40, 48, 3)).astype("float32")
    aug = training.vgg_augmentation(scale=(32, 48), crop_size=28, seed=0)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(2).map(lambda b: aug(b, training=True))
    assert [tuple(b.shape) for b in ds] == [(2, 28, 28, 3), (2, 28, 28, 3)]
    alex = training.alexnet_augmentation(crop_size=28, seed=0)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(2).map(lambda b: alex(b, training=True))
    assert [tuple(b.shape) for b in ds] == [(2, 28, 28, 3), (2, 28, 28, 3)]
    single = training.ScaleJitter(32, 48, 28, seed=0)
    ds = tf.data.Dataset.from_tensor_slices(x).map(lambda im: single(im, training=True))
    assert [tuple(b.shape) for b in ds] == [(28, 28, 3)] * 4
    # Images of different, unknown sizes (e.g. decoded JPEGs), one smaller than the crop.
    sizes = [(20, 30), (40, 25), (16, 16)]
    ragged = tf.data.Dataset.from_generator(
        lambda: (np.ones((h, w, 3), "float32") for h, w in sizes),
        output_signature=tf.TensorSpec((None, None, 3), tf.float32),
    )
    jitter, crop = training.ScaleJitter(24, 32, 20, seed=0), training.RandomResizedCrop(20, seed=0)
    assert [tuple(b.shape) for b in ragged.map(lambda im: crop(jitter(im)))] == [(20, 20, 3)] * 3
    assert tuple(training.inception_augmentation(crop_size=16, seed=0)(x, training=True).shape) == (4, 16, 16, 3)
    assert tuple(training.cifar_augmentation(seed=0)(x[:, :32, :32], training=True).shape) == (4, 32, 32, 3)
    digits = np.zeros((2, 28, 28, 1), "float32")
    assert tuple(training.mnist_augmentation(seed=0)(digits, training=True).shape) == (2, 28, 28, 1)
    assert len(training.mnist_augmentation(shift=0, rotation_degrees=0, zoom=0).layers) == 0


def test_layers_serialize_inside_a_model(tmp_path):
    inputs = keras.Input((32, 32, 3))
    x = training.ScaleJitter(32, 40, 24, seed=1, name="jitter")(inputs)
    x = training.PCALighting(seed=2, name="lighting")(x)
    x = training.RandomResizedCrop(16, seed=3, name="rrc")(x)
    model = keras.Model(inputs, x)
    path = tmp_path / "aug.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("lighting").get_config()["eigenvalues"] == list(training.IMAGENET_PCA_EIGENVALUES)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-4)


def test_random_pad_crop_takes_a_window_of_the_padded_image_per_image():
    x = (np.arange(8 * 6 * 6, dtype="float32").reshape(8, 6, 6, 1) + 1.0)
    layer = training.RandomPadCrop(2, seed=0)
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    padded = np.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]])
    offsets = []
    for i in range(len(x)):
        hits = [(a, b) for a in range(5) for b in range(5) if (padded[i, a:a + 6, b:b + 6] == out[i]).all()]
        assert hits, f"image {i} is not a 6x6 window of its padded image"
        offsets.append(hits[0])
    assert len(set(offsets)) > 1  # each image gets its own offset
    # Inference: the centre window, i.e. the image itself.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    assert training.RandomPadCrop.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="Received: crop_size='big'"):
        training.RandomPadCrop(4, crop_size="big")


def test_cifar_augmentation_is_the_identity_at_inference_so_it_fits_in_front_of_a_model():
    x = np.random.default_rng(0).uniform(0, 1, (4, 32, 32, 3)).astype("float32")
    aug = training.cifar_augmentation(seed=0)
    assert [layer.name for layer in aug.layers] == ["pad_random_crop", "random_flip"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x)
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(aug(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = model.fit(x, np.arange(4), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(x, verbose=0).shape == (4, 10)
