"""The papers' training and evaluation recipes as reusable Keras parts.

Optimisers and schedules (`.optimizers`), label smoothing (`.losses`),
auxiliary-classifier losses (`.auxiliary`), augmentation layers
(`.augment`), 10-crop / multi-crop / dense evaluation (`.evaluation`),
BatchNorm re-estimation (`.batchnorm`), and `recipe` bundling them
per paper. Everything here is pure Keras 3 (runs under the TensorFlow, JAX and
PyTorch backends); the augmentation layers also run inside ``tf.data``.
See docs/training.md.
"""

from kerasnets.training.augment import (
    IMAGENET_PCA_EIGENVALUES,
    IMAGENET_PCA_EIGENVECTORS,
    PCALighting,
    RandomPadCrop,
    RandomResizedCrop,
    ScaleJitter,
    alexnet_augmentation,
    cifar_augmentation,
    inception_augmentation,
    mnist_augmentation,
    pca_lighting,
    rgb_pca,
    vgg_augmentation,
)
from kerasnets.training.auxiliary import (
    aux_compile_kwargs,
    compile_with_aux_losses,
    replicate_targets,
    strip_aux_heads,
)
from kerasnets.training.batchnorm import batchnorm_layers, recalibrate_batchnorm
from kerasnets.training.evaluation import (
    grid_crop_boxes,
    multi_crop,
    predict_dense,
    predict_multi_crop,
    predict_ten_crop,
    resize_shorter_side,
    ten_crop,
    ten_crop_boxes,
    to_fully_convolutional,
)
from kerasnets.training.inception import compile_googlenet, compile_inception_v3, inference_model
from kerasnets.training.losses import LabelSmoothingCrossentropy, label_smoothing_loss, smooth_labels
from kerasnets.training.optimizers import (
    MomentumSGD,
    clip_by_global_norm,
    divide_on_plateau,
    global_norm,
    step_decay,
    warmup_cosine,
)
from kerasnets.training.recipes import Recipe, list_recipes, recipe, recipe_parameters

__all__ = [
    "IMAGENET_PCA_EIGENVALUES",
    "IMAGENET_PCA_EIGENVECTORS",
    "LabelSmoothingCrossentropy",
    "MomentumSGD",
    "PCALighting",
    "RandomPadCrop",
    "RandomResizedCrop",
    "Recipe",
    "ScaleJitter",
    "alexnet_augmentation",
    "aux_compile_kwargs",
    "batchnorm_layers",
    "cifar_augmentation",
    "clip_by_global_norm",
    "compile_googlenet",
    "compile_inception_v3",
    "compile_with_aux_losses",
    "divide_on_plateau",
    "global_norm",
    "grid_crop_boxes",
    "inception_augmentation",
    "inference_model",
    "label_smoothing_loss",
    "list_recipes",
    "mnist_augmentation",
    "multi_crop",
    "pca_lighting",
    "predict_dense",
    "predict_multi_crop",
    "predict_ten_crop",
    "recalibrate_batchnorm",
    "recipe",
    "recipe_parameters",
    "replicate_targets",
    "resize_shorter_side",
    "rgb_pca",
    "smooth_labels",
    "step_decay",
    "strip_aux_heads",
    "ten_crop",
    "ten_crop_boxes",
    "to_fully_convolutional",
    "vgg_augmentation",
    "warmup_cosine",
]
