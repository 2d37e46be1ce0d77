"""``recipe(name)``: each paper's training set-up, ready for ``compile`` and ``fit``.

>>> from kerasnets.training import recipe
>>> r = recipe("vgg")
>>> model.compile(**r.compile_kwargs)                        # doctest: +SKIP
>>> model.fit(train.map(lambda x, y: (r.augmentation(x, training=True), y)),
...           validation_data=val, epochs=r.epochs, callbacks=r.callbacks)  # doctest: +SKIP

A [`Recipe`][kerasnets.training.Recipe] holds fresh optimiser/loss/metric/callback objects: use one
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


def _clip(clipnorm: float | None) -> dict:
    return {} if clipnorm is None else {"global_clipnorm": check_positive_number("clipnorm", clipnorm)}


def _metrics(sparse: bool, top5: bool) -> list:
    metrics: list = ["accuracy"]
    if top5:
        metric = keras.metrics.SparseTopKCategoricalAccuracy if sparse else keras.metrics.TopKCategoricalAccuracy
        metrics.append(metric(k=5, name="top5_accuracy"))
    return metrics


def _momentum_sgd(p: dict, learning_rate: Any, **options: Any) -> MomentumSGD:
    """`MomentumSGD` with the recipe's ``momentum``, ``weight_decay`` and ``clipnorm``."""
    return MomentumSGD(
        learning_rate, momentum=p["momentum"], weight_decay=p["weight_decay"], **options, **_clip(p["clipnorm"])
    )


def _per_step_or_epoch(p: dict, schedule: Any) -> tuple[Any, list]:
    """``(learning_rate, callbacks)``: the schedule in the optimiser with ``steps_per_epoch``, else a callback."""
    if p["steps_per_epoch"] is not None:
        return schedule, []
    return p["learning_rate"], [schedule]


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
# Optimiser + learning-rate schedule of each recipe: ``params -> (optimizer, callbacks)``.
# ---------------------------------------------------------------------------


def _sgd_on_plateau(p: dict) -> tuple[Any, list]:
    """AlexNet, VGG and ResNet: momentum SGD, learning rate /10 when the validation accuracy plateaus."""
    return _momentum_sgd(p, p["learning_rate"]), [divide_on_plateau(patience=p["patience"])]


def _sgd_piecewise(p: dict) -> tuple[Any, list]:
    """ResNet on CIFAR: momentum SGD, learning rate /10 at each of ``boundaries`` (iterations)."""
    boundaries = [check_positive_int("boundaries", b) for b in p["boundaries"]]
    values = [p["learning_rate"] * 0.1**i for i in range(len(boundaries) + 1)]
    return _momentum_sgd(p, keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)), []


def _step_decay(p: dict) -> tuple[Any, list]:
    """``(learning_rate, callbacks)`` for GoogLeNet's and Inception-v3's step decay."""
    schedule = step_decay(p["learning_rate"], decay_rate=p["decay_rate"], decay_epochs=p["decay_epochs"],
                          steps_per_epoch=p["steps_per_epoch"])
    return _per_step_or_epoch(p, schedule)


def _sgd_step_decay_ema(p: dict) -> tuple[Any, list]:
    """GoogLeNet: momentum SGD, step decay, Polyak averaging of the weights (``use_ema``)."""
    lr, callbacks = _step_decay(p)
    ema = {"use_ema": check_bool("use_ema", p["use_ema"]), "ema_momentum": p["ema_momentum"]}
    return _momentum_sgd(p, lr, **ema), callbacks


def _rmsprop_step_decay(p: dict) -> tuple[Any, list]:
    """Inception-v3: RMSProp, step decay."""
    lr, callbacks = _step_decay(p)
    rho, epsilon = check_positive_number("rho", p["rho"]), check_positive_number("epsilon", p["epsilon"])
    return keras.optimizers.RMSprop(lr, rho=rho, epsilon=epsilon, **_clip(p["clipnorm"])), callbacks


def _adamw_warmup_cosine(p: dict) -> tuple[Any, list]:
    """MNIST: AdamW, linear warm-up then cosine to 0 (per step with ``steps_per_epoch``, else per epoch)."""
    epochs = check_positive_int("epochs", p["epochs"])
    warmup_fraction = check_fraction("warmup_fraction", p["warmup_fraction"])
    if p["steps_per_epoch"] is not None:
        steps_per_epoch = check_positive_int("steps_per_epoch", p["steps_per_epoch"])
        lr: Any = warmup_cosine(p["learning_rate"], total_steps=epochs * steps_per_epoch,
                                warmup_fraction=warmup_fraction)
        callbacks: list = []
    else:
        warmup_epochs = int(round(warmup_fraction * epochs))
        lr = check_positive_number("learning_rate", p["learning_rate"])
        callbacks = [keras.callbacks.LearningRateScheduler(_EpochWarmupCosine(lr, epochs, warmup_epochs))]
    weight_decay = check_positive_number("weight_decay", p["weight_decay"], allow_zero=True)
    return keras.optimizers.AdamW(lr, weight_decay=weight_decay, **_clip(p["clipnorm"])), callbacks


