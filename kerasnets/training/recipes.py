"""``recipe(name)``: each paper's training set-up, ready for ``compile`` and ``fit``.

>>> from kerasnets.training import recipe
>>> r = recipe("vgg")
>>> model.compile(**r.compile_kwargs)                        # doctest: +SKIP
>>> model.fit(train.map(lambda x, y: (r.augmentation(x, training=True), y)),
...           validation_data=val, epochs=r.epochs, callbacks=r.callbacks)  # doctest: +SKIP

A `Recipe` holds fresh optimiser/loss/metric/callback objects: use one
``recipe(...)`` call per model (Keras optimisers bind to one model's variables).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import keras

from kerasnets.checks import (
    check_bool,
    check_choice,
    check_fraction,
    check_positive_int,
    check_positive_number,
)
from kerasnets.training import augment as _aug
from kerasnets.training.auxiliary import aux_compile_kwargs
from kerasnets.training.losses import label_smoothing_loss
from kerasnets.training.optimizers import MomentumSGD, divide_on_plateau, step_decay, warmup_cosine

__all__ = ["Recipe", "recipe", "list_recipes", "recipe_parameters"]


@dataclass
class Recipe:
    """A paper's training recipe: what ``compile`` and ``fit`` need.

    Attributes:
        name: recipe name (``recipe(name)``).
        optimizer: the configured ``keras.optimizers.Optimizer``.
        loss: the loss (a ``keras.losses.Loss``).
        metrics: metrics list for ``compile``.
        callbacks: callbacks for ``fit`` (LR schedule on plateau / per epoch).
        augmentation: ``keras.Sequential`` of preprocessing layers for the
            training images (call it with ``training=True``), or None.
        batch_size: the paper's batch size.
        epochs: the paper's number of epochs (or the recipe's default).
        doc: what the recipe reproduces, with the paper's numbers.
        params: the resolved hyper-parameters (after overrides).
        aux_weight: weight of each auxiliary-classifier loss for multi-output models.
    """

    name: str
    optimizer: keras.optimizers.Optimizer
    loss: Any
    metrics: list
    callbacks: list
    augmentation: keras.Sequential | None
    batch_size: int
    epochs: int
    doc: str
    params: dict = field(default_factory=dict)
    aux_weight: float = 0.3

    @property
    def compile_kwargs(self) -> dict:
        """``{"optimizer", "loss", "metrics"}`` for ``model.compile(**r.compile_kwargs)``."""
        return {"optimizer": self.optimizer, "loss": self.loss, "metrics": list(self.metrics)}

    def compile_kwargs_for(self, model: keras.Model) -> dict:
        """Like `compile_kwargs`, adding ``aux_weight`` per auxiliary output of a multi-output model.

        Args:
            model: the model to compile; outputs after the first are auxiliary heads.

        Returns:
            ``compile`` keyword arguments (``loss``/``loss_weights``/``metrics`` lists
            when the model has several outputs).
        """
        if len(model.outputs) == 1:
            return self.compile_kwargs
        kwargs = aux_compile_kwargs(model, loss=self.loss, aux_weight=self.aux_weight, metrics=self.metrics)
        return {"optimizer": self.optimizer, **kwargs}

    def __str__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"Recipe {self.name!r} ({settings})\n{self.doc}"


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


def _loss(label_smoothing: float, sparse: bool, from_logits: bool) -> keras.losses.Loss:
    return label_smoothing_loss(label_smoothing, sparse=sparse, from_logits=from_logits)


def _metrics(sparse: bool, top5: bool) -> list:
    metrics: list = ["accuracy"]
    if top5:
        metric = keras.metrics.SparseTopKCategoricalAccuracy if sparse else keras.metrics.TopKCategoricalAccuracy
        metrics.append(metric(k=5, name="top5_accuracy"))
    return metrics


def _clip(clipnorm: float | None) -> dict:
    return {} if clipnorm is None else {"global_clipnorm": check_positive_number("clipnorm", clipnorm)}


class _EpochWarmupCosine:
    """``epoch -> lr``: linear warm-up over the first epochs, then cosine to 0 (for LearningRateScheduler)."""

    def __init__(self, peak: float, epochs: int, warmup_epochs: int) -> None:
        self.peak, self.epochs, self.warmup = peak, epochs, warmup_epochs

    def __call__(self, epoch: int, lr: float | None = None) -> float:
        if epoch < self.warmup:
            return float(self.peak * (epoch + 1) / (self.warmup + 1))
        span = max(self.epochs - self.warmup, 1)
        progress = min((epoch - self.warmup) / span, 1.0)
        return float(self.peak * 0.5 * (1.0 + math.cos(math.pi * progress)))


# ---------------------------------------------------------------------------
# The recipes. Each builder's keyword arguments are the overridable parameters.
# ---------------------------------------------------------------------------


_ALEXNET_DOC = (
    "AlexNet (Krizhevsky, Sutskever & Hinton 2012): SGD, batch 128, momentum 0.9, weight decay "
    "5e-4 inside the momentum (v <- 0.9 v - 0.0005 eps w - eps g; w <- w + v), eps = 0.01 divided "
    "by 10 when the validation error stops improving (three times), ~90 epochs; random 224x224 "
    "crops of the 256x256 images + horizontal flips + PCA lighting (a ~ N(0, 0.1)); dropout 0.5 "
    "in fc6/fc7 (in the model). Result: 37.5% top-1 / 17.0% top-5 test error on ILSVRC-2010 "
    "(10-crop test, see predict_ten_crop)."
)


_SGD_ARGS = ("learning_rate", "momentum", "weight_decay", "batch_size", "epochs", "patience", "label_smoothing",
             "clipnorm", "sparse", "from_logits")


def _sgd_args(args: dict) -> dict:
    """The arguments of `_momentum_sgd_on_plateau` among a recipe's ``locals()``."""
    return {key: args[key] for key in _SGD_ARGS}


