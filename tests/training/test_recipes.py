"""recipe(name): the papers' settings, overrides, errors, and compile/fit with them."""

import keras
import numpy as np
import pytest

from kerasnets.training import (
    LabelSmoothingCrossentropy,
    MomentumSGD,
    list_recipes,
    recipe,
    recipe_parameters,
)


def test_known_recipes_and_unknown_name():
    assert list_recipes() == ["alexnet", "googlenet", "inception_v3", "mnist", "resnet", "resnet_cifar", "vgg"]
    with pytest.raises(ValueError, match=r"'alexnet', 'googlenet'.*Received: name='lenet'"):
        recipe("lenet")
    with pytest.raises(ValueError, match=r"no parameter 'lr'.*learning_rate.*Received: lr=0.1"):
        recipe("vgg", lr=0.1)
    with pytest.raises(TypeError, match=r"Received: name=3"):
        recipe(3)
    with pytest.raises(ValueError, match=r"Received: epochs=0"):
        recipe("mnist", epochs=0)
    assert recipe("Inception-V3").name == "inception_v3"


@pytest.mark.parametrize(
    "name, lr, momentum, decay, batch, epochs",
    [
        ("alexnet", 0.01, 0.9, 5e-4, 128, 90),
        ("vgg", 0.01, 0.9, 5e-4, 256, 74),
        ("resnet", 0.1, 0.9, 1e-4, 256, 120),
    ],
)
def test_sgd_recipes_match_the_papers(name, lr, momentum, decay, batch, epochs):
    r = recipe(name)
    assert isinstance(r.optimizer, MomentumSGD)
    assert float(r.optimizer.learning_rate) == pytest.approx(lr)
    assert (r.optimizer.momentum, r.optimizer.coupled_weight_decay) == (momentum, decay)
    assert (r.batch_size, r.epochs) == (batch, epochs)
    (plateau,) = r.callbacks
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.monitor, plateau.factor, plateau.mode) == ("val_accuracy", 0.1, "max")
    assert isinstance(r.loss, keras.losses.SparseCategoricalCrossentropy)
    assert r.metrics[0] == "accuracy" and r.metrics[1].name == "top5_accuracy"
    assert r.augmentation is not None and name in r.doc.lower()


def test_vgg_scale_options():
    jitter = recipe("vgg").augmentation.get_layer("scale_jitter")
    assert (jitter.min_scale, jitter.max_scale, jitter.crop_size) == (256, 512, (224, 224))
    single = recipe("vgg", scale=384).augmentation.get_layer("scale_jitter")
    assert (single.min_scale, single.max_scale) == (384, 384)
    resnet = recipe("resnet").augmentation.get_layer("scale_jitter")
    assert (resnet.min_scale, resnet.max_scale) == (256, 480)
    assert [layer.name for layer in recipe("alexnet").augmentation.layers] == [
        "random_crop", "random_flip", "pca_lighting"]


def test_inception_v3_recipe():
    r = recipe("inception_v3", steps_per_epoch=100)
    opt = r.optimizer
    assert isinstance(opt, keras.optimizers.RMSprop)
    assert (opt.rho, opt.epsilon, opt.global_clipnorm) == (0.9, 1.0, 2.0)
    # lr 0.045 decayed every two epochs by 0.94
    assert float(opt.learning_rate) == pytest.approx(0.045)
    schedule = opt._learning_rate
    assert float(schedule(400)) == pytest.approx(0.045 * 0.94**2, rel=1e-6)
    assert isinstance(r.loss, LabelSmoothingCrossentropy) and r.loss.epsilon == 0.1
    assert (r.batch_size, r.epochs, r.aux_weight, r.callbacks) == (32, 100, 0.4, [])
    per_epoch = recipe("inception_v3")
    (scheduler,) = per_epoch.callbacks
    assert scheduler.schedule(4) == pytest.approx(0.045 * 0.94**2)