# ---------------------------------------------------------------------------
# The recipes, as data: each one's parameters (the overridable ones, with their defaults, in
# this order), its optimiser, its augmentation and its documentation.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _RecipeSpec:
    """One recipe.

    Attributes:
        defaults: every parameter ``recipe(name, **overrides)`` accepts, with its default.
        optimizer: ``params -> (optimizer, callbacks)``.
        augmentation: the `kerasnets.training.augment` builder; it receives the recipe's
            parameters of the same names as its own (and is not called when ``augment=False``).
        top5: whether the metrics include top-5 accuracy.
        doc: what the recipe reproduces, with the paper's numbers.
    """

    defaults: dict
    optimizer: Callable[[dict], tuple[Any, list]]
    augmentation: Callable[..., keras.Sequential]
    top5: bool
    doc: str

    def build_augmentation(self, params: dict) -> keras.Sequential:
        names = inspect.signature(self.augmentation).parameters
        return self.augmentation(**{name: params[name] for name in names if name in params})


def _sgd(learning_rate: float, weight_decay: float, batch_size: int, epochs: int) -> dict:
    return {"learning_rate": learning_rate, "momentum": 0.9, "weight_decay": weight_decay, "batch_size": batch_size,
            "epochs": epochs}


def _epoch_decay(decay_rate: float, decay_epochs: int, aux_weight: float) -> dict:
    return {"decay_rate": decay_rate, "decay_epochs": decay_epochs, "steps_per_epoch": None, "aux_weight": aux_weight}


def _regularise(label_smoothing: float = 0.0, clipnorm: float | None = None) -> dict:
    return {"label_smoothing": label_smoothing, "clipnorm": clipnorm}


# Crop size, PCA-lighting standard deviation and the images' value range (AlexNet, VGG, ResNet).
_CROP_LIGHTING = {"crop_size": 224, "lighting_stddev": 0.1, "value_range": (0, 255)}

# The parameters every recipe ends with.
_COMMON = {"augment": True, "sparse": True, "from_logits": False, "seed": None}


_ALEXNET_DOC = (
    "AlexNet (Krizhevsky, Sutskever & Hinton 2012): SGD, batch 128, momentum 0.9, weight decay "
    "5e-4 inside the momentum (v <- 0.9 v - 0.0005 eps w - eps g; w <- w + v), eps = 0.01 divided "
    "by 10 when the validation error stops improving (three times), ~90 epochs; random 224x224 "
    "crops of the 256x256 images + horizontal flips + PCA lighting (a ~ N(0, 0.1)); dropout 0.5 "
    "in fc6/fc7 (in the model). Result: 37.5% top-1 / 17.0% top-5 test error on ILSVRC-2010 "
    "(10-crop test, see predict_ten_crop)."
)

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

_RESNET_CIFAR_DOC = (
    "ResNet on CIFAR-10 (He et al. 2015, section 4.2): batch 128, lr 0.1 divided by 10 at 32k and "
    "48k iterations, stop at 64k (~182 epochs on a 45k/5k split), weight decay 1e-4, momentum "
    "0.9; 4-pixel padding, random 32x32 crop, flips. ResNet-110: 6.43% test error (ResNet-56: "
    "6.97%). For ResNet-110 the paper warms up at lr 0.01 until training error < 80% (~400 "
    "iterations)."
)

_GOOGLENET_DOC = (
    "GoogLeNet (Szegedy et al. 2014, section 6): asynchronous SGD with momentum 0.9, learning rate "
    "decreased by 4% every 8 epochs, Polyak averaging of the weights for inference (use_ema), "
    "auxiliary losses weighted 0.3 (compile_kwargs_for(model)), crops of 8%-100% of the image "
    "area with aspect ratio in [3/4, 4/3], flips. The paper gives no initial learning rate, "
    "weight decay, batch size or epoch count: the defaults here (0.01, 2e-4, 128, 90) are "
    "choices, override them. Result: 6.67% top-5 test error (ensemble of 7, 144 crops)."
)

_INCEPTION_V3_DOC = (
    "Inception-v3 (Szegedy et al. 2015, section 8): RMSProp with decay 0.9 and epsilon 1.0, lr "
    "0.045 decayed every two epochs by 0.94, gradient clipping by global norm 2.0, batch 32 per "
    "replica (50 replicas), 100 epochs, label smoothing eps = 0.1 (~0.2% better top-1 and top-5), "
    "299x299 crops. The auxiliary head's weight is not in the paper; 0.4 is TF-slim's. Result: "
    "21.2% top-1 / 5.6% top-5 single-crop val error (18.77/4.2 with 144 crops; ensemble of 4: 17.2/3.58)."
)