def _momentum_sgd_on_plateau(
    doc: str, augmentation, *, learning_rate, momentum, weight_decay, batch_size, epochs, patience,
    label_smoothing, clipnorm, sparse, from_logits,
) -> dict:
    """The recipe shape AlexNet, VGG and ResNet share: momentum SGD, learning rate /10 on plateau, top-5."""
    return {
        "optimizer": MomentumSGD(learning_rate, momentum=momentum, weight_decay=weight_decay, **_clip(clipnorm)),
        "loss": _loss(label_smoothing, sparse, from_logits),
        "metrics": _metrics(sparse, top5=True),
        "callbacks": [divide_on_plateau(patience=patience)],
        "augmentation": augmentation,
        "batch_size": batch_size,
        "epochs": epochs,
        "doc": doc,
    }


def _alexnet(
    *,
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    batch_size: int = 128,
    epochs: int = 90,
    patience: int = 5,
    label_smoothing: float = 0.0,
    clipnorm: float | None = None,
    crop_size: int = 224,
    lighting_stddev: float = 0.1,
    value_range: tuple = (0, 255),
    augment: bool = True,
    sparse: bool = True,
    from_logits: bool = False,
    seed: int | None = None,
) -> dict:
    augmentation = _aug.alexnet_augmentation(
        crop_size=crop_size, lighting_stddev=lighting_stddev, value_range=value_range, seed=seed
    ) if augment else None
    return _momentum_sgd_on_plateau(_ALEXNET_DOC, augmentation, **_sgd_args(locals()))


def _sgd_scale_jitter(
    doc: str,
    *,
    learning_rate, momentum, weight_decay, batch_size, epochs, patience, label_smoothing, clipnorm,
    scale, crop_size, lighting_stddev, value_range, augment, sparse, from_logits, seed,
) -> dict:
    """The recipe shape VGG and ResNet share: momentum SGD, /10 on plateau, scale jittering + crop."""
    augmentation = _aug.vgg_augmentation(
        scale=scale, crop_size=crop_size, lighting_stddev=lighting_stddev, value_range=value_range, seed=seed
    ) if augment else None
    return _momentum_sgd_on_plateau(doc, augmentation, **_sgd_args(locals()))


