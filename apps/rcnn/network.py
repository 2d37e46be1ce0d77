"""The R-CNN network: a kerasnets backbone, fc6/fc7, an (N+1)-way classifier; fine-tuning and features.

R-CNN (Girshick et al. 2014, sections 2.2-2.3) computes a 4096-d feature vector (fc7) of
every warped region with AlexNet, after fine-tuning the ImageNet network as an (N+1)-way
classifier (N object classes + background) on warped proposals: IoU >= 0.5 with a
ground-truth box is a positive of that box's class, everything else background, and each
SGD mini-batch holds 32 positives (over all classes) and 96 background windows.

Here the backbone is any registered kerasnets model built with ``include_top=False`` at
the chosen square input size (``kerasnets.alexnet`` by default, as in the paper;
``vgg16`` is the stronger choice), followed by ``fc6`` and ``fc7`` of ``fc_width`` units
(4096 in the paper) with ReLU and dropout, and ``cls_score`` with N+1 softmax outputs.
The feature of a region is fc7's activation. No ImageNet weights exist here, so the
network is trained from scratch on the task's own warped regions (see docs/apps/rcnn.md
for the recipe); ``weights`` loads a backbone file a user has (for example saved from
``keras.applications.VGG16(include_top=False)``).

Everything here is Keras 3 (``keras.layers``/``keras.ops``), so it runs under any backend.
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np
from keras import layers

__all__ = ["build_network", "feature_model", "preprocess", "extract_features", "RegionBatches", "finetune", "PREPROCESS"]

PREPROCESS = ("scale", "caffe")
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def preprocess(patches: np.ndarray, mode: str = "scale") -> np.ndarray:
    """Network input from uint8 RGB patches.

    ``"scale"``: RGB in [-1, 1] (training from scratch). ``"caffe"``: BGR minus the ImageNet
    mean, as ``keras.applications.vgg16.preprocess_input`` (for VGG weights from Keras).
    """
    x = patches.astype(np.float32)
    if mode == "scale":
        return x / 127.5 - 1.0
    if mode == "caffe":
        return x[..., ::-1] - _CAFFE_MEAN_BGR
    raise ValueError(f"`preprocess` must be one of 'scale', 'caffe'. Received: preprocess={mode!r}")


def build_network(
    backbone: str = "alexnet",
    *,
    num_classes: int,
    input_size: int = 64,
    fc_width: int = 512,
    dropout: float = 0.5,
    weights: str | None = None,
    backbone_options: dict | None = None,
) -> keras.Model:
    """The fine-tunable R-CNN network.

    Args:
        backbone: a registered kerasnets model name (``kerasnets.list_models()``).
        num_classes: N object classes; the classifier has N + 1 outputs (0 = background).
        input_size: side of the square warped region (the paper: 227).
        fc_width: units of fc6 and fc7 (the paper: 4096).
        dropout: dropout after fc6 and fc7 (the paper: 0.5).
        weights: optional ``.weights.h5`` file of the backbone built with
            ``include_top=False`` (e.g. saved from ``keras.applications.VGG16(include_top=False)``).
        backbone_options: extra keyword arguments of the backbone builder
            (``{"lrn": False}``, ``{"towers": 1}``, ``{"activation": "leaky_relu"}``).

    Returns:
        A functional ``keras.Model`` with layers ``<backbone layers>, flatten, fc6, fc6_act,
        drop6, fc7, fc7_act, drop7, cls_score``.

    Raises:
        ValueError: unknown backbone, an input size below the backbone's minimum, a
            weights file that does not fit (the message names the layer).
    """
    import kerasnets

    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"`num_classes` must be an integer >= 1. Received: num_classes={num_classes!r}")
    base = kerasnets.get_model(
        backbone, include_top=False, weights=weights, input_shape=(input_size, input_size, 3), pooling=None,
        **(backbone_options or {}),
    )
    x = base.output
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(fc_width, name="fc6")(x)
    x = layers.Activation("relu", name="fc6_act")(x)
    x = layers.Dropout(dropout, name="drop6")(x)
    x = layers.Dense(fc_width, name="fc7")(x)
    x = layers.Activation("relu", name="fc7_act")(x)
    x = layers.Dropout(dropout, name="drop7")(x)
    x = layers.Dense(num_classes + 1, activation="softmax", name="cls_score")(x)
    return keras.Model(base.input, x, name=f"rcnn_{base.name}")


def feature_model(network: keras.Model, *, layer: str = "fc7_act", xla: bool = False) -> keras.Model:
    """The region-feature extractor (fc7 after ReLU by default), compiled with XLA on or off."""
    model = keras.Model(network.input, network.get_layer(layer).output, name=f"{network.name}_{layer}")
    model.compile(jit_compile=bool(xla))
    return model


def extract_features(
    model: keras.Model,
    patches: np.ndarray,
    *,
    batch_size: int = 256,
    preprocess_mode: str = "scale",
) -> np.ndarray:
    """Features of uint8 patches, in batches of ``batch_size`` (float32, ``(n, d)``)."""
    if len(patches) == 0:
        return np.zeros((0, model.output.shape[-1]), dtype=np.float32)
    out = []
    for start in range(0, len(patches), batch_size):
        batch = preprocess(patches[start : start + batch_size], preprocess_mode)
        n = len(batch)
        if n < batch_size:  # pad: one input shape, so the compiled function is never retraced
            batch = np.concatenate([batch, np.zeros((batch_size - n,) + batch.shape[1:], batch.dtype)])
        out.append(np.asarray(model.predict_on_batch(batch), dtype=np.float32)[:n])
    return np.concatenate(out)


class RegionBatches(keras.utils.PyDataset):
    """Fine-tuning mini-batches: ``positives`` regions with IoU >= 0.5 + ``negatives`` background.

    Positives are drawn class-balanced (a class uniformly, then one of its regions), so rare
    classes are not drowned by frequent ones; background windows uniformly. With
    ``augment``, every box is jittered (5% shift and scale), half the patches are mirrored,
    and brightness/contrast vary by +-20%.

    Args:
        images: RGB uint8 images at the working scale.
        boxes: per image, ``(n_i, 4)`` candidate boxes (proposals and ground truth) in the
            working scale.
        labels: per image, ``(n_i,)`` labels, 0 = background, ``k`` = class ``k - 1``.
        input_size, padding: warping settings.
        steps: batches per epoch.
        positives, negatives: regions per batch of each kind (the paper: 32 and 96).
        augment: apply the augmentation above.
        preprocess_mode: see :func:`preprocess`.
        seed: random seed (batch ``i`` of epoch ``e`` is reproducible).
    """

    def __init__(
        self,
        images,
        boxes,
        labels,
        *,
        input_size: int,
        padding: float,
        steps: int,
        positives: int = 32,
        negatives: int = 96,
        augment: bool = True,
        preprocess_mode: str = "scale",
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.images = images
        self.input_size = input_size
        self.padding = padding
        self.steps = steps
        self.positives = positives
        self.negatives = negatives
        self.augment = augment
        self.preprocess_mode = preprocess_mode
        self.seed = seed
        self.epoch = 0
        img_idx = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)])
        all_boxes = np.concatenate([np.asarray(b, np.float32).reshape(-1, 4) for b in boxes])
        all_labels = np.concatenate([np.asarray(lab).reshape(-1) for lab in labels]).astype(np.int64)
        self.img_idx, self.boxes, self.labels = img_idx, all_boxes, all_labels
        self.negative_index = np.flatnonzero(all_labels == 0)
        self.positive_index = {int(c): np.flatnonzero(all_labels == c) for c in np.unique(all_labels) if c > 0}
        if not self.positive_index:
            raise ValueError("Fine-tuning needs positive regions (IoU >= 0.5 with a ground-truth box); none were found.")
        if len(self.negative_index) == 0:
            raise ValueError("Fine-tuning needs background regions (IoU < 0.5); none were found.")

    def __len__(self):
        return self.steps

    def on_epoch_end(self):
        self.epoch += 1

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Indices of one batch: class-balanced positives, then background."""
        classes = np.array(sorted(self.positive_index))
        chosen = rng.choice(classes, size=self.positives)
        pos = np.array([rng.choice(self.positive_index[int(c)]) for c in chosen], dtype=np.int64)
        neg = rng.choice(self.negative_index, size=self.negatives, replace=len(self.negative_index) < self.negatives)
        return np.concatenate([pos, neg])

    def __getitem__(self, index):
        from apps.rcnn.regions import jitter_boxes, warp_regions

        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        idx = self.sample(rng)
        boxes = self.boxes[idx]
        if self.augment:
            boxes = jitter_boxes(boxes, rng, shift=0.05, scale=0.05)
        flip = rng.random(len(idx)) < 0.5 if self.augment else None
        patches = np.empty((len(idx), self.input_size, self.input_size, 3), dtype=np.uint8)
        for i in np.unique(self.img_idx[idx]):
            sel = np.flatnonzero(self.img_idx[idx] == i)
            patches[sel] = warp_regions(
                self.images[i], boxes[sel], self.input_size, padding=self.padding,
                flip=None if flip is None else flip[sel],
            )  # fmt: skip
        x = preprocess(patches, self.preprocess_mode)
        if self.augment:
            contrast = rng.uniform(0.8, 1.2, size=(len(idx), 1, 1, 1)).astype(np.float32)
            shift = rng.uniform(-0.2, 0.2, size=(len(idx), 1, 1, 1)).astype(np.float32)
            scale = 1.0 if self.preprocess_mode == "scale" else 127.5
            x = x * contrast + shift * scale
        return x, self.labels[idx]


