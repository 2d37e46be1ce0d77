"""R-CNN end to end: train (fine-tune, SVMs, box regression), detect, evaluate; the model folder.

Training (Girshick et al. 2014, sections 2.3 and 3):

1. proposals of every training image (cached; `apps.rcnn.proposals`);
2. fine-tune the network as an (N+1)-way classifier on warped proposals (IoU >= 0.5:
   the box's class, else background; 32 + 96 per batch; `apps.rcnn.network`);
3. fc7 features of the ground-truth boxes, of every proposal with IoU >= 0.5 and of a
   random sample of the other proposals of each image (the pool the SVMs mine);
4. per-class linear SVMs with hard negative mining (`apps.rcnn.svm`);
5. optionally, class-specific ridge box regressors (`apps.rcnn.bbox_regression`).

Detection: proposals -> warp -> fc7 -> SVM scores -> (box regression) -> per-class NMS.

The trained model is a folder: ``config.json`` (every setting, the classes),
``network.weights.h5`` (the fine-tuned network), ``svm.npz`` (weights, biases, feature
scale, mining history) and ``bbox.npz`` when box regression is on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from apps.rcnn.backbone_weights import resolve_weights
from apps.rcnn.boxes import iou
from apps.rcnn.evaluation import Detections, draw_detections, evaluate_detections, plot_pr_curves
from apps.rcnn.proposals import ProposalConfig, compute_proposals, proposals_for_image
from apps.rcnn.regions import context_padding_for, load_image, warp_regions

__all__ = ["TrainConfig", "train", "Detector", "evaluate"]

FORMAT_VERSION = 1
CHECKPOINT_DIR = "checkpoint"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every training setting (saved in the model folder's ``config.json``).

    Attributes:
        classes: the N object class names.
        backbone: registered kerasnets model name.
        backbone_options: extra keyword arguments of the backbone builder (``{"lrn": False}``).
        input_size: warped region side.
        fc_width: units of fc6/fc7.
        context_padding: context pixels in the warped frame (None: 16/227 of input_size).
        preprocess: ``"scale"``, ``"caffe"`` or ``"torch"`` (see `apps.rcnn.network.preprocess`);
            ``"auto"`` (the default) becomes the one published ``weights`` name, else ``"scale"``.
        weights: optional backbone weights: a published ImageNet name (``timm/resnet50.tv_in1k``,
            whose builder options are merged into ``backbone_options``) or a file of the backbone
            built with include_top=False (see `apps.rcnn.backbone_weights`).
        proposals: the `ProposalConfig`.
        finetune_steps: fine-tuning mini-batches (0: skip fine-tuning, use the network as built).
        learning_rate, optimizer: fine-tuning optimiser.
        batch_positives, batch_negatives: regions per mini-batch (the paper: 32 + 96).
        batch_near_negatives: fraction of the background regions drawn from proposals that
            overlap an object by IoU 0.1-0.5 (`apps.rcnn.network.RegionBatches`); 0.5 by
            default (raccoon AP@0.5: mean 0.571 over five runs, against 0.505 over three with 0,
            R-CNN's uniform background; docs/benchmarks.md, session 6).
        augment: jitter/flip/colour augmentation while fine-tuning.
        positive_iou: fine-tuning positive threshold (0.5).
        svm_c, svm_positive_weight, mining_rounds, svm_initial_negatives, svm_negative_iou:
            see `apps.rcnn.svm`.
        negatives_per_image: proposals sampled per training image for the SVM pool.
        bbox_regression, bbox_alpha: box regression on/off and its ridge penalty.
        feature_batch: regions per feature-extraction batch.
        xla: compile the network with XLA (``jit_compile=True``).
        seed: random seed.
    """

    classes: tuple[str, ...]
    backbone: str = "alexnet"
    backbone_options: dict = dataclasses.field(default_factory=dict)
    input_size: int = 64
    fc_width: int = 512
    context_padding: float | None = None
    preprocess: str = "auto"
    weights: str | None = None
    proposals: ProposalConfig = ProposalConfig()
    finetune_steps: int = 1500
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    batch_positives: int = 32
    batch_negatives: int = 96
    batch_near_negatives: float = 0.5
    augment: bool = True
    positive_iou: float = 0.5
    svm_c: float = 1e-3
    svm_positive_weight: float = 2.0
    mining_rounds: int = 3
    svm_initial_negatives: int = 2000
    svm_negative_iou: float = 0.3
    negatives_per_image: int = 200
    bbox_regression: bool = True
    bbox_alpha: float = 1000.0
    feature_batch: int = 256
    xla: bool = False
    seed: int = 0

    def __post_init__(self):
        options, mode = resolve_weights(self.backbone, self.weights, self.backbone_options, self.preprocess)
        object.__setattr__(self, "backbone_options", options)
        object.__setattr__(self, "preprocess", mode)

    @property
    def padding(self) -> float:
        return context_padding_for(self.input_size, self.context_padding)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["classes"] = list(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        prop = d.pop("proposals", {})
        for key in ("window_scales", "window_aspects"):
            if key in prop:
                prop[key] = tuple(prop[key])
        return cls(classes=tuple(d.pop("classes")), proposals=ProposalConfig(**prop), **d)


def _log(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg, file=sys.stderr, flush=True)


#: Files of a finished model folder; ``train_summary.json`` is written last and marks it finished.
MODEL_FILES = ("config.json", "network.weights.h5", "svm.npz", "bbox.npz", "train_summary.json")
_LOCK_FILE = ".train.lock"


class RunFolderError(ValueError):
    """A model folder that cannot be trained into as asked (finished, other settings, in use)."""


def _write_json(path: str, data: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def _config_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_config_differences(a, b, prefix=f"{prefix}{key}."))
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


class _RunLock:
    """An exclusive ``flock`` on ``<folder>/.train.lock`` for the time of one training."""

    def __init__(self, folder: str, flag: str):
        self.path = os.path.join(folder, _LOCK_FILE)
        self.flag = flag
        self._file = None

    def __enter__(self):
        import fcntl

        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            owner = self._file.read().strip() or "another process"
            self._file.close()
            raise RunFolderError(
                f"{self.flag} {os.path.dirname(self.path)!r} is in use by another training ({owner}); wait for it "
                f"to finish or choose another {self.flag}."
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}\n")
        self._file.flush()
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        try:
            os.remove(self.path)
        except OSError:
            pass
        return False


def prepare_run_folder(output_dir: str, config: "TrainConfig", *, overwrite: bool = False, flag: str = "--output") -> bool:
    """Check ``output_dir`` for a training with ``config``; return True when it resumes a run.

    * a finished model (``train_summary.json``) is refused unless ``overwrite``, which
      removes the model files and the checkpoint first;
    * an unfinished run (``config.json`` without ``train_summary.json``) resumes when its
      settings equal ``config``, else it is refused with every differing setting listed;
    * ``config.json`` is written only after these checks.

    Raises:
        RunFolderError: see above; the message names ``flag``.
    """
    import shutil

    os.makedirs(output_dir, exist_ok=True)
    cfg_path = os.path.join(output_dir, "config.json")
    finished = os.path.isfile(os.path.join(output_dir, "train_summary.json"))
    fresh = f"pass --overwrite to start a fresh run in it, or choose another {flag}"
    if overwrite:
        for name in MODEL_FILES:
            if os.path.isfile(os.path.join(output_dir, name)):
                os.remove(os.path.join(output_dir, name))
        shutil.rmtree(os.path.join(output_dir, CHECKPOINT_DIR), ignore_errors=True)
    elif finished:
        raise RunFolderError(f"{flag} {output_dir!r} already holds a trained model (train_summary.json); "
                             f"nothing was changed; {fresh}.")  # fmt: skip
    resume = False
    new = {"format_version": FORMAT_VERSION, "config": config.to_dict()}
    if os.path.isfile(cfg_path):
        try:
            with open(cfg_path) as f:
                old = json.load(f)
        except (OSError, ValueError) as exc:
            raise RunFolderError(f"{flag} {output_dir!r}: its config.json is unreadable ({exc}); {fresh}.") from None
        diffs = _config_differences(old if isinstance(old, dict) else {}, json.loads(json.dumps(new)))
        if diffs:
            raise RunFolderError(
                f"{flag} {output_dir!r} holds an unfinished run with other settings; resuming it would mix two "
                f"runs. Differences (saved -> asked): {'; '.join(diffs)}. Run the same command as before to resume, or {fresh}."
            )
        resume = True
    elif os.path.isdir(os.path.join(output_dir, CHECKPOINT_DIR)) and os.listdir(os.path.join(output_dir, CHECKPOINT_DIR)):
        raise RunFolderError(f"{flag} {output_dir!r} holds a checkpoint without config.json; {fresh}.")
    _write_json(cfg_path, new)
    return resume


def _region_targets(proposals: np.ndarray, gt: np.ndarray, gt_cls: np.ndarray, num_classes: int):
    """Per proposal: best IoU, its GT index, and the max IoU with each class's boxes."""
    n = len(proposals)
    if len(gt) == 0:
        return np.zeros(n, np.float32), np.zeros(n, np.int64), np.zeros((n, num_classes), np.float32)
    ov = iou(proposals, gt)
    per_class = np.zeros((n, num_classes), np.float32)
    for c in range(num_classes):
        m = gt_cls == c
        if m.any():
            per_class[:, c] = ov[:, m].max(axis=1)
    return ov.max(axis=1), ov.argmax(axis=1), per_class


def train(
    annotations: Sequence,
    config: TrainConfig,
    output_dir: str,
    *,
    cache_dir: str | None = None,
    workers: int | None = None,
    verbose: bool = True,
    overwrite: bool = False,
    output_flag: str = "output_dir",
) -> dict:
    """Train an R-CNN detector and save it to ``output_dir``.

    ``output_dir`` is a run folder (see `prepare_run_folder`): a killed or
    interrupted training resumes there, with the same settings, to the same result as an
    uninterrupted run; a finished one is refused unless ``overwrite``; two trainings in one
    folder at once are refused (a lock file).

    Args:
        annotations: training `kerasnets.data.voc.ImageAnnotation` records.
        config: the settings.
        output_dir: the model folder to write.
        cache_dir: proposal cache folder (None: no cache).
        workers: proposal processes.
        verbose: print progress.
        overwrite: retrain a folder that holds a finished model.
        output_flag: how errors name ``output_dir`` (the CLI passes ``--output``).

    Returns:
        A summary dict (timings, fine-tuning history, SVM mining history), also saved as
        ``train_summary.json`` in ``output_dir``.

    Raises:
        ValueError: no annotations, an object of a class not in ``config.classes``, or a
            class without any ground-truth box.
        RunFolderError: see `prepare_run_folder`.
        apps.rcnn.network.FinetuneInterrupted: SIGINT during fine-tuning (state saved).
    """
    if not annotations:
        raise ValueError("`annotations` must hold at least one training image. Received: annotations=[]")
    classes = list(config.classes)
    if not classes:
        raise ValueError("`config.classes` must name at least one class. Received: classes=()")
    index = {c: i for i, c in enumerate(classes)}
    for a in annotations:
        for o in a.objects:
            if o.name not in index:
                raise ValueError(f"`classes` must include every training class; {a.source or a.image_path!r} has "
                                 f"{o.name!r}. Received: classes={classes!r}")  # fmt: skip
    missing = [c for c in classes if not any(o.name == c for a in annotations for o in a.objects)]
    if missing:
        raise ValueError(f"Every class needs training boxes; these have none: {missing}. Received: classes={classes!r}")
    os.makedirs(output_dir, exist_ok=True)
    with _RunLock(output_dir, output_flag):
        prepare_run_folder(output_dir, config, overwrite=overwrite, flag=output_flag)
        return _train(annotations, config, output_dir, cache_dir=cache_dir, workers=workers, verbose=verbose)


def _train(annotations, config, output_dir, *, cache_dir, workers, verbose) -> dict:
    import shutil

    import keras

    from apps.rcnn.bbox_regression import train_box_regressors
    from apps.rcnn.network import RegionBatches, build_network, extract_features_stream, feature_model, finetune
    from apps.rcnn.svm import feature_scale, train_svms

    classes = list(config.classes)
    index = {c: i for i, c in enumerate(classes)}
    keras.utils.set_random_seed(config.seed)
    timings = {}
    rng = np.random.default_rng(config.seed)
    # First: a weights download that fails (offline, no cached file) stops the run before any work.
    network = build_network(config.backbone, num_classes=len(classes), input_size=config.input_size,
                            fc_width=config.fc_width, weights=config.weights,
                            backbone_options=config.backbone_options)  # fmt: skip

    t0 = time.perf_counter()
    paths = [a.image_path for a in annotations]
    proposals = compute_proposals(paths, config.proposals, cache_dir=cache_dir, workers=workers, progress=verbose,
                                  description="proposals (train)")  # fmt: skip
    timings["proposals_s"] = time.perf_counter() - t0

    # Images at the working scale, boxes scaled with them.
    t0 = time.perf_counter()
    images, gts, gt_cls, props = [], [], [], []
    for a, p in zip(annotations, proposals):
        img, scale = load_image(a.image_path, config.proposals.max_side)
        images.append(img)
        keep = ~a.difficult if len(a.objects) else np.zeros(0, bool)
        gts.append((a.boxes[keep] * scale).astype(np.float32))
        gt_cls.append(np.array([index[o.name] for o, k in zip(a.objects, keep) if k], dtype=np.int64))
        props.append((p * scale).astype(np.float32))
    timings["load_s"] = time.perf_counter() - t0

    # 1. Fine-tuning set: proposals + GT, labelled by IoU >= 0.5.
    ft_boxes, ft_labels, ft_overlaps = [], [], []
    for g, gc, p in zip(gts, gt_cls, props):
        best, arg, _ = _region_targets(p, g, gc, len(classes))
        lab = np.where(best >= config.positive_iou, gc[arg] + 1 if len(g) else 0, 0)
        ft_boxes.append(np.concatenate([g, p]))
        ft_labels.append(np.concatenate([gc + 1, lab]))
        ft_overlaps.append(np.concatenate([np.ones(len(g), np.float32), best]))
    history = {}
    t0 = time.perf_counter()
    if config.finetune_steps > 0:
        batches = RegionBatches(
            images, ft_boxes, ft_labels, input_size=config.input_size, padding=config.padding,
            steps=config.finetune_steps, positives=config.batch_positives, negatives=config.batch_negatives,
            augment=config.augment, preprocess_mode=config.preprocess, seed=config.seed,
            overlaps=ft_overlaps, near_negatives=config.batch_near_negatives,
        )  # fmt: skip
        _log(verbose, f"fine-tuning {network.name} ({network.count_params():,} parameters) for "
                      f"{config.finetune_steps} steps of {config.batch_positives}+{config.batch_negatives} regions")  # fmt: skip
        history = finetune(network, batches, learning_rate=config.learning_rate, optimizer=config.optimizer,
                           checkpoint_dir=os.path.join(output_dir, CHECKPOINT_DIR), xla=config.xla,
                           verbose=1 if verbose else 0)  # fmt: skip
    timings["finetune_s"] = time.perf_counter() - t0

    # 2. Feature pool: GT boxes, every proposal with IoU >= 0.5, a sample of the others.
    t0 = time.perf_counter()
    feats_model = feature_model(network, xla=config.xla)
    f_list, gcls_list, ov_list, box_list, tbox_list, tcls_list, tiou_list = [], [], [], [], [], [], []
    for img, g, gc, p in zip(images, gts, gt_cls, props):
        best, arg, per_class = _region_targets(p, g, gc, len(classes))
        high = np.flatnonzero(best >= 0.5)
        low = np.flatnonzero(best < 0.5)
        low = rng.choice(low, size=min(len(low), config.negatives_per_image), replace=False) if len(low) else low
        sel = np.concatenate([high, low]).astype(np.int64)
        boxes = np.concatenate([g, p[sel]])
        g_ov = np.zeros((len(g), len(classes)), np.float32)
        for j, c in enumerate(gc):
            g_ov[j] = _region_targets(g[j : j + 1], g, gc, len(classes))[2][0]
        gcls_list.append(np.concatenate([gc, np.full(len(sel), -1)]))
        ov_list.append(np.concatenate([g_ov, per_class[sel]]))
        box_list.append(boxes)
        tbox_list.append(np.concatenate([g, g[arg[sel]] if len(g) else np.zeros((len(sel), 4), np.float32)]))
        tcls_list.append(np.concatenate([gc, gc[arg[sel]] if len(g) else np.full(len(sel), -1)]))
        tiou_list.append(np.concatenate([np.ones(len(g), np.float32), best[sel]]))
    # Warping image i + 1 (a thread; OpenCV releases the GIL) overlaps the features of image i, and the
    # regions of consecutive images share full batches (only the last one is padded).
    f_list = extract_features_stream(
        feats_model, _prefetched(lambda i: warp_regions(images[i], box_list[i], config.input_size,
                                                        padding=config.padding), len(images)),
        batch_size=config.feature_batch, preprocess_mode=config.preprocess,
    )  # fmt: skip
    features = np.concatenate(f_list)
    scale = feature_scale(features)
    features *= scale
    timings["features_s"] = time.perf_counter() - t0
    _log(verbose, f"features: {features.shape[0]} regions x {features.shape[1]} (scaled by {scale:.4g})")

    # 3. SVMs with hard negative mining.
    t0 = time.perf_counter()
    svms = train_svms(features, np.concatenate(gcls_list), np.concatenate(ov_list), C=config.svm_c,
                      positive_weight=config.svm_positive_weight, rounds=config.mining_rounds,
                      initial_negatives=config.svm_initial_negatives, negative_iou=config.svm_negative_iou,
                      seed=config.seed)  # fmt: skip
    timings["svm_s"] = time.perf_counter() - t0
    for c, name in enumerate(classes):
        _log(verbose, f"SVM {name}: false positives per mining round {svms.false_positives[c]} "
                      f"(negatives used {svms.negatives_used[c]})")  # fmt: skip

    # 4. Box regression (GT boxes themselves excluded: they need no regression).
    t0 = time.perf_counter()
    if config.bbox_regression:
        boxes_all, tcls, tiou = np.concatenate(box_list), np.concatenate(tcls_list), np.concatenate(tiou_list)
        is_prop = np.concatenate(gcls_list) < 0
        reg = train_box_regressors(features[is_prop], boxes_all[is_prop], np.concatenate(tbox_list)[is_prop],
                                   tcls[is_prop], tiou[is_prop], len(classes), alpha=config.bbox_alpha)  # fmt: skip
        _savez(os.path.join(output_dir, "bbox.npz"), coef=reg.coef, intercept=reg.intercept, trained=reg.trained)
    timings["bbox_s"] = time.perf_counter() - t0

    tmp_weights = os.path.join(output_dir, f".network.{os.getpid()}.tmp.weights.h5")
    network.save_weights(tmp_weights)
    os.replace(tmp_weights, os.path.join(output_dir, "network.weights.h5"))
    _savez(os.path.join(output_dir, "svm.npz"), weights=svms.weights, biases=svms.biases,
           feature_scale=np.float32(scale))  # fmt: skip
    summary = {
        "timings": timings,
        "train_seconds": float(sum(timings.values())),
        "images": len(annotations),
        "skipped_boxes": int(sum(len(getattr(a, "skipped", ())) for a in annotations)),
        "feature_pool": int(features.shape[0]),
        "finetune_history": history,
        "svm_false_positives": svms.false_positives,
        "svm_negatives_used": svms.negatives_used,
    }
    _write_json(os.path.join(output_dir, "train_summary.json"), summary)  # last: marks the folder finished
    shutil.rmtree(os.path.join(output_dir, CHECKPOINT_DIR), ignore_errors=True)
    return summary


def _prefetched(make, count: int):
    """Yield ``make(0), ..., make(count - 1)``, computing item ``i + 1`` in a thread while ``i`` is used."""
    import concurrent.futures

    if count == 0:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rcnn-prefetch") as pool:
        pending = pool.submit(make, 0)
        for i in range(count):
            item = pending.result()
            if i + 1 < count:
                pending = pool.submit(make, i + 1)
            yield item


def _savez(path: str, **arrays) -> None:
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


@dataclasses.dataclass
class _Prepared:
    path: str
    image: np.ndarray
    scale: float
    proposals: np.ndarray
    read_s: float
    proposals_s: float


class Detector:
    """A trained R-CNN detector, loaded from its model folder.

    Args:
        model_dir: the folder written by `train`.
        xla: override the saved XLA setting for feature extraction (None: keep it).

    Example:
        >>> det = Detector("runs/raccoon")  # doctest: +SKIP
        >>> d, timing = det.detect("raccoon-1.jpg")  # doctest: +SKIP
        >>> d.boxes.shape, timing["total_s"]  # doctest: +SKIP
    """

    def __init__(self, model_dir: str, *, xla: bool | None = None):
        from apps.rcnn.bbox_regression import BoxRegressor
        from apps.rcnn.network import build_network, feature_model

        cfg_path = os.path.join(model_dir, "config.json")
        if not os.path.isfile(cfg_path):
            raise FileNotFoundError(
                f"`model` must be a folder written by `python -m apps.rcnn train` (with config.json). "
                f"Received: model={model_dir!r}"
            )
        for name in ("network.weights.h5", "svm.npz", "train_summary.json"):
            if not os.path.isfile(os.path.join(model_dir, name)):
                raise FileNotFoundError(
                    f"`model` holds no finished training ({name} is missing): run or resume "
                    f"`python -m apps.rcnn train --output {model_dir}` first. Received: model={model_dir!r}"
                )
        with open(cfg_path) as f:
            saved = json.load(f)
        if saved.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"Unsupported model folder format {saved.get('format_version')!r}. Received: model={model_dir!r}")
        self.config = TrainConfig.from_dict(saved["config"])
        if xla is not None:
            self.config = dataclasses.replace(self.config, xla=bool(xla))
        self.classes = list(self.config.classes)
        self.network = build_network(self.config.backbone, num_classes=len(self.classes),
                                     input_size=self.config.input_size, fc_width=self.config.fc_width,
                                     backbone_options=self.config.backbone_options)  # fmt: skip
        # kerasnets' loader: checks the file first, and reads folders trained before AlexNet's
        # grouped convolutions became GroupedConv2D (the same variables under other Keras keys)
        import kerasnets

        kerasnets.load_weights(self.network, os.path.join(model_dir, "network.weights.h5"))
        self.features = feature_model(self.network, xla=self.config.xla)
        svm = np.load(os.path.join(model_dir, "svm.npz"))
        self.svm_weights, self.svm_biases = svm["weights"], svm["biases"]
        self.feature_scale = float(svm["feature_scale"])
        self.regressor = None
        bbox_path = os.path.join(model_dir, "bbox.npz")
        if os.path.isfile(bbox_path):
            b = np.load(bbox_path)
            self.regressor = BoxRegressor(coef=b["coef"], intercept=b["intercept"], trained=b["trained"])

    def _prepare(self, image_path: str, proposals, cache_dir, threads: int = 1) -> "_Prepared":
        """Read the image once (at the proposals' working scale) and get its proposals (cache or
        compute, selective search in ``threads`` threads)."""
        t0 = time.perf_counter()
        img, scale = load_image(image_path, self.config.proposals.max_side)
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        if proposals is None:
            proposals = proposals_for_image(image_path, img, scale, self.config.proposals, cache_dir, threads=threads)
        return _Prepared(image_path, img, scale, proposals, read_s, time.perf_counter() - t0)

    def detect_many(self, image_paths: Sequence[str], *, cache_dir: str | None = None, **kwargs):
        """Detect in several images, yielding ``(path, Detections, timings)`` in order.

        The next image is read and its proposals computed in a background thread (selective
        search and OpenCV release the GIL) while the features of the current one are
        extracted, so proposals and feature extraction overlap. Selective search runs in as
        many threads as there are cores (its parts, `apps.rcnn.proposals.selective_search`):
        one thread made it the critical path (1.15 s per image against 1.01 s for `detect`
        alone, session 6). ``kwargs`` as `detect`.
        """
        import concurrent.futures

        paths = list(image_paths)
        if not paths:
            return
        threads = os.cpu_count() or 1
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rcnn-proposals") as pool:
            pending = pool.submit(self._prepare, paths[0], None, cache_dir, threads)
            for i, path in enumerate(paths):
                prepared = pending.result()
                if i + 1 < len(paths):
                    pending = pool.submit(self._prepare, paths[i + 1], None, cache_dir, threads)
                d, timing = self.detect(prepared, **kwargs)
                yield path, d, timing

    def detect(
        self,
        image_path: str,
        *,
        proposals: np.ndarray | None = None,
        cache_dir: str | None = None,
        score_threshold: float = -1.0,
        nms_iou: float = 0.3,
        max_per_class: int = 100,
        bbox_regression: bool = True,
    ) -> tuple[Detections, dict]:
        """Detect objects in one image file.

        Args:
            image_path: the image.
            proposals: precomputed proposals in original coordinates (None: compute/cache).
            cache_dir: proposal cache.
            score_threshold: keep detections with SVM score above this (-1: the margin).
            nms_iou: per-class NMS IoU threshold (the paper's 0.3).
            max_per_class: detections kept per class.
            bbox_regression: apply the box regressors when the model has them.

        Returns:
            ``(Detections in original image coordinates, timings)`` where timings has
            ``read_s``, ``proposals_s``, ``warp_s``, ``features_s``, ``score_nms_s``, ``total_s``,
            ``regions``; the image file is read and decoded once.
        """
        from apps.rcnn.network import extract_features
        from apps.rcnn.nms import per_class_nms

        t_start = time.perf_counter()
        timing = {}
        if isinstance(image_path, _Prepared):  # from detect_many: image read and proposals computed already
            prepared = image_path
            earlier = prepared.read_s + prepared.proposals_s  # spent before this call (in a thread)
        else:
            # One image: selective search uses every core (nothing else runs meanwhile).
            prepared = self._prepare(image_path, proposals, cache_dir, threads=os.cpu_count() or 1)
            earlier = 0.0  # inside this call's own time
        image_path, img, scale, proposals = prepared.path, prepared.image, prepared.scale, prepared.proposals
        timing["read_s"], timing["proposals_s"] = prepared.read_s, prepared.proposals_s
        t0 = time.perf_counter()
        boxes = (np.asarray(proposals, np.float32) * scale).reshape(-1, 4)
        patches = warp_regions(img, boxes, self.config.input_size, padding=self.config.padding)
        timing["warp_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        feats = extract_features(self.features, patches, batch_size=self.config.feature_batch,
                                 preprocess_mode=self.config.preprocess) * self.feature_scale  # fmt: skip
        timing["features_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = feats @ self.svm_weights.T + self.svm_biases
        if self.regressor is not None and bbox_regression and len(boxes):
            h, w = img.shape[:2]
            per_class = np.stack([self.regressor.refine(boxes, feats, c) for c in range(len(self.classes))], axis=1)
            per_class[..., [0, 2]] = per_class[..., [0, 2]].clip(0, w)
            per_class[..., [1, 3]] = per_class[..., [1, 3]].clip(0, h)
            cand = per_class
        else:
            cand = boxes
        b, s, c = per_class_nms(cand, scores, iou_threshold=nms_iou, score_threshold=score_threshold,
                                max_per_class=max_per_class)  # fmt: skip
        timing["score_nms_s"] = time.perf_counter() - t0
        timing["total_s"] = time.perf_counter() - t_start + earlier
        timing["regions"] = int(len(boxes))
        return Detections(boxes=b / np.float32(scale), scores=s, labels=c), timing


def evaluate(
    detector: Detector,
    annotations: Sequence,
    *,
    output_dir: str | None = None,
    cache_dir: str | None = None,
    workers: int | None = None,
    max_pictures: int = 8,
    verbose: bool = True,
    **detect_options,
) -> dict:
    """Detect on every annotated image and compute VOC AP@0.5 (11-point and all-point).

    With ``output_dir``: ``report.json``, ``pr_curves.png`` and up to ``max_pictures``
    detection pictures (``detections/<id>.jpg``, GT in white) are written there.
    ``detect_options`` (``score_threshold``, ``nms_iou``, ``max_per_class``,
    ``bbox_regression``) are passed to `Detector.detect` for every image.

    Degenerate boxes the reader skipped (``ImageAnnotation.skipped``) are not ground truth;
    their number is reported as ``skipped_boxes``.

    Returns:
        ``{"map_11point", "map_all_point", "per_class": {name: {...}}, "skipped_boxes", ...}``.
    """
    import inspect

    inspect.signature(detector.detect).bind("", **detect_options)  # a wrong option fails before any work
    classes = detector.classes
    index = {c: i for i, c in enumerate(classes)}
    proposals = compute_proposals([a.image_path for a in annotations], detector.config.proposals, cache_dir=cache_dir,
                                  workers=workers, progress=verbose, description="proposals (eval)")  # fmt: skip
    dets, gtb, gtl, gtd, timings = [], [], [], [], []
    for n, (a, p) in enumerate(zip(annotations, proposals)):
        for o in a.objects:
            if o.name not in index:
                raise ValueError(f"The model does not know class {o.name!r} of {a.source or a.image_path!r}. "
                                 f"Received: classes={classes!r}")  # fmt: skip
        d, t = detector.detect(a.image_path, proposals=p, **detect_options)
        dets.append(d)
        timings.append(t)
        gtb.append(a.boxes)
        gtl.append(np.array([index[o.name] for o in a.objects], dtype=np.int64))
        gtd.append(a.difficult)
        if verbose and (n + 1) % 10 == 0:
            _log(True, f"detected {n + 1}/{len(annotations)} images")
    result = evaluate_detections(dets, gtb, gtl, classes, gt_difficult=gtd)
    report = {
        "map_11point": result["map_11point"],
        "map_all_point": result["map_all_point"],
        "per_class": {
            r.name: {"ap_11point": r.ap_11point, "ap_all_point": r.ap_all_point, "positives": r.num_positives,
                     "detections": r.num_detections}  # fmt: skip
            for r in result["classes"]
        },
        "images": len(annotations),
        "skipped_boxes": int(sum(len(getattr(a, "skipped", ())) for a in annotations)),
        "seconds_per_image_excluding_proposals": float(np.mean([t["total_s"] - t["proposals_s"] for t in timings])),
        "regions_per_image": float(np.mean([t["regions"] for t in timings])),
    }
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        plot_pr_curves(result["classes"], os.path.join(output_dir, "pr_curves.png"))
        for a, d in list(zip(annotations, dets))[:max_pictures]:
            img, _ = load_image(a.image_path)  # d: only detections above the score threshold (NMS dropped the rest)
            draw_detections(img, d, classes, os.path.join(output_dir, "detections", os.path.basename(a.image_path)),
                            gt_boxes=a.boxes, max_boxes=3)  # fmt: skip
        with open(os.path.join(output_dir, "report.json"), "w") as f:
            json.dump(report, f, indent=2)
    report["results"] = result
    return report