_VGG_DOC = (
    "VGG (Simonyan & Zisserman 2015): mini-batch gradient descent, batch 256, momentum 0.9, L2 "
    "5e-4, dropout 0.5 on the first two FC layers (in the model), lr 1e-2 divided by 10 when the "
    "validation accuracy stops improving (3 times, 370K iterations = 74 epochs); training scale "
    "S = 256 or 384 (single-scale, scale=256) or S in [256, 512] (scale jittering, the default), "
    "random 224 crop, flips, RGB colour shift. VGG-16 with jittering: 25.6/8.1% top-1/top-5 val "
    "error at a single test scale, 24.8/7.5 multi-scale, 24.4/7.2 multi-crop + dense."
)

_RESNET_DOC = (
    "ResNet on ImageNet (He et al. 2015, section 3.4): SGD, batch 256, lr 0.1 divided by 10 when "
    "the error plateaus, up to 60e4 iterations (~120 epochs), weight decay 1e-4, momentum 0.9, no "
    "dropout; shorter side randomly sampled in [256, 480], random 224 crop, flips, standard colour "
    "augmentation. ResNet-152: 21.43/5.71% top-1/top-5 val error (10-crop), 4.49% top-5 single "
    "model multi-scale."
)


def _vgg(
    *,
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    batch_size: int = 256,
    epochs: int = 74,
    patience: int = 5,
    label_smoothing: float = 0.0,
    clipnorm: float | None = None,
    scale: Any = (256, 512),
    crop_size: int = 224,
    lighting_stddev: float = 0.1,
    value_range: tuple = (0, 255),
    augment: bool = True,
    sparse: bool = True,
    from_logits: bool = False,
    seed: int | None = None,
) -> dict:
    return _sgd_scale_jitter(_VGG_DOC, **locals())


def _resnet(
    *,
    learning_rate: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    batch_size: int = 256,
    epochs: int = 120,
    patience: int = 5,
    label_smoothing: float = 0.0,
    clipnorm: float | None = None,
    scale: Any = (256, 480),
    crop_size: int = 224,
    lighting_stddev: float = 0.1,
    value_range: tuple = (0, 255),
    augment: bool = True,
    sparse: bool = True,
    from_logits: bool = False,
    seed: int | None = None,
) -> dict:
    return _sgd_scale_jitter(_RESNET_DOC, **locals())