def finetune(
    network: keras.Model,
    batches: RegionBatches,
    *,
    learning_rate: float = 1e-3,
    optimizer: str = "adam",
    steps_per_epoch: int = 100,
    backup_dir: str | None = None,
    xla: bool = False,
    verbose: int = 1,
) -> keras.callbacks.History:
    """Fine-tune ``network`` as an (N+1)-way classifier on ``batches``.

    The learning rate follows a cosine decay over all steps. ``optimizer="sgd"`` is the
    paper's SGD with momentum 0.9 (use ``learning_rate=0.001`` with pretrained weights);
    ``"adam"`` (default) trains from scratch more reliably on small data. With
    ``backup_dir``, ``keras.callbacks.BackupAndRestore`` resumes an interrupted run.

    Returns:
        The Keras ``History`` (loss and accuracy per epoch).
    """
    total = len(batches)
    epochs = max(1, math.ceil(total / steps_per_epoch))
    batches.steps = min(steps_per_epoch, total)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * batches.steps, alpha=0.05)
    if optimizer == "sgd":
        opt = keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=5e-4)
    elif optimizer == "adam":
        opt = keras.optimizers.AdamW(schedule, weight_decay=1e-4)
    else:
        raise ValueError(f"`optimizer` must be one of 'adam', 'sgd'. Received: optimizer={optimizer!r}")
    network.compile(
        optimizer=opt,
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
        jit_compile=bool(xla),
    )
    callbacks = []
    if backup_dir is not None:
        os.makedirs(backup_dir, exist_ok=True)
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=True))
    return network.fit(batches, epochs=epochs, callbacks=callbacks, verbose=verbose)
