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
The feature of a region is fc7's activation. By default the network is trained from
scratch on the task's own warped regions (see docs/apps/rcnn.md for the recipe);
``weights`` starts the backbone from published ImageNet weights (``timm/resnet50.tv_in1k``,
``torchvision/vgg16``: the names ``kerasnets.<builder>(weights=...)`` takes) or a file a user
has (for example saved from ``keras.applications.VGG16(include_top=False)``); see
`apps.rcnn.backbone_weights`.

Everything here is Keras 3 (``keras.layers``/``keras.ops``), so it runs under any backend.
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np
from keras import layers

from apps.rcnn.backbone_weights import PREPROCESS

__all__ = [
    "build_network", "feature_model", "preprocess", "extract_features", "extract_features_stream", "RegionBatches",
    "finetune",
    "FinetuneInterrupted", "PREPROCESS",
]  # fmt: skip

# One unit of the [-1, 1] scale (127.5 grey levels) in each mode's units: the brightness
# augmentation shifts every mode by the same amount of light.
_UNIT = {"scale": 1.0, "caffe": 127.5, "torch": 0.5 / np.array([0.229, 0.224, 0.225], np.float32)}


def preprocess(patches: np.ndarray, mode: str = "scale") -> np.ndarray:
    """Network input from uint8 RGB patches: `kerasnets.preprocess_input` in the mode ``mode`` names.

    ``"scale"``: RGB in [-1, 1] (training from scratch). ``"caffe"``: BGR minus the ImageNet
    mean, as ``keras.applications.vgg16.preprocess_input`` (VGG weights from Keras).
    ``"torch"``: ImageNet mean/std (the torchvision and timm weights, ``--weights timm/...``).
    """
    from kerasnets.preprocessing import preprocess_input

    if mode not in PREPROCESS:
        raise ValueError(f"`preprocess` must be one of {', '.join(map(repr, PREPROCESS))}. Received: preprocess={mode!r}")
    return preprocess_input(np.asarray(patches, np.float32), PREPROCESS[mode], data_format="channels_last")


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
        weights: optional backbone weights: a published name (``timm/resnet50.tv_in1k``; pass
            the builder options it implies, see `apps.rcnn.backbone_weights.resolve_weights`),
            or a file of the backbone built with ``include_top=False`` (``.weights.h5``, e.g.
            saved from ``keras.applications.VGG16(include_top=False)``, or ``.safetensors``/``.pth``).
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
        padded = _bucket(n, batch_size)
        if n < padded:  # pad to a multiple of 32: a few input shapes, each traced once, little wasted work
            batch = np.concatenate([batch, np.zeros((padded - n,) + batch.shape[1:], batch.dtype)])
        out.append(np.asarray(model.predict_on_batch(batch), dtype=np.float32)[:n])
    return np.concatenate(out)


