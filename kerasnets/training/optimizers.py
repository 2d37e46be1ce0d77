"""Optimisers, gradient clipping and learning-rate schedules of the papers (backend-agnostic).

* `MomentumSGD` -- SGD with momentum and *coupled* weight decay, the
  exact update rule of AlexNet (Krizhevsky et al. 2012, section 5), also
  used by VGG and ResNet (Caffe's "weight_decay").
* `global_norm` / `clip_by_global_norm` -- clipping by global
  norm (Pascanu, Mikolov & Bengio 2013); every Keras optimiser does it when
  given ``global_clipnorm``.
* `divide_on_plateau`, `step_decay`, `warmup_cosine` --
  the schedules: /10 when validation accuracy plateaus, GoogLeNet's and
  Inception-v3's exponential step decays, and a one-cycle-like warm-up +
  cosine schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from kerasnets.checks import check_bool, check_positive_int, check_positive_number

__all__ = [
    "MomentumSGD",
    "global_norm",
    "clip_by_global_norm",
    "divide_on_plateau",
    "step_decay",
    "warmup_cosine",
]


@keras.saving.register_keras_serializable(package="kerasnets")
class MomentumSGD(keras.optimizers.Optimizer):
    """SGD with momentum and weight decay inside the momentum (AlexNet's exact rule).

    Krizhevsky et al. 2012 ("ImageNet Classification with Deep Convolutional
    Neural Networks", section 5) write the update as::

        v <- 0.9 v - 0.0005 * eps * w - eps * dL/dw
        w <- w + v

    with momentum 0.9, weight decay 0.0005 and learning rate ``eps``. This is
    Caffe's (and PyTorch's) coupled weight decay, i.e. an L2 penalty
    ``weight_decay / 2 * ||w||^2`` added to the loss, and the rule that VGG
    (L2 multiplier 5e-4) and ResNet (weight decay 1e-4) train with.

    ``keras.optimizers.SGD(momentum=0.9, weight_decay=5e-4)`` is *not* this
    rule: Keras applies *decoupled* decay ``w <- w - eps * wd * w`` outside
    the velocity, so the decay term is never accumulated by the momentum; the
    two agree on the first step only (see tests/training/test_optimizers.py).

    Args:
        learning_rate: ``eps``; a float or a ``LearningRateSchedule``.
        momentum: momentum coefficient in [0, 1).
        weight_decay: coupled decay coefficient (0 disables it). Exclude
            variables (biases, BN parameters) with
            ``optimizer.exclude_from_weight_decay(var_names=[...])``.
        nesterov: use Nesterov momentum (``w <- w + momentum * v - eps * g``).
        **kwargs: Keras optimiser arguments, e.g. ``global_clipnorm`` (clip
            the gradients by global norm first), ``clipnorm``, ``use_ema``, ``name``.

    Raises:
        ValueError: a negative learning rate / weight decay or a momentum
            outside [0, 1).

    Examples:
        >>> opt = MomentumSGD(learning_rate=0.01, momentum=0.9, weight_decay=5e-4)
        >>> opt.get_config()["weight_decay"]
        0.0005
    """

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = False,
        name: str = "momentum_sgd",
        **kwargs: Any,
    ) -> None:
        kwargs.pop("weight_decay", None)
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=None, **kwargs)
        momentum = check_positive_number("momentum", momentum, allow_zero=True)
        if momentum >= 1:
            raise ValueError(f"`momentum` must be a number in [0, 1). Received: momentum={momentum!r}")
        self.momentum = momentum
        self.coupled_weight_decay = check_positive_number("weight_decay", weight_decay, allow_zero=True)
        self.nesterov = check_bool("nesterov", nesterov)

    def build(self, variables: Sequence[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.coupled_weight_decay and self._use_weight_decay(variable):
            gradient = ops.add(gradient, ops.multiply(ops.cast(self.coupled_weight_decay, variable.dtype), variable))
        velocity = self.momentums[self._get_variable_index(variable)]
        momentum = ops.cast(self.momentum, variable.dtype)
        step = ops.multiply(gradient, learning_rate)
        self.assign(velocity, ops.subtract(ops.multiply(velocity, momentum), step))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(velocity, momentum), step))
        else:
            self.assign_add(variable, velocity)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {"momentum": self.momentum, "weight_decay": self.coupled_weight_decay, "nesterov": self.nesterov}
        )
        return config


def global_norm(gradients: Sequence[Any]) -> Any:
    """The global L2 norm ``sqrt(sum_i ||g_i||^2)`` of a list of tensors (``None`` entries skipped).

    Args:
        gradients: list of gradient tensors.

    Returns:
        Scalar tensor.

    Examples:
        >>> float(global_norm([keras.ops.ones((2,)) * 3.0, keras.ops.ones((1,)) * 4.0]))  # sqrt(9+9+16)
        5.830951690673828
    """
    squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in gradients if g is not None]
    if not squares:
        return ops.convert_to_tensor(0.0)
    return ops.sqrt(ops.sum(ops.stack(squares)))


def clip_by_global_norm(gradients: Sequence[Any], max_norm: float) -> tuple[list, Any]:
    """Rescale gradients so their global norm is at most ``max_norm``.

    Pascanu, Mikolov & Bengio 2013 ("On the difficulty of training recurrent
    neural networks", Algorithm 1) against exploding gradients::

        if ||g|| > v:  g <- g * v / ||g||

    with ``||g||`` the norm of all gradients together (`global_norm`).
    Keras optimisers do the same when built with ``global_clipnorm=v`` (all
    recipes of [`kerasnets.training.recipe`][kerasnets.training.recipe] accept ``clipnorm=v``); this
    function is for custom training loops.

    Args:
        gradients: list of gradient tensors (``None`` entries are kept).
        max_norm: the threshold ``v`` (> 0).

    Returns:
        ``(clipped_gradients, norm_before_clipping)``.

    Raises:
        ValueError: ``max_norm <= 0``.

    Examples:
        >>> clipped, norm = clip_by_global_norm([keras.ops.convert_to_tensor([3.0, 4.0])], 1.0)
        >>> [round(float(v), 3) for v in clipped[0]], float(norm)
        ([0.6, 0.8], 5.0)
    """
    max_norm = check_positive_number("max_norm", max_norm)
    norm = global_norm(gradients)
    scale = ops.minimum(1.0, max_norm / ops.maximum(norm, 1e-12))
    clipped = [None if g is None else ops.multiply(g, ops.cast(scale, g.dtype)) for g in gradients]
    return clipped, norm


def divide_on_plateau(
    *,
    monitor: str = "val_accuracy",
    factor: float = 0.1,
    patience: int = 5,
    min_lr: float = 1e-6,
    min_delta: float = 1e-4,
    verbose: int = 0,
) -> keras.callbacks.ReduceLROnPlateau:
    """Divide the learning rate by 10 when the validation accuracy stops improving.

    AlexNet (Krizhevsky et al. 2012, section 5): "divide the learning rate by
    10 when the validation error rate stopped improving with the current
    learning rate" (0.01, reduced three times); VGG (Simonyan & Zisserman 2015,
    section 3.1) and ResNet (He et al. 2015, section 3.4) do the same. The
    papers give no patience; 5 epochs is the default here.

    Args:
        monitor: the metric to watch; ``mode`` is ``"max"`` for accuracies and
            ``"min"`` for losses/errors (chosen from the name).
        factor: multiplier applied on a plateau (0.1 = divide by 10).
        patience: epochs without improvement before reducing.
        min_lr: lower bound of the learning rate.
        min_delta: smallest change counted as an improvement.
        verbose: Keras verbosity.

    Returns:
        A configured ``keras.callbacks.ReduceLROnPlateau``. The optimiser's
        learning rate must be a float (not a schedule).

    Examples:
        >>> cb = divide_on_plateau(patience=2)
        >>> cb.factor, cb.monitor, cb.mode
        (0.1, 'val_accuracy', 'max')
    """
    if not isinstance(monitor, str):
        raise TypeError(f"`monitor` must be a metric name. Received: monitor={monitor!r}")
    factor = check_positive_number("factor", factor)
    if factor >= 1:
        raise ValueError(f"`factor` must be a number in (0, 1). Received: factor={factor!r}")
    mode = "max" if ("acc" in monitor or "auc" in monitor or "precision" in monitor) else "min"
    return keras.callbacks.ReduceLROnPlateau(
        monitor=monitor,
        factor=factor,
        patience=check_positive_int("patience", patience, minimum=0),
        mode=mode,
        min_delta=min_delta,
        min_lr=check_positive_number("min_lr", min_lr, allow_zero=True),
        verbose=verbose,
    )


def step_decay(
    initial_learning_rate: float, *, decay_rate: float, decay_epochs: int, steps_per_epoch: int | None = None
) -> Any:
    """Exponential step decay ``lr = lr0 * decay_rate ** floor(epoch / decay_epochs)``.

    GoogLeNet (Szegedy et al. 2014, section 6): "decreasing the learning rate
    by 4% every 8 epochs" (``decay_rate=0.96, decay_epochs=8``); Inception-v3
    (Szegedy et al. 2015, section 8): lr 0.045 "decayed every two epoch using
    an exponential rate of 0.94".

    Args:
        initial_learning_rate: ``lr0``.
        decay_rate: multiplier per decay period.
        decay_epochs: epochs per decay period.
        steps_per_epoch: when given, returns a per-step
            ``keras.optimizers.schedules.ExponentialDecay`` (staircase) to pass as
            the optimiser's learning rate; when None, a
            ``keras.callbacks.LearningRateScheduler`` applied at each epoch start.

    Returns:
        A ``LearningRateSchedule`` (with ``steps_per_epoch``) or a callback.

    Examples:
        >>> schedule = step_decay(0.045, decay_rate=0.94, decay_epochs=2, steps_per_epoch=10)
        >>> round(float(schedule(40)), 6)  # epoch 4 -> two decays
        0.039762
    """
    initial_learning_rate = check_positive_number("initial_learning_rate", initial_learning_rate)
    decay_rate = check_positive_number("decay_rate", decay_rate)
    decay_epochs = check_positive_int("decay_epochs", decay_epochs)
    if steps_per_epoch is not None:
        steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
        return keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate, decay_steps=decay_epochs * steps_per_epoch, decay_rate=decay_rate, staircase=True
        )
    return keras.callbacks.LearningRateScheduler(
        _EpochStepDecay(initial_learning_rate, decay_rate, decay_epochs)
    )


class _EpochStepDecay:
    """Picklable ``epoch -> lr`` function for ``LearningRateScheduler``."""

    def __init__(self, initial: float, rate: float, epochs: int) -> None:
        self.initial, self.rate, self.epochs = initial, rate, epochs

    def __call__(self, epoch: int, lr: float | None = None) -> float:
        return float(self.initial * self.rate ** (epoch // self.epochs))


def warmup_cosine(
    peak_learning_rate: float,
    *,
    total_steps: int,
    warmup_fraction: float = 0.2,
    initial_fraction: float = 0.04,
    final_fraction: float = 0.0,
) -> keras.optimizers.schedules.CosineDecay:
    """One-cycle-style schedule: linear warm-up to the peak, then cosine annealing.

    Smith & Topin 2017 ("Super-Convergence") and Loshchilov & Hutter 2017
    (SGDR): a short linear ramp from ``initial_fraction * peak`` to ``peak``
    over ``warmup_fraction`` of the steps, then ``peak * (final + (1 - final) *
    (1 + cos(pi t / T)) / 2)`` down to ``final_fraction * peak``. Built on
    ``keras.optimizers.schedules.CosineDecay`` (``warmup_target``).

    Args:
        peak_learning_rate: learning rate at the end of the warm-up.
        total_steps: training steps in all (epochs x steps per epoch).
        warmup_fraction: fraction of steps spent warming up, in [0, 1).
        initial_fraction: start of the warm-up as a fraction of the peak.
        final_fraction: end of the cosine as a fraction of the peak.

    Returns:
        ``keras.optimizers.schedules.CosineDecay``.

    Examples:
        >>> s = warmup_cosine(0.01, total_steps=100, warmup_fraction=0.1)
        >>> round(float(s(10)), 6), round(float(s(100)), 6)
        (0.01, 0.0)
    """
    peak_learning_rate = check_positive_number("peak_learning_rate", peak_learning_rate)
    total_steps = check_positive_int("total_steps", total_steps)
    for arg, value in (
        ("warmup_fraction", warmup_fraction),
        ("initial_fraction", initial_fraction),
        ("final_fraction", final_fraction),
    ):
        check_positive_number(arg, value, allow_zero=True)
        if value >= 1 and arg == "warmup_fraction" or value > 1:
            raise ValueError(f"`{arg}` must be a number in [0, 1). Received: {arg}={value!r}")
    warmup_steps = int(round(warmup_fraction * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_learning_rate * initial_fraction if warmup_steps else peak_learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_fraction,
        warmup_target=peak_learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )
