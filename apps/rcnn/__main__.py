"""Command line of the R-CNN app: ``python -m apps.rcnn propose|train|detect|evaluate``.

Run ``python -m apps.rcnn <command> --help`` for every flag.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from apps.rcnn.backbone_weights import close_names, resolve_weights
from kerasnets.checks import is_published_name
from kerasnets import cliargs

__all__ = ["main", "build_parser"]

_EPILOG = """\
Examples (the raccoon dataset, PASCAL VOC XML, the author's 160/40 split):
  D=../shared/data/raccoon
  python -m apps.rcnn propose --annotations $D/annotations --images $D/images
  python -m apps.rcnn train --annotations $D/annotations --images $D/images \\
      --split $D/labels_csv/train_labels.csv --output runs/raccoon
  python -m apps.rcnn evaluate --model runs/raccoon --annotations $D/annotations --images $D/images \\
      --split $D/labels_csv/test_labels.csv --output runs/raccoon/eval
  python -m apps.rcnn detect --model runs/raccoon $D/images/raccoon-1.jpg --output runs/raccoon/pictures
"""


def _add_data(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    g = p.add_argument_group("data (PASCAL VOC XML or COCO JSON)")
    src = g.add_mutually_exclusive_group(required=required)
    src.add_argument("--annotations", metavar="DIR", help="folder of PASCAL VOC .xml files (VOC's Annotations/)")
    src.add_argument("--coco", metavar="FILE", help="a COCO detection JSON file instead of VOC XML")
    g.add_argument("--images", metavar="DIR", help="image folder (default: next to the annotations, "
                   "or VOC's sibling JPEGImages/ or images/)")  # fmt: skip
    g.add_argument("--split", metavar="FILE", help="image ids to use: a VOC ImageSets .txt (one id per line) or a CSV "
                   "with a 'filename' column (raccoon's labels_csv/train_labels.csv); default: every file")  # fmt: skip
    g.add_argument("--strict", action="store_true",
                   help="a degenerate (zero-area or inverted) box is an error; by default such boxes are skipped with "
                   "one warning line per file and counted")  # fmt: skip


def _add_proposals(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("region proposals")
    g.add_argument("--method", choices=("fast", "quality", "sliding"), default="fast",
                   help="selective search fast or quality mode (OpenCV contrib), or sliding windows (default: fast, "
                   "as in the paper)")  # fmt: skip
    g.add_argument("--max-proposals", type=cliargs.positive_int, default=2000, help="keep at most N boxes per image (default: 2000)")
    g.add_argument("--max-side", type=cliargs.positive_int, default=500,
                   help="down-scale images to this longer side before proposing and warping (default: 500)")  # fmt: skip
    g.add_argument("--min-size", type=cliargs.positive_int, default=12,
                   help="drop proposals narrower or lower than this many pixels at --max-side scale (default: 12)")  # fmt: skip
    g.add_argument("--window-scales", type=_window_fraction, nargs="+", default=[0.2, 0.3, 0.45, 0.65, 0.9], metavar="F",
                   help="sliding windows: window sides as fractions (0, 1] of the shorter image side")  # fmt: skip
    g.add_argument("--window-aspects", type=cliargs.positive_float, nargs="+", default=[0.5, 1.0, 2.0], metavar="R",
                   help="sliding windows: width/height ratios")  # fmt: skip
    g.add_argument("--window-stride", type=_window_fraction, default=0.25,
                   help="sliding windows: step as a fraction of the window side (default: 0.25)")  # fmt: skip
    g.add_argument("--cache-dir", default=os.path.join("runs", "rcnn_cache"),
                   help="proposal cache folder, keyed by image content hash + settings (default: runs/rcnn_cache)")  # fmt: skip
    g.add_argument("--no-cache", action="store_true", help="do not read or write the proposal cache")
    g.add_argument("--workers", type=cliargs.positive_int, default=os.cpu_count() or 1,
                   help="processes computing proposals in parallel across images (default: the CPU count)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``python -m apps.rcnn``."""
    parser = cliargs.ArgumentParser(
        prog="python -m apps.rcnn",
        description="R-CNN (Girshick et al. 2014): selective-search proposals -> warped regions -> CNN features "
        "(a kerasnets backbone fine-tuned as an (N+1)-way classifier) -> per-class linear SVMs with hard negative "
        "mining -> optional box regression -> per-class NMS; evaluated with PASCAL VOC AP@0.5.",
        epilog=_EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{propose,train,detect,evaluate}")
    p = sub.add_parser("propose", help="compute and cache region proposals (in parallel, with a progress bar)",
                       description="Compute region proposals of every image, in parallel, into the cache; with "
                       "annotations, report the proposals' recall of the ground-truth boxes at IoU 0.5 and 0.7.")  # fmt: skip
    _add_data(p, required=False)
    p.add_argument("image_files", nargs="*", metavar="IMAGE", help="image files (instead of --annotations)")
    _add_proposals(p)
    p.add_argument("--output", metavar="FILE",
                   help="also save all proposals to this new .npz file (one array per image id; never overwritten)")  # fmt: skip

    t = sub.add_parser("train", help="fine-tune the CNN, train the SVMs (and box regressors), save the model folder",
                       description="Train an R-CNN detector on annotated images and save it to --output.")  # fmt: skip
    _add_data(t)
    t.add_argument("--classes", nargs="+", metavar="NAME",
                   help="class names, in order (default: every class in the training annotations, sorted)")  # fmt: skip
    t.add_argument("--output", required=True, metavar="DIR",
                   help="the model (run) folder: a killed or interrupted training resumes here when run again with "
                   "the same settings; a finished one is kept unless --overwrite")  # fmt: skip
    t.add_argument("--overwrite", action="store_true",
                   help="retrain a folder that holds a finished model (or an unfinished run with other settings)")  # fmt: skip
    _add_proposals(t)
    g = t.add_argument_group("CNN")
    g.add_argument("--backbone", default="alexnet",
                   help="a kerasnets model name (kerasnets.list_models()), built with include_top=False "
                   "(default: alexnet, as in the paper; vgg16 is the stronger choice)")  # fmt: skip
    g.add_argument("--backbone-option", type=cliargs.builder_option, action="append", default=[], metavar="KEY=VALUE",
                   help="extra backbone builder argument, VALUE as JSON; repeatable (e.g. lrn=false, towers=1)")  # fmt: skip
    g.add_argument("--input-size", type=cliargs.positive_int, default=64,
                   help="side of the warped region fed to the CNN (default: 64, the CPU recipe; the paper: 227, "
                   "kerasnets.alexnet: 224)")  # fmt: skip
    g.add_argument("--fc-width", type=cliargs.positive_int, default=512, help="units of fc6 and fc7 (default: 512; the paper: 4096)")
    g.add_argument("--context-padding", type=cliargs.non_negative_float, default=None, metavar="P",
                   help="context pixels around each box in the warped frame (default: 16 * input-size / 227, the "
                   "paper's p=16 at 227)")  # fmt: skip
    g.add_argument("--preprocess", choices=("auto", "scale", "caffe", "torch"), default="auto",
                   help="input scaling: auto = what published --weights expect (torch for timm/torchvision), "
                   "else scale; scale = RGB in [-1, 1]; caffe = BGR minus the ImageNet mean (for .weights.h5 files "
                   "from keras.applications VGG16/VGG19); torch = ImageNet mean/std (default: auto)")  # fmt: skip
    g.add_argument("--weights", metavar="NAME|FILE",
                   help="backbone ImageNet weights: a published name for --backbone (e.g. --backbone resnet50 "
                   "--weights timm/resnet50.tv_in1k; torchvision/NAME files need PyTorch; `kerasnets list "
                   "--pretrained`; downloaded once, then cached; it selects the builder options and, with "
                   "--preprocess auto, the preprocessing), a .safetensors/.pth file, or a .weights.h5 file of the "
                   "backbone built with include_top=False, e.g. saved from keras.applications.VGG16(include_top=False) "
                   "(give --preprocess caffe); if not given: random initialisation")  # fmt: skip
    _add_jit_compile(g)
    g = t.add_argument_group("fine-tuning ((N+1)-way classifier on warped regions)")
    g.add_argument("--finetune-steps", type=cliargs.non_negative_int, default=1500,
                   help="mini-batches of fine-tuning (0: none) (default: 1500)")  # fmt: skip
    g.add_argument("--learning-rate", type=cliargs.positive_float, default=1e-3,
                   help="initial learning rate, cosine decay (default: 0.001)")  # fmt: skip
    g.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="adam (AdamW; trains from scratch) or sgd (the paper's SGD, momentum 0.9) (default: adam)")  # fmt: skip
    g.add_argument("--batch-positives", type=cliargs.positive_int, default=32, help="regions with IoU >= 0.5 per batch (default: 32)")
    g.add_argument("--batch-negatives", type=cliargs.positive_int, default=96, help="background regions per batch (default: 96)")
    g.add_argument("--batch-near-negatives", type=cliargs.fraction, default=0.5, metavar="F",
                   help="fraction of the background regions drawn from proposals overlapping an object by IoU 0.1-0.5; "
                        "0: all background alike, as R-CNN (default: 0.5)")  # fmt: skip
    g.add_argument("--no-augment", action="store_true", help="no box jitter, mirroring or colour changes while fine-tuning")
    g = t.add_argument_group("SVMs and box regression")
    g.add_argument("--svm-c", type=cliargs.positive_float, default=1e-3,
                   help="LinearSVC C, features scaled to mean norm 20 (default: 0.001)")  # fmt: skip
    g.add_argument("--svm-positive-weight", type=cliargs.positive_float, default=2.0, help="class weight of positives (default: 2)")
    g.add_argument("--mining-rounds", type=cliargs.non_negative_int, default=3,
                   help="hard negative mining rounds after the first training (default: 3)")  # fmt: skip
    g.add_argument("--svm-initial-negatives", type=cliargs.positive_int, default=2000,
                   help="random negatives of the first SVM training (default: 2000)")  # fmt: skip
    g.add_argument("--negatives-per-image", type=cliargs.non_negative_int, default=200,
                   help="proposals with IoU < 0.5 sampled per training image into the SVM negative pool (default: 200)")  # fmt: skip
    g.add_argument("--no-bbox-regression", action="store_true", help="do not train the class-specific box regressors")
    g.add_argument("--bbox-alpha", type=cliargs.positive_float, default=1000.0, help="ridge penalty of box regression (default: 1000)")
    t.add_argument("--seed", type=cliargs.non_negative_int, default=0, help="random seed (default: 0)")
    t.add_argument("--quiet", action="store_true", help="no progress output")

    d = sub.add_parser("detect", help="detect objects in image files and draw them",
                       description="Detect objects in images with a trained model; print them as JSON lines and "
                       "optionally draw labelled boxes.")  # fmt: skip
    d.add_argument("image_files", nargs="+", metavar="IMAGE", help="image files")
    _add_detect_flags(d)
    d.add_argument("--output", metavar="DIR", help="write a picture with labelled boxes per image here")
    d.add_argument("--max-boxes", type=cliargs.positive_int, default=5,
                   help="pictures: draw the N highest-scoring detections above --score-threshold (default: 5)")  # fmt: skip

    e = sub.add_parser("evaluate", help="VOC AP@0.5 (11-point and all-point), PR curves, detection pictures",
                       description="Detect on annotated images and report PASCAL VOC AP at IoU 0.5.")  # fmt: skip
    _add_data(e)
    _add_detect_flags(e)
    e.add_argument("--output", metavar="DIR", help="write report.json, pr_curves.png and detections/ here")
    e.add_argument("--max-pictures", type=cliargs.non_negative_int, default=8, help="detection pictures to draw (default: 8)")
    e.add_argument("--workers", type=cliargs.positive_int, default=os.cpu_count() or 1, help="proposal processes (default: CPU count)")
    return parser


def _window_fraction(text: str) -> float:
    value = cliargs.positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


class _DeprecatedXla(argparse.Action):
    """``--xla``: the deprecated spelling of ``--jit-compile on`` (kept for one release)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: warning: --xla is deprecated; use --jit-compile on", file=sys.stderr)
        namespace.jit_compile = "on"


def _add_jit_compile(p) -> None:
    cliargs.add_jit_compile_argument(p, help="XLA compilation of the network: auto (off with TensorFlow on CPU, where oneDNN "
                                     "measured faster; on with JAX or a GPU), on, off")  # fmt: skip
    p.add_argument("--xla", nargs=0, action=_DeprecatedXla, help="deprecated alias of --jit-compile on")


def _add_detect_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="DIR", help="model folder written by `train`")
    p.add_argument("--score-threshold", type=cliargs.finite_float, default=-1.0,
                   help="keep detections with SVM score above this (default: -1, the SVM margin)")  # fmt: skip
    p.add_argument("--nms-iou", type=cliargs.fraction, default=0.3, help="per-class NMS IoU threshold (default: 0.3, as R-CNN)")
    p.add_argument("--no-bbox-regression", action="store_true", help="do not apply the model's box regressors")
    p.add_argument("--cache-dir", default=os.path.join("runs", "rcnn_cache"), help="proposal cache folder (default: runs/rcnn_cache)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the proposal cache")
    _add_jit_compile(p)


def _check_inputs(args) -> None:
    """Every input path names the flag the user typed, before any work starts."""
    for flag, dest, kind in (("--annotations", "annotations", "dir"), ("--coco", "coco", "file"),
                             ("--images", "images", "dir"), ("--split", "split", "file"),
                             ("--model", "model", "dir"), ("--weights", "weights", "file")):  # fmt: skip
        value = getattr(args, dest, None)
        if value is None or (dest == "weights" and is_published_name(value)):  # a name: _check_weights
            continue
        if not str(value).strip():
            raise cliargs.UsageError(f"argument {flag}: expected a {'folder' if kind == 'dir' else 'file'} path, got {value!r}")
        if kind == "dir" and not os.path.isdir(value):
            what = "is a file, not a folder" if os.path.exists(value) else "does not exist"
            raise cliargs.UsageError(f"argument {flag}: folder {value!r} {what}")
        if kind == "file" and not os.path.isfile(value):
            what = "is a folder, not a file" if os.path.isdir(value) else "does not exist"
            close = close_names(value) if dest == "weights" else []
            hint = f"; published weights names close to it: {', '.join(close)}" if close else ""
            raise cliargs.UsageError(f"argument {flag}: file {value!r} {what}{hint}")
    if getattr(args, "model", None) is not None and not os.path.isfile(os.path.join(args.model, "config.json")):
        raise cliargs.UsageError(f"argument --model: {args.model!r} is not a model folder written by "
                                 "`python -m apps.rcnn train` (no config.json)")  # fmt: skip
    for path in getattr(args, "image_files", None) or ():
        if not os.path.isfile(path):
            raise cliargs.UsageError(f"argument IMAGE: file {path!r} does not exist")


def _check_weights(args) -> None:
    """``--weights NAME`` is a published name for ``--backbone``; ``--preprocess auto`` resolved; no keras needed."""
    try:
        options, args.preprocess = resolve_weights(args.backbone, args.weights, dict(args.backbone_option),
                                                   args.preprocess)  # fmt: skip
    except ValueError as err:
        raise cliargs.UsageError(f"argument --weights: {err}") from None
    args.backbone_option = list(options.items())


def _load_annotations(args, classes=None):
    import warnings

    from kerasnets.data.voc import AnnotationWarning, load_voc_dataset, read_coco_json, read_split_file

    with warnings.catch_warnings():
        warnings.simplefilter("always", AnnotationWarning)
        if args.coco:
            anns = read_coco_json(args.coco, image_dir=args.images, classes=classes, strict=args.strict)
            if args.split:
                ids = set(read_split_file(args.split))
                anns = [a for a in anns if a.image_id in ids]
        else:
            anns = load_voc_dataset(args.annotations, image_dir=args.images, split=args.split, classes=classes,
                                    strict=args.strict)  # fmt: skip
    if not anns:
        raise cliargs.UsageError(f"argument {'--coco' if args.coco else '--annotations'}: no annotated images"
                                 f"{' in the --split' if args.split else ''}")  # fmt: skip
    return anns


def _skipped(anns) -> int:
    return int(sum(len(a.skipped) for a in anns))


def _proposal_config(args):
    from apps.rcnn.proposals import ProposalConfig

    return ProposalConfig(
        method=args.method,
        max_proposals=args.max_proposals,
        max_side=args.max_side,
        min_size=args.min_size,
        window_scales=tuple(args.window_scales),
        window_aspects=tuple(args.window_aspects),
        window_stride=args.window_stride,
    ).validate()


def _cmd_propose(args) -> int:
    import numpy as np

    if args.output is not None:
        cliargs.check_output_file(args.output, "--output")
    from apps.rcnn.boxes import iou
    from apps.rcnn.proposals import compute_proposals

    anns = None
    if args.annotations or args.coco:
        anns = _load_annotations(args)
        paths = [a.image_path for a in anns]
    elif args.image_files:
        paths = args.image_files
    else:
        raise cliargs.UsageError("propose: give --annotations DIR, --coco FILE or IMAGE files")
    config = _proposal_config(args)
    t0 = time.perf_counter()
    boxes = compute_proposals(paths, config, cache_dir=None if args.no_cache else args.cache_dir, workers=args.workers)
    seconds = time.perf_counter() - t0
    report = {"images": len(paths), "seconds": round(seconds, 2), "mean_proposals": float(np.mean([len(b) for b in boxes]))}
    if anns is not None:
        best = np.concatenate([iou(a.boxes, b).max(axis=1) if len(b) else np.zeros(len(a.boxes))
                               for a, b in zip(anns, boxes) if len(a.boxes)])  # fmt: skip
        report["recall@0.5"] = float((best >= 0.5).mean())
        report["recall@0.7"] = float((best >= 0.7).mean())
    if args.output:
        names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
        np.savez(args.output, **dict(zip(names, boxes)))
    print(json.dumps(report))
    return 0


def _jit(args) -> bool:
    from kerasnets.xla import resolve_jit_compile

    return bool(resolve_jit_compile(args.jit_compile))


# `train` flags whose value is the TrainConfig field of the same name, unchanged.
_TRAIN_FLAGS_AS_IS = (
    "backbone", "input_size", "fc_width", "context_padding", "preprocess", "finetune_steps", "learning_rate",
    "optimizer", "batch_positives", "batch_negatives", "batch_near_negatives", "svm_c", "svm_positive_weight", "mining_rounds",
    "svm_initial_negatives", "negatives_per_image", "bbox_alpha", "seed",
)  # fmt: skip


def _cmd_train(args) -> int:
    from apps.rcnn.network import FinetuneInterrupted
    from apps.rcnn.pipeline import TrainConfig, train
    from kerasnets.data.voc import class_names

    cliargs.check_output_dir(args.output, "--output")
    if args.context_padding is not None and not args.context_padding < args.input_size / 2:
        raise cliargs.UsageError(f"argument --context-padding: expected a number in [0, --input-size / 2 = "
                                 f"{args.input_size / 2:g}), got {args.context_padding!r}")  # fmt: skip
    _check_weights(args)
    anns = _load_annotations(args, classes=args.classes)
    classes = tuple(args.classes) if args.classes else tuple(class_names(anns))
    if not classes:
        raise cliargs.UsageError(f"argument {'--coco' if args.coco else '--annotations'}: the training annotations hold no "
                                 f"objects ({len(anns)} image(s), {_skipped(anns)} skipped degenerate box(es)); nothing to train")  # fmt: skip
    config = TrainConfig(
        classes=classes,
        backbone_options=dict(args.backbone_option),
        weights=args.weights if not args.weights or is_published_name(args.weights) else os.path.abspath(args.weights),
        proposals=_proposal_config(args),
        augment=not args.no_augment,
        bbox_regression=not args.no_bbox_regression,
        xla=_jit(args),
        **{name: getattr(args, name) for name in _TRAIN_FLAGS_AS_IS},
    )
    try:
        summary = train(anns, config, args.output, cache_dir=None if args.no_cache else args.cache_dir,
                        workers=args.workers, verbose=not args.quiet, overwrite=args.overwrite,
                        output_flag="--output")  # fmt: skip
    except FinetuneInterrupted as stop:
        print(f"python -m apps.rcnn train: interrupted at epoch {stop.epoch} step {stop.step}/{stop.total}; "
              "run the same command to resume", file=sys.stderr)  # fmt: skip
        return 130
    except KeyboardInterrupt:
        print("python -m apps.rcnn train: interrupted; run the same command to resume", file=sys.stderr)
        return 130
    print(json.dumps({"model": args.output, "train_seconds": round(summary["train_seconds"], 1),
                      "timings": {k: round(v, 1) for k, v in summary["timings"].items()},
                      "skipped_boxes": summary["skipped_boxes"],
                      "svm_false_positives": summary["svm_false_positives"]}))  # fmt: skip
    return 0


def _cmd_detect(args) -> int:
    from apps.rcnn.evaluation import draw_detections
    from apps.rcnn.pipeline import Detector
    from apps.rcnn.regions import load_image

    if args.output is not None:
        cliargs.check_output_dir(args.output, "--output")
    det = Detector(args.model, xla=_jit(args))
    # The next image's proposals are computed while this one's features are extracted.
    for path, d, timing in det.detect_many(args.image_files, cache_dir=None if args.no_cache else args.cache_dir,
                                           score_threshold=args.score_threshold, nms_iou=args.nms_iou,
                                           bbox_regression=not args.no_bbox_regression):  # fmt: skip
        record = {
            "image": path,
            "seconds": round(timing["total_s"], 3),
            "detections": [
                {"class": det.classes[int(c)], "score": round(float(s), 4), "box": [round(float(v), 1) for v in b]}
                for b, s, c in zip(d.boxes, d.scores, d.labels)
            ],
        }
        print(json.dumps(record))
        if args.output:
            img, _ = load_image(path)
            draw_detections(img, d, det.classes, os.path.join(args.output, os.path.basename(path)),
                            min_score=args.score_threshold, max_boxes=args.max_boxes)  # fmt: skip
    return 0


def _cmd_evaluate(args) -> int:
    from apps.rcnn.pipeline import Detector, evaluate

    if args.output is not None:
        cliargs.check_output_dir(args.output, "--output")
    anns = _load_annotations(args)
    det = Detector(args.model, xla=_jit(args))
    report = evaluate(det, anns, output_dir=args.output, cache_dir=None if args.no_cache else args.cache_dir,
                      workers=args.workers, score_threshold=args.score_threshold, nms_iou=args.nms_iou,
                      bbox_regression=not args.no_bbox_regression, max_pictures=args.max_pictures)  # fmt: skip
    report.pop("results")
    print(json.dumps(report, indent=2))
    return 0


def _main(argv) -> int:
    import warnings

    args = build_parser().parse_args(argv)
    _check_inputs(args)
    # Annotation warnings (a skipped or clipped box, a wrong <size>) are one plain line each.
    warnings.formatwarning = lambda message, category, *rest: f"warning: {message}\n"
    return {"propose": _cmd_propose, "train": _cmd_train, "detect": _cmd_detect, "evaluate": _cmd_evaluate}[
        args.command
    ](args)


def main(argv=None) -> int:
    """Entry point of ``python -m apps.rcnn``: exit status 0, 2 for a usage or input error, 130 interrupted."""
    return cliargs.run_main(_main, argv, prog="python -m apps.rcnn")


if __name__ == "__main__":
    sys.exit(main())