def _bucket(n: int, batch_size: int, step: int = 32) -> int:
    """The padded size of a last batch of ``n``: the next multiple of ``step`` (at most ``batch_size``)."""
    return min(batch_size, -(-n // step) * step)


def extract_features_stream(
    model: keras.Model,
    patch_arrays,
    *,
    batch_size: int = 256,
    preprocess_mode: str = "scale",
) -> list[np.ndarray]:
    """Features of a stream of patch arrays (one per image), in full batches across arrays.

    The arrays are concatenated into batches of ``batch_size`` regions regardless of which
    image they come from, so only the very last batch is padded; the result is split back
    into one ``(n_i, d)`` array per input array, in order.
    """
    dim = model.output.shape[-1]
    sizes, buffer, buffered, feats = [], [], 0, []

    def flush(final: bool):
        nonlocal buffer, buffered
        if not buffered:
            return
        data = np.concatenate(buffer)
        cut = len(data) if final else (len(data) // batch_size) * batch_size
        if cut:
            feats.append(extract_features(model, data[:cut], batch_size=batch_size, preprocess_mode=preprocess_mode))
        buffer = [data[cut:]] if cut < len(data) else []
        buffered = len(data) - cut

    for patches in patch_arrays:
        sizes.append(len(patches))
        if len(patches):
            buffer.append(patches)
            buffered += len(patches)
        if buffered >= batch_size:
            flush(final=False)
    flush(final=True)
    allf = np.concatenate(feats) if feats else np.zeros((0, dim), np.float32)
    return np.split(allf, np.cumsum(sizes)[:-1]) if sizes else []


class RegionBatches:
    """Fine-tuning mini-batches: ``positives`` regions with IoU >= 0.5 + ``negatives`` background.

    Positives are drawn class-balanced (a class uniformly, then one of its regions), so rare
    classes are not drowned by frequent ones; background windows uniformly. With
    ``augment``, every box is jittered (5% shift and scale), half the patches are mirrored,
    and brightness/contrast vary by +-20%.

    Batch ``step`` is a pure function of ``(seed, step)`` (its own ``numpy`` generator), so a
    resumed run sees exactly the batches, in the same order and with the same augmentation,
    as an uninterrupted one. ``batches[i]`` and ``batches.batch(i)`` are the same.

    Args:
        images: RGB uint8 images at the working scale.
        boxes: per image, ``(n_i, 4)`` candidate boxes (proposals and ground truth) in the
            working scale.
        labels: per image, ``(n_i,)`` labels, 0 = background, ``k`` = class ``k - 1``.
        input_size, padding: warping settings.
        steps: the number of batches (``len(batches)``).
        positives, negatives: regions per batch of each kind (the paper: 32 and 96).
        overlaps: per image, ``(n_i,)`` best IoU of each box with a ground-truth box (needed
            for ``near_negatives``).
        near_negatives: fraction of each batch's background regions drawn from boxes that
            overlap an object by IoU 0.1-0.5 (the rest from all background); 0: uniform, as R-CNN.
        augment: apply the augmentation above.
        preprocess_mode: see `preprocess`.
        seed: random seed.
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
        overlaps=None,
        near_negatives: float = 0.0,
    ):
        self.images = images
        self.input_size = input_size
        self.padding = padding
        self.steps = steps
        self.positives = positives
        self.negatives = negatives
        self.augment = augment
        self.preprocess_mode = preprocess_mode
        self.seed = seed
        img_idx = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)])
        all_boxes = np.concatenate([np.asarray(b, np.float32).reshape(-1, 4) for b in boxes])
        all_labels = np.concatenate([np.asarray(lab).reshape(-1) for lab in labels]).astype(np.int64)
        self.img_idx, self.boxes, self.labels = img_idx, all_boxes, all_labels
        self.negative_index = np.flatnonzero(all_labels == 0)
        # Background that overlaps an object (IoU in [0.1, 0.5), Fast R-CNN's background range):
        # the boxes that teach the classifier where an object ends.
        self.near_index = np.zeros(0, np.int64)
        self.near_count = 0
        if near_negatives > 0:
            if overlaps is None:
                raise ValueError(f"`near_negatives` needs `overlaps` (each box's best IoU with an object). "
                                 f"Received: near_negatives={near_negatives!r}, overlaps=None")  # fmt: skip
            best = np.concatenate([np.asarray(o, np.float32).reshape(-1) for o in overlaps])
            if len(best) != len(all_labels):
                raise ValueError(f"`overlaps` must give one IoU per box ({len(all_labels)}). Received: {len(best)} values")
            self.near_index = np.flatnonzero((all_labels == 0) & (best >= 0.1))
            if len(self.near_index):
                self.near_count = int(round(negatives * near_negatives))
        self.positive_index = {int(c): np.flatnonzero(all_labels == c) for c in np.unique(all_labels) if c > 0}
        if not self.positive_index:
            raise ValueError("Fine-tuning needs positive regions (IoU >= 0.5 with a ground-truth box); none were found.")
        if len(self.negative_index) == 0:
            raise ValueError("Fine-tuning needs background regions (IoU < 0.5); none were found.")
        self._classes = np.array(sorted(self.positive_index))
        # One mean colour per image (the warp's border fill), computed once, not per batch.
        self._fills = [np.asarray(im, np.float64).reshape(-1, 3).mean(axis=0) for im in images]

    def __len__(self):
        return self.steps

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Indices of one batch: class-balanced positives, then background."""
        chosen = rng.choice(self._classes, size=self.positives)
        # One uniform draw per positive picks a region of its class (vectorised rng.choice).
        u = rng.random(self.positives)
        pos = np.empty(self.positives, dtype=np.int64)
        for c in np.unique(chosen):
            sel = np.flatnonzero(chosen == c)
            pool = self.positive_index[int(c)]
            pos[sel] = pool[np.minimum((u[sel] * len(pool)).astype(np.int64), len(pool) - 1)]
        far = self.negatives - self.near_count
        neg = rng.choice(self.negative_index, size=far, replace=len(self.negative_index) < far)
        if self.near_count:  # drawn after the others, so that near_negatives=0 gives the batches it always did
            near = rng.choice(self.near_index, size=self.near_count, replace=len(self.near_index) < self.near_count)
            neg = np.concatenate([neg, near])
        return np.concatenate([pos, neg])

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch number ``step``: ``(float32 network input, int64 labels)``."""
        from apps.rcnn.regions import jitter_boxes, warp_regions

        rng = np.random.default_rng([int(self.seed), int(step)])
        idx = self.sample(rng)
        boxes = self.boxes[idx]
        n = len(idx)
        if self.augment:
            boxes = jitter_boxes(boxes, rng, shift=0.05, scale=0.05)
            flip = rng.random(n) < 0.5
            contrast = rng.uniform(0.8, 1.2, size=(n, 1, 1, 1)).astype(np.float32)
            shift = rng.uniform(-0.2, 0.2, size=(n, 1, 1, 1)).astype(np.float32)
        else:
            flip = None
        patches = np.empty((n, self.input_size, self.input_size, 3), dtype=np.uint8)
        owner = self.img_idx[idx]
        for i in np.unique(owner):
            sel = np.flatnonzero(owner == i)
            patches[sel] = warp_regions(
                self.images[i], boxes[sel], self.input_size, padding=self.padding,
                fill=self._fills[i], flip=None if flip is None else flip[sel],
            )  # fmt: skip
        x = preprocess(patches, self.preprocess_mode)
        if self.augment:
            x *= contrast
            x += shift * _UNIT[self.preprocess_mode]
        return x, self.labels[idx]

    def __getitem__(self, step):
        if not 0 <= int(step) < self.steps:
            raise IndexError(f"batch {step} out of range [0, {self.steps})")
        return self.batch(int(step))


class FinetuneInterrupted(KeyboardInterrupt):
    """Fine-tuning stopped by SIGINT after ``step`` steps (epoch ``epoch``), its state saved."""

    def __init__(self, step: int, epoch: int, total: int):
        super().__init__(f"interrupted at epoch {epoch} step {step}")
        self.step, self.epoch, self.total = step, epoch, total


_STATE_FILE = "finetune_state.npz"


def _save_state(path: str, network, optimizer, step: int, history: dict, partial=((), ())) -> None:
    """Every variable of the network (seed-generator states included) and of the optimizer,
    the step, the history so far and the current epoch's per-step losses/accuracies,
    written to a temporary file and renamed (atomic)."""
    arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(network.variables)}
    arrays.update({f"opt_{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
    arrays["step"] = np.int64(step)
    for key, values in history.items():
        arrays[f"history_{key}"] = np.asarray(values, dtype=np.float64)
    arrays["partial_loss"] = np.asarray(partial[0], dtype=np.float64)
    arrays["partial_acc"] = np.asarray(partial[1], dtype=np.float64)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _load_state(path: str, network, optimizer) -> tuple[int, dict, tuple[list, list]]:
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # a truncated/corrupt file: say so, never overwrite it
        raise ValueError(f"The fine-tuning checkpoint is unreadable or corrupt ({type(exc).__name__}: {exc}); "
                         f"move it away or pass --overwrite to start afresh. Received: file={path!r}") from None  # fmt: skip
    n_model = sum(k.startswith("model_") for k in arrays)
    n_opt = sum(k.startswith("opt_") for k in arrays)
    if n_model != len(network.variables) or n_opt != len(optimizer.variables) or "step" not in arrays:
        raise ValueError(f"The fine-tuning checkpoint does not belong to this network ({n_model} network variables, "
                         f"this one has {len(network.variables)}). Received: file={path!r}")  # fmt: skip
    for i, v in enumerate(network.variables):
        if tuple(arrays[f"model_{i}"].shape) != tuple(v.shape):
            raise ValueError(f"The fine-tuning checkpoint does not belong to this network (variable {v.path} has "
                             f"shape {tuple(v.shape)}, the file {arrays[f'model_{i}'].shape}). Received: file={path!r}")  # fmt: skip
        v.assign(arrays[f"model_{i}"])
    for i, v in enumerate(optimizer.variables):
        v.assign(arrays[f"opt_{i}"])
    history = {k[len("history_"):]: [float(x) for x in arrays[k]] for k in arrays if k.startswith("history_")}
    partial = ([float(x) for x in arrays.get("partial_loss", ())], [float(x) for x in arrays.get("partial_acc", ())])
    return int(arrays["step"]), history, partial


def finetune(
    network: keras.Model,
    batches: RegionBatches,
    *,
    learning_rate: float = 1e-3,
    optimizer: str = "adam",
    steps_per_epoch: int = 100,
    checkpoint_dir: str | None = None,
    xla: bool = False,
    verbose: int = 1,
    log=None,
    compile: bool = True,
) -> dict:
    """Fine-tune ``network`` as an (N+1)-way classifier on ``batches``.

    The learning rate follows a cosine decay over all steps. ``optimizer="sgd"`` is the
    paper's SGD with momentum 0.9 (use ``learning_rate=0.001`` with pretrained weights);
    ``"adam"`` (default) trains from scratch more reliably on small data.

    The loop calls ``train_on_batch`` on batches already in memory, the next batch being
    warped in a background thread while the current step runs (OpenCV and TensorFlow
    release the GIL), so the step costs what the bare network's step costs.

    With ``checkpoint_dir``, the complete training state (every network variable,
    dropout seed states included, the optimizer's slots and iteration count, the step
    and the history) is saved atomically there every ``steps_per_epoch`` steps and on
    SIGINT, and once more when fine-tuning completes; a new call with the same
    arguments resumes from it (or returns at once when it was complete) and gives the
    same weights as an uninterrupted run, since batch ``i`` depends only on ``(seed, i)``.
    The caller removes the folder when it no longer needs it.

    Args:
        log: callable receiving one progress line per epoch (default: stderr when
            ``verbose``).
        compile: compile ``network`` with a new optimizer (False: keep the network's
            compiled optimizer and train function, e.g. to time steps without the set-up).

    Returns:
        The history: ``{"loss": [...], "sparse_categorical_accuracy": [...]}``, one mean per epoch.

    Raises:
        FinetuneInterrupted: on SIGINT, after saving the state (a ``KeyboardInterrupt``).
    """
    import concurrent.futures
    import signal
    import sys
    import threading
    import time

    from kerasnets.progress import format_epoch_line

    total = len(batches)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, total), alpha=0.05)
    if optimizer == "sgd":
        opt = keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=5e-4)
    elif optimizer == "adam":
        opt = keras.optimizers.AdamW(schedule, weight_decay=1e-4)
    else:
        raise ValueError(f"`optimizer` must be one of 'adam', 'sgd'. Received: optimizer={optimizer!r}")
    if compile or network.optimizer is None:
        network.compile(
            optimizer=opt,
            loss="sparse_categorical_crossentropy",
            metrics=["sparse_categorical_accuracy"],
            jit_compile=bool(xla),
        )
        opt.build(network.trainable_variables)
    opt = network.optimizer
    if log is None:
        log = (lambda line: print(line, file=sys.stderr, flush=True)) if verbose else (lambda line: None)
    epochs = max(1, math.ceil(total / steps_per_epoch))
    state_path = None
    start, history = 0, {"loss": [], "sparse_categorical_accuracy": []}
    losses, accs = [], []
    if checkpoint_dir is not None:
        os.makedirs(checkpoint_dir, exist_ok=True)
        state_path = os.path.join(checkpoint_dir, _STATE_FILE)
        if os.path.isfile(state_path):
            start, saved, (losses, accs) = _load_state(state_path, network, opt)
            history.update(saved)
            log(f"resuming fine-tuning at step {start}/{total}")
    if start >= total:
        return history

    stop = threading.Event()
    previous_handler = None
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rcnn-batches")
    try:
        pending = pool.submit(batches.batch, start)
        t_epoch = time.perf_counter()
        step = start
        while step < total:
            x, y = pending.result()
            if step + 1 < total:
                pending = pool.submit(batches.batch, step + 1)
            loss, acc = network.train_on_batch(x, y)
            step += 1
            losses.append(float(loss))
            accs.append(float(acc))
            end_of_epoch = step % steps_per_epoch == 0 or step == total
            if end_of_epoch:
                epoch = math.ceil(step / steps_per_epoch)
                history["loss"].append(float(np.mean(losses)))
                history["sparse_categorical_accuracy"].append(float(np.mean(accs)))
                log(format_epoch_line(epoch, epochs, {"loss": history["loss"][-1],
                                                      "accuracy": history["sparse_categorical_accuracy"][-1]},
                                      time.perf_counter() - t_epoch))  # fmt: skip
                losses, accs, t_epoch = [], [], time.perf_counter()
                if state_path is not None and step < total:
                    _save_state(state_path, network, opt, step, history)
            if stop.is_set() and step < total:
                if state_path is not None:
                    _save_state(state_path, network, opt, step, history, partial=(losses, accs))
                raise FinetuneInterrupted(step, step // steps_per_epoch + 1, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    if state_path is not None:  # the finished state: a run killed after this point does not fine-tune again
        _save_state(state_path, network, opt, total, history)
    return history