def _resnet_cifar(
    *,
    learning_rate: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    batch_size: int = 128,
    epochs: int = 182,
    boundaries: tuple = (32000, 48000),
    label_smoothing: float = 0.0,
    clipnorm: float | None = None,
    augment: bool = True,
    sparse: bool = True,
    from_logits: bool = False,
    seed: int | None = None,
) -> dict:
    boundaries = [check_positive_int("boundaries", b) for b in boundaries]
    values = [learning_rate * 0.1**i for i in range(len(boundaries) + 1)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    return {
        "optimizer": MomentumSGD(schedule, momentum=momentum, weight_decay=weight_decay, **_clip(clipnorm)),
        "loss": _loss(label_smoothing, sparse, from_logits),
        "metrics": _metrics(sparse, top5=False),
        "callbacks": [],
        "augmentation": _aug.cifar_augmentation(seed=seed) if augment else None,
        "batch_size": batch_size,
        "epochs": epochs,
        "doc": (
            "ResNet on CIFAR-10 (He et al. 2015, section 4.2): batch 128, lr 0.1 divided by 10 at 32k and "
            "48k iterations, stop at 64k (~182 epochs on a 45k/5k split), weight decay 1e-4, momentum "
            "0.9; 4-pixel padding, random 32x32 crop, flips. ResNet-110: 6.43% test error (ResNet-56: "
            "6.97%). For ResNet-110 the paper warms up at lr 0.01 until training error < 80% (~400 "
            "iterations)."
        ),
    }


def _googlenet(
    *,
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 2e-4,
    batch_size: int = 128,
    epochs: int = 90,
    decay_rate: float = 0.96,
    decay_epochs: int = 8,
    steps_per_epoch: int | None = None,
    aux_weight: float = 0.3,
    use_ema: bool = True,
    ema_momentum: float = 0.999,
    label_smoothing: float = 0.0,
    clipnorm: float | None = None,
    crop_size: int = 224,
    augment: bool = True,
    sparse: bool = True,
    from_logits: bool = False,
    seed: int | None = None,
) -> dict:
    schedule = step_decay(learning_rate, decay_rate=decay_rate, decay_epochs=decay_epochs,
                          steps_per_epoch=steps_per_epoch)
    callbacks = [] if steps_per_epoch is not None else [schedule]
    lr = schedule if steps_per_epoch is not None else learning_rate
    return {
        "optimizer": MomentumSGD(
            lr, momentum=momentum, weight_decay=weight_decay, use_ema=check_bool("use_ema", use_ema),
            ema_momentum=ema_momentum, **_clip(clipnorm),
        ),
        "loss": _loss(label_smoothing, sparse, from_logits),
        "metrics": _metrics(sparse, top5=True),
        "callbacks": callbacks,
        "augmentation": _aug.inception_augmentation(crop_size=crop_size, seed=seed) if augment else None,
        "batch_size": batch_size,
        "epochs": epochs,
        "aux_weight": aux_weight,
        "doc": (
            "GoogLeNet (Szegedy et al. 2014, section 6): asynchronous SGD with momentum 0.9, learning rate "
            "decreased by 4% every 8 epochs, Polyak averaging of the weights for inference (use_ema), "
            "auxiliary losses weighted 0.3 (compile_kwargs_for(model)), crops of 8%-100% of the image "
            "area with aspect ratio in [3/4, 4/3], flips. The paper gives no initial learning rate, "
            "weight decay, batch size or epoch count: the defaults here (0.01, 2e-4, 128, 90) are "
            "choices, override them. Result: 6.67% top-5 test error (ensemble of 7, 144 crops)."
        ),
    }


def _inception_v3(
    *,
    learning_rate: float = 0.045,
    rho: float = 0.9,
    epsilon: float = 1.0,
    batch_size: int = 32,
    epochs: int = 100,
    decay_rate: float = 0.94,
    decay_epochs: int = 2,
    steps_per_epoch: int | None = None,
    aux_weight: float = 0.4,
    label_smoothing: float = 0.1,
    clipnorm: float | None = 2.0,
    crop_size: int = 299,
    augment: bool = True,
    sparse: bool = True,
    from_logits: bool = False,
    seed: int | None = None,
) -> dict:
    schedule = step_decay(learning_rate, decay_rate=decay_rate, decay_epochs=decay_epochs,
                          steps_per_epoch=steps_per_epoch)
    callbacks = [] if steps_per_epoch is not None else [schedule]
    lr = schedule if steps_per_epoch is not None else learning_rate
    return {
        "optimizer": keras.optimizers.RMSprop(
            lr, rho=check_positive_number("rho", rho), epsilon=check_positive_number("epsilon", epsilon),
            **_clip(clipnorm),
        ),
        "loss": _loss(label_smoothing, sparse, from_logits),
        "metrics": _metrics(sparse, top5=True),
        "callbacks": callbacks,
        "augmentation": _aug.inception_augmentation(crop_size=crop_size, seed=seed) if augment else None,
        "batch_size": batch_size,
        "epochs": epochs,
        "aux_weight": aux_weight,
        "doc": (
            "Inception-v3 (Szegedy et al. 2015, section 8): RMSProp with decay 0.9 and epsilon 1.0, lr "
            "0.045 decayed every two epochs by 0.94, gradient clipping by global norm 2.0, batch 32 per "
            "replica (50 replicas), 100 epochs, label smoothing eps = 0.1 (~0.2% better top-1 and top-5), "
            "299x299 crops. The auxiliary head's weight is not in the paper; 0.4 is TF-slim's. Result: "
            "21.2% top-1 / 5.6% top-5 single-crop val error (18.77/4.2 with 144 crops; ensemble of 4: 17.2/3.58)."
        ),
    }


def _mnist(
    *,
    learning_rate: float = 3e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 128,
    epochs: int = 15,
    steps_per_epoch: int | None = None,
    warmup_fraction: float = 0.15,
    label_smoothing: float = 0.1,
    clipnorm: float | None = None,
    shift: float = 0.1,
    rotation_degrees: float = 10.0,
    zoom: float = 0.1,
    augment: bool = True,
    sparse: bool = True,
    from_logits: bool = False,
    seed: int | None = None,
) -> dict:
    epochs = check_positive_int("epochs", epochs)
    warmup_fraction = check_fraction("warmup_fraction", warmup_fraction)
    if steps_per_epoch is not None:
        steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
        lr: Any = warmup_cosine(learning_rate, total_steps=epochs * steps_per_epoch, warmup_fraction=warmup_fraction)
        callbacks: list = []
    else:
        warmup_epochs = int(round(warmup_fraction * epochs))
        lr = check_positive_number("learning_rate", learning_rate)
        callbacks = [keras.callbacks.LearningRateScheduler(_EpochWarmupCosine(lr, epochs, warmup_epochs))]
    return {
        "optimizer": keras.optimizers.AdamW(
            lr, weight_decay=check_positive_number("weight_decay", weight_decay, allow_zero=True), **_clip(clipnorm)
        ),
        "loss": _loss(label_smoothing, sparse, from_logits),
        "metrics": _metrics(sparse, top5=False),
        "callbacks": callbacks,
        "augmentation": _aug.mnist_augmentation(shift=shift, rotation_degrees=rotation_degrees, zoom=zoom, seed=seed)
        if augment
        else None,
        "batch_size": batch_size,
        "epochs": epochs,
        "doc": (
            "MNIST / Fashion-MNIST, strong and fast on a CPU: AdamW (lr 3e-3 peak, decoupled weight decay "
            "1e-4), batch 128, one-cycle-style schedule (linear warm-up over 15% of the steps, then cosine "
            "to 0; per step when steps_per_epoch is given, else per epoch), label smoothing 0.1, light "
            "augmentation (shifts 10%, rotations 10 degrees, zoom 10%; no flips). Expects inputs scaled by "
            "the model (e.g. a Rescaling layer) and integer labels."
        ),
    }


_RECIPES: dict[str, Callable[..., dict]] = {
    "alexnet": _alexnet,
    "vgg": _vgg,
    "googlenet": _googlenet,
    "inception_v3": _inception_v3,
    "resnet": _resnet,
    "resnet_cifar": _resnet_cifar,
    "mnist": _mnist,
}


def list_recipes() -> list[str]:
    """Names accepted by `recipe`.

    Examples:
        >>> "vgg" in list_recipes()
        True
    """
    return sorted(_RECIPES)


def recipe_parameters(name: str) -> dict[str, Any]:
    """The overridable parameters of a recipe and their defaults.

    Examples:
        >>> recipe_parameters("mnist")["epochs"]
        15
    """
    builder = _RECIPES[check_choice("name", name, list_recipes())]
    return {p.name: p.default for p in inspect.signature(builder).parameters.values()}


def recipe(name: str, **overrides: Any) -> Recipe:
    """A paper's training recipe: optimiser, loss, metrics, callbacks, augmentation, batch size, epochs.

    ``model.compile(**r.compile_kwargs)`` and ``model.fit(..., batch_size=r.batch_size,
    epochs=r.epochs, callbacks=r.callbacks)`` reproduce the set-up; apply
    ``r.augmentation(images, training=True)`` to the training batches (in a
    ``tf.data`` map or as the first layers of a training model). See
    docs/training.md for each recipe's formulas and the paper's numbers.

    Recipes and their main settings:

    * ``"alexnet"`` -- MomentumSGD(0.01, 0.9, weight decay 5e-4), /10 on plateau, batch 128, 90 epochs.
    * ``"vgg"`` -- MomentumSGD(0.01, 0.9, 5e-4), /10 on plateau, batch 256, 74 epochs, scale jittering.
    * ``"googlenet"`` -- SGD momentum 0.9, -4% every 8 epochs, Polyak averaging, aux weight 0.3.
    * ``"inception_v3"`` -- RMSProp(0.045, rho 0.9, eps 1.0), x0.94 every 2 epochs, clip 2.0, LSR 0.1.
    * ``"resnet"`` -- MomentumSGD(0.1, 0.9, 1e-4), /10 on plateau, batch 256, scale [256, 480].
    * ``"resnet_cifar"`` -- MomentumSGD(0.1, 0.9, 1e-4), /10 at 32k and 48k iterations, batch 128.
    * ``"mnist"`` -- AdamW(3e-3, wd 1e-4), warm-up + cosine, label smoothing 0.1, light augmentation.

    Every recipe accepts these keyword overrides: ``learning_rate``,
    ``batch_size``, ``epochs``, ``label_smoothing`` (Inception-v3 LSR;
    sparse labels supported), ``clipnorm`` (gradient clipping by global
    norm, ``g <- g v / ||g||`` when ``||g|| > v``), ``augment`` (False: no
    augmentation), ``sparse`` (integer labels, default True; False for
    one-hot), ``from_logits`` and ``seed``. Schedules measured in epochs
    (``"googlenet"``, ``"inception_v3"``, ``"mnist"``) take
    ``steps_per_epoch``: with it the schedule is a per-step
    ``LearningRateSchedule`` in the optimiser, without it a per-epoch
    ``LearningRateScheduler`` callback. The MNIST app calls
    ``recipe("mnist", epochs=E, steps_per_epoch=S, label_smoothing=L)``.
    `recipe_parameters` lists every recipe's parameters.

    Args:
        name: one of `list_recipes`.
        **overrides: parameters to change (see above).

    Returns:
        A `Recipe`.

    Raises:
        ValueError: unknown ``name`` (the message lists the known recipes) or
            an override the recipe does not have (the message lists them), or
            an invalid value.

    Examples:
        >>> r = recipe("alexnet", learning_rate=0.02, augment=False)
        >>> float(r.optimizer.learning_rate), r.batch_size, r.augmentation is None
        (0.019999999552965164, 128, True)
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a recipe name ({', '.join(list_recipes())}). Received: name={name!r}")
    key = name.lower().replace("-", "_")
    check_choice("name", key, list_recipes())
    builder = _RECIPES[key]
    allowed = inspect.signature(builder).parameters
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(
            f"Recipe {key!r} has no parameter {', '.join(repr(u) for u in unknown)}; its parameters are "
            f"{', '.join(allowed)}. Received: {', '.join(f'{u}={overrides[u]!r}' for u in unknown)}"
        )
    for arg in ("batch_size", "epochs", "patience"):
        if arg in overrides:
            check_positive_int(arg, overrides[arg], minimum=0 if arg == "patience" else 1)
    if "learning_rate" in overrides:
        check_positive_number("learning_rate", overrides["learning_rate"])
    for arg in ("augment", "sparse", "from_logits"):
        if arg in overrides:
            check_bool(arg, overrides[arg])
    parts = builder(**overrides)
    params = {p.name: overrides.get(p.name, p.default) for p in allowed.values()}
    return Recipe(
        name=key,
        optimizer=parts["optimizer"],
        loss=parts["loss"],
        metrics=parts["metrics"],
        callbacks=parts["callbacks"],
        augmentation=parts["augmentation"],
        batch_size=int(parts["batch_size"]),
        epochs=int(parts["epochs"]),
        doc=parts["doc"],
        params=params,
        aux_weight=float(parts.get("aux_weight", 0.3)),
    )