_MNIST_DOC = (
    "MNIST / Fashion-MNIST, strong and fast on a CPU: AdamW (lr 3e-3 peak, decoupled weight decay "
    "1e-4), batch 128, one-cycle-style schedule (linear warm-up over 15% of the steps, then cosine "
    "to 0; per step when steps_per_epoch is given, else per epoch), label smoothing 0.1, light "
    "augmentation (shifts 10%, rotations 10 degrees, zoom 10%; no flips). Expects inputs scaled by "
    "the model (e.g. a Rescaling layer) and integer labels."
)


_RECIPES: dict[str, _RecipeSpec] = {
    "alexnet": _RecipeSpec(
        {**_sgd(0.01, 5e-4, 128, 90), "patience": 5, **_regularise(), **_CROP_LIGHTING, **_COMMON},
        _sgd_on_plateau, _aug.alexnet_augmentation, top5=True, doc=_ALEXNET_DOC,
    ),
    "vgg": _RecipeSpec(
        {**_sgd(0.01, 5e-4, 256, 74), "patience": 5, **_regularise(), "scale": (256, 512), **_CROP_LIGHTING,
         **_COMMON},
        _sgd_on_plateau, _aug.vgg_augmentation, top5=True, doc=_VGG_DOC,
    ),
    "googlenet": _RecipeSpec(
        {**_sgd(0.01, 2e-4, 128, 90), **_epoch_decay(0.96, 8, aux_weight=0.3), "use_ema": True,
         "ema_momentum": 0.999, **_regularise(), "crop_size": 224, **_COMMON},
        _sgd_step_decay_ema, _aug.inception_augmentation, top5=True, doc=_GOOGLENET_DOC,
    ),
    "inception_v3": _RecipeSpec(
        {"learning_rate": 0.045, "rho": 0.9, "epsilon": 1.0, "batch_size": 32, "epochs": 100,
         **_epoch_decay(0.94, 2, aux_weight=0.4), **_regularise(0.1, clipnorm=2.0), "crop_size": 299, **_COMMON},
        _rmsprop_step_decay, _aug.inception_augmentation, top5=True, doc=_INCEPTION_V3_DOC,
    ),
    "resnet": _RecipeSpec(
        {**_sgd(0.1, 1e-4, 256, 120), "patience": 5, **_regularise(), "scale": (256, 480), **_CROP_LIGHTING,
         **_COMMON},
        _sgd_on_plateau, _aug.vgg_augmentation, top5=True, doc=_RESNET_DOC,
    ),
    "resnet_cifar": _RecipeSpec(
        {**_sgd(0.1, 1e-4, 128, 182), "boundaries": (32000, 48000), **_regularise(), **_COMMON},
        _sgd_piecewise, _aug.cifar_augmentation, top5=False, doc=_RESNET_CIFAR_DOC,
    ),
    "mnist": _RecipeSpec(
        {"learning_rate": 3e-3, "weight_decay": 1e-4, "batch_size": 128, "epochs": 15, "steps_per_epoch": None,
         "warmup_fraction": 0.15, **_regularise(0.1), "shift": 0.1, "rotation_degrees": 10.0, "zoom": 0.1,
         **_COMMON},
        _adamw_warmup_cosine, _aug.mnist_augmentation, top5=False, doc=_MNIST_DOC,
    ),
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
    return dict(_RECIPES[check_choice("name", name, list_recipes())].defaults)


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
        A [`Recipe`][kerasnets.training.Recipe].

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
    spec = _RECIPES[key]
    unknown = sorted(set(overrides) - set(spec.defaults))
    if unknown:
        raise ValueError(
            f"Recipe {key!r} has no parameter {', '.join(repr(u) for u in unknown)}; its parameters are "
            f"{', '.join(spec.defaults)}. Received: {', '.join(f'{u}={overrides[u]!r}' for u in unknown)}"
        )
    for arg in ("batch_size", "epochs", "patience"):
        if arg in overrides:
            check_positive_int(arg, overrides[arg], minimum=0 if arg == "patience" else 1)
    if "learning_rate" in overrides:
        check_positive_number("learning_rate", overrides["learning_rate"])
    for arg in ("augment", "sparse", "from_logits"):
        if arg in overrides:
            check_bool(arg, overrides[arg])
    params = {**spec.defaults, **overrides}
    optimizer, callbacks = spec.optimizer(params)
    return Recipe(
        name=key,
        optimizer=optimizer,
        loss=label_smoothing_loss(params["label_smoothing"], sparse=params["sparse"],
                                  from_logits=params["from_logits"]),
        metrics=_metrics(params["sparse"], top5=spec.top5),
        callbacks=callbacks,
        augmentation=spec.build_augmentation(params) if params["augment"] else None,
        batch_size=int(params["batch_size"]),
        epochs=int(params["epochs"]),
        doc=spec.doc,
        params=params,
        aux_weight=float(params.get("aux_weight", 0.3)),
    )