def test_googlenet_recipe_step_decay_and_polyak_averaging():
    r = recipe("googlenet")
    assert r.optimizer.use_ema and r.optimizer.momentum == 0.9 and r.aux_weight == 0.3
    (scheduler,) = r.callbacks
    assert scheduler.schedule(8) == pytest.approx(0.01 * 0.96)  # -4% every 8 epochs


def test_resnet_cifar_piecewise_schedule():
    r = recipe("resnet_cifar")
    schedule = r.optimizer._learning_rate
    values = [float(schedule(step)) for step in (0, 32000, 32001, 48001)]
    np.testing.assert_allclose(values, [0.1, 0.1, 0.01, 0.001], rtol=1e-6)
    assert r.optimizer.coupled_weight_decay == 1e-4 and r.batch_size == 128


def test_mnist_recipe_signature_used_by_the_app():
    params = recipe_parameters("mnist")
    assert {"epochs", "steps_per_epoch", "label_smoothing", "learning_rate", "batch_size"} <= set(params)
    r = recipe("mnist", epochs=4, steps_per_epoch=10, label_smoothing=0.05)
    opt = r.optimizer
    assert isinstance(opt, keras.optimizers.AdamW) and opt.weight_decay == 1e-4
    schedule = opt._learning_rate
    peak_step = int(round(0.15 * 40))
    assert float(schedule(peak_step)) == pytest.approx(3e-3, rel=1e-5)
    assert float(schedule(40)) == pytest.approx(0.0, abs=1e-8)
    assert r.loss.epsilon == 0.05 and r.callbacks == [] and r.epochs == 4
    no_steps = recipe("mnist", epochs=10, label_smoothing=0.0)
    assert isinstance(no_steps.loss, keras.losses.SparseCategoricalCrossentropy)
    (scheduler,) = no_steps.callbacks
    lrs = [scheduler.schedule(e) for e in range(10)]
    assert max(lrs) == pytest.approx(3e-3) and lrs[-1] < 3e-4 and lrs[0] < lrs[1]


def test_overrides_and_clipnorm():
    r = recipe("alexnet", learning_rate=0.02, epochs=3, batch_size=64, clipnorm=5.0, augment=False,
               label_smoothing=0.1, sparse=False)
    assert float(r.optimizer.learning_rate) == pytest.approx(0.02)
    assert (r.epochs, r.batch_size, r.augmentation, r.optimizer.global_clipnorm) == (3, 64, None, 5.0)
    assert isinstance(r.loss, LabelSmoothingCrossentropy) and r.loss.sparse is False
    assert r.params["learning_rate"] == 0.02 and r.params["momentum"] == 0.9
    assert "Recipe 'alexnet'" in str(r)


def _tiny(outputs=1):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    heads = [keras.layers.Dense(10, activation="softmax", name=f"head{i}")(x) for i in range(outputs)]
    return keras.Model(inputs, heads if outputs > 1 else heads[0])


def test_compile_and_fit_with_recipes():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (32, 12, 12, 3)).astype("float32")
    y = rng.integers(0, 10, 32)
    for name in ("vgg", "mnist"):
        r = recipe(name, epochs=2, batch_size=16, crop_size=8, scale=(8, 12)) if name == "vgg" else recipe(
            name, epochs=2, augment=False)
        model = _tiny()
        model.compile(**r.compile_kwargs)
        images = np.asarray(r.augmentation(x, training=True)) if r.augmentation is not None else x[:, :8, :8]
        history = model.fit(images, y, batch_size=r.batch_size, epochs=r.epochs, callbacks=r.callbacks,
                            validation_data=(images, y), verbose=0)
        assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    r = recipe("googlenet", epochs=1, augment=False)
    model = _tiny(outputs=3)
    kwargs = r.compile_kwargs_for(model)
    assert kwargs["loss_weights"] == [1.0, 0.3, 0.3]
    model.compile(**kwargs)
    history = model.fit(x[:, :8, :8], (y, y, y), epochs=1, batch_size=16, callbacks=r.callbacks, verbose=0)
    assert np.isfinite(history.history["loss"][0])
