"""R-CNN speed on this machine: seconds per image for proposals, features and the whole detect step.

Compared with the R-CNN paper's figures (Girshick et al. 2014, sec. 2.2 and the released code):
selective search "fast mode" about 2 s/image; features 13 s/image on a GPU and 53 s/image on a
CPU (AlexNet, 227x227 regions, ~2000 regions/image). Also measured: XLA on vs off for the
feature extractor (``jit_compile=True`` / ``False``, the same patches, side by side).

The detector is untrained (random weights, random SVMs): speed does not depend on the values.
Wall-clock and process CPU seconds are both reported: on a shared, loaded machine the wall
clock mostly measures the queue, while CPU seconds (summed over threads) bound what an idle
machine needs (an idle 2-core box needs between CPU/2 and CPU seconds of wall clock).

Images: the raccoon photos of about 500 px (../shared/data/raccoon), else generated 375x500
scenes.

Usage:
    python bench/rcnn_bench.py [--images N] [--backbones alexnet:64 lenet5:32] [--max-proposals 2000]
    python bench/rcnn_bench.py --profile [--steps 5 --blocks 3]   # fine-tuning step: app vs bare network

The ``--profile`` part (:func:`profile_finetune`, also called by ``bench/profile_apps.py``)
times, in alternating blocks in one process, (a) the app's fine-tuning step as
:func:`apps.rcnn.network.finetune` runs it (the batch of 32 + 96 regions sampled, warped,
augmented and preprocessed from the raccoon images, prefetched in a thread, then
``train_on_batch``) and (b) the bare network's ``train_on_batch`` on one batch already in
memory, and prints the step times and the overhead ratio a / b. With ``--profile-features``
it also times the SVM feature pass (warp + ``predict_on_batch`` per image) against bare
``predict_on_batch`` calls on patches in memory.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RACCOON = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "raccoon")


def _images(n: int) -> list[str]:
    import cv2

    paths = []
    for p in sorted(glob.glob(os.path.join(RACCOON, "images", "*.jpg"))):
        img = cv2.imread(p)
        if img is not None and 450 <= max(img.shape[:2]) <= 700:
            paths.append(p)
        if len(paths) == n:
            return paths
    from kerasnets.data.synthetic_detection import make_detection_dataset

    info = make_detection_dataset(tempfile.mkdtemp(), num_images=n, image_size=(375, 500), seed=0)
    return [a.image_path for a in info.annotations]


def _untrained_model(backbone: str, size: int, options: dict, proposals, folder: str) -> str:
    from apps.rcnn.network import build_network
    from apps.rcnn.pipeline import FORMAT_VERSION, TrainConfig

    cfg = TrainConfig(classes=("object",), backbone=backbone, backbone_options=options, input_size=size,
                      proposals=proposals, bbox_regression=False)  # fmt: skip
    net = build_network(backbone, num_classes=1, input_size=size, fc_width=cfg.fc_width, backbone_options=options)
    os.makedirs(folder, exist_ok=True)
    net.save_weights(os.path.join(folder, "network.weights.h5"))
    rng = np.random.default_rng(0)
    np.savez(os.path.join(folder, "svm.npz"), weights=rng.normal(size=(1, cfg.fc_width)).astype("float32"),
             biases=np.zeros(1, "float32"), feature_scale=np.float32(1.0))  # fmt: skip
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"format_version": FORMAT_VERSION, "config": cfg.to_dict()}, f)
    with open(os.path.join(folder, "train_summary.json"), "w") as f:  # marks the folder finished
        json.dump({"note": "untrained network and random SVMs, for timing only"}, f)
    return folder


def _finetune_data(num_images: int, max_side: int = 500):
    """Raccoon images at the working scale with sliding-window candidates labelled by IoU (no selective
    search: the step's cost does not depend on where the boxes come from)."""
    from apps.rcnn.boxes import iou
    from apps.rcnn.proposals import sliding_windows
    from apps.rcnn.regions import load_image
    from kerasnets.data.voc import load_voc_dataset

    anns = load_voc_dataset(os.path.join(RACCOON, "annotations"), image_dir=os.path.join(RACCOON, "images"))
    images, boxes, labels = [], [], []
    for a in anns[:num_images]:
        img, scale = load_image(a.image_path, max_side)
        gt = (a.boxes * scale).astype(np.float32)
        cand = sliding_windows(*img.shape[:2])
        lab = (iou(cand, gt).max(axis=1) >= 0.5).astype(np.int64)
        images.append(img)
        boxes.append(np.concatenate([gt, cand]))
        labels.append(np.concatenate([np.ones(len(gt), np.int64), lab]))
    return images, boxes, labels


def profile_finetune(
    *,
    backbone: str = "alexnet",
    input_size: int = 64,
    steps: int = 5,
    blocks: int = 3,
    num_images: int = 20,
    jit_compile: bool = False,
    features: bool = False,
    fit_baseline: bool = False,
    verbose: bool = True,
) -> dict:
    """R-CNN part of the apps' profile: the app's fine-tuning step (a) vs the bare network's (b).

    Both run the same network and optimizer (the app's defaults: AlexNet @ 64 + fc 512-512-2,
    AdamW, cosine decay), alternating ``blocks`` times ``steps`` steps each, after one
    warm-up step each. (a) is :func:`apps.rcnn.network.finetune` itself (prefetching batches
    of :class:`~apps.rcnn.network.RegionBatches` built from ``num_images`` raccoon images);
    (b) is ``network.train_on_batch`` on one batch in memory.

    Returns:
        ``{"app_step_s", "bare_step_s", "overhead_ratio", "batch_build_s", "load_average", ...}``
        (medians over the blocks); with ``fit_baseline`` also ``fit_step_s`` and
        ``fit_overhead_ratio``, the previous version's ``fit(PyDataset)`` loop timed in the same blocks; and with ``features`` the same for the feature pass
        (``features_app_s_per_region``, ``features_bare_s_per_region``, ``features_overhead_ratio``).
    """
    import keras

    from apps.rcnn.network import (
        RegionBatches,
        build_network,
        extract_features,
        extract_features_stream,
        feature_model,
        finetune,
    )
    from apps.rcnn.pipeline import _prefetched
    from apps.rcnn.regions import context_padding_for, warp_regions

    keras.utils.set_random_seed(0)
    images, boxes, labels = _finetune_data(num_images)
    padding = context_padding_for(input_size)
    net = build_network(backbone, num_classes=1, input_size=input_size)
    big = RegionBatches(images, boxes, labels, input_size=input_size, padding=padding, steps=10**6, seed=0)
    x, y = big.batch(0)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    for i in range(steps):
        big.batch(i)
    build = (time.perf_counter() - t0) / steps
    # finetune() compiles the network with the app's optimizer; warm both paths up once.
    finetune(net, RegionBatches(images, boxes, labels, input_size=input_size, padding=padding, steps=1, seed=1),
             xla=jit_compile, verbose=0)  # fmt: skip
    net.train_on_batch(x, y)
    class _FitBatches(keras.utils.PyDataset):
        """The previous version's loop: ``network.fit`` over a PyDataset of the same batches."""

        def __init__(self, source, n):
            super().__init__()
            self.source, self.n = source, n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return self.source.batch(i)

    app, bare, old = [], [], []
    for block in range(blocks):
        batches = RegionBatches(images, boxes, labels, input_size=input_size, padding=padding, steps=steps,
                                seed=100 + block)  # fmt: skip
        t0 = time.perf_counter()
        finetune(net, batches, xla=jit_compile, verbose=0, compile=False)
        app.append((time.perf_counter() - t0) / steps)
        t0 = time.perf_counter()
        for _ in range(steps):
            net.train_on_batch(x, y)
        bare.append((time.perf_counter() - t0) / steps)
        if fit_baseline:
            t0 = time.perf_counter()
            net.fit(_FitBatches(batches, steps), epochs=1, verbose=0)
            old.append((time.perf_counter() - t0) / steps)
        if verbose:
            print(f"block {block + 1}/{blocks}: app {app[-1]:.3f} s/step, bare {bare[-1]:.3f} s/step"
                  + (f", previous fit(PyDataset) loop {old[-1]:.3f} s/step" if old else ""), flush=True)  # fmt: skip
    out = {
        "part": "rcnn fine-tuning step",
        "backbone": f"{backbone}@{input_size}",
        "regions_per_step": int(len(x)),
        "jit_compile": bool(jit_compile),
        "app_step_s": statistics.median(app),
        "bare_step_s": statistics.median(bare),
        "overhead_ratio": statistics.median(a / b for a, b in zip(app, bare)),
        "batch_build_s": build,
        "blocks": blocks,
        "steps_per_block": steps,
        "load_average": [load0, os.getloadavg()],
    }
    if old:
        out.update(fit_step_s=statistics.median(old), fit_overhead_ratio=statistics.median(a / b for a, b in zip(old, bare)))
    if features:
        fm = feature_model(net, xla=jit_compile)
        patches = warp_regions(images[0], boxes[0][:256], input_size, padding=padding)
        extract_features(fm, patches)
        fa, fb = [], []
        for block in range(blocks):
            # The app's pass (pipeline.train step 2): warping prefetched in a thread, regions of
            # consecutive images streamed into full batches.
            sel = [b[:300] for b in boxes[:steps]]
            n = sum(len(s) for s in sel)
            t0 = time.perf_counter()
            extract_features_stream(fm, _prefetched(lambda i: warp_regions(images[i], sel[i], input_size,
                                                                           padding=padding), len(sel)))  # fmt: skip
            fa.append((time.perf_counter() - t0) / n)
            t0 = time.perf_counter()
            for _ in range(max(1, n // 256)):
                fm.predict_on_batch(np.zeros((256, input_size, input_size, 3), np.float32))
            fb.append((time.perf_counter() - t0) / (max(1, n // 256) * 256))
        out.update(features_app_s_per_region=statistics.median(fa), features_bare_s_per_region=statistics.median(fb),
                   features_overhead_ratio=statistics.median(a / b for a, b in zip(fa, fb)))  # fmt: skip
    if verbose:
        print(f"R-CNN fine-tuning, {out['backbone']}, {out['regions_per_step']} regions/step: app {out['app_step_s']:.3f} "
              f"s/step, bare train_on_batch {out['bare_step_s']:.3f} s/step, overhead a/b = "
              f"{out['overhead_ratio']:.2f} (batch build {build:.3f} s, hidden by prefetch); load "
              f"{load0[0]:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        if old:
            print(f"previous fit(PyDataset) loop: {out['fit_step_s']:.3f} s/step, overhead a/b = "
                  f"{out['fit_overhead_ratio']:.2f}", flush=True)  # fmt: skip
        if features:
            print(f"R-CNN feature pass: app {out['features_app_s_per_region'] * 1e3:.2f} ms/region, bare "
                  f"{out['features_bare_s_per_region'] * 1e3:.2f} ms/region, overhead a/b = "
                  f"{out['features_overhead_ratio']:.2f}", flush=True)  # fmt: skip
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=3, help="images to time (default: 3)")
    parser.add_argument("--backbones", nargs="+", default=["alexnet:64", "lenet5:32"],
                        help="NAME:INPUT_SIZE backbones to time (default: alexnet:64 lenet5:32)")  # fmt: skip
    parser.add_argument("--max-proposals", type=int, default=2000, help="proposals per image (default: 2000)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--profile", action="store_true", help="time the fine-tuning step: app vs bare network")
    parser.add_argument("--profile-features", action="store_true", help="with --profile: also the SVM feature pass")
    parser.add_argument("--fit-baseline", action="store_true",
                        help="with --profile: also time the previous fit(PyDataset) loop in the same blocks")  # fmt: skip
    parser.add_argument("--steps", type=int, default=5, help="--profile: steps per block (default: 5)")
    parser.add_argument("--blocks", type=int, default=3, help="--profile: alternating blocks (default: 3)")
    parser.add_argument("--jit-compile", choices=("on", "off"), default="off", help="--profile: XLA (default: off)")
    args = parser.parse_args(argv)
    if args.profile:
        out = profile_finetune(steps=args.steps, blocks=args.blocks, jit_compile=args.jit_compile == "on",
                               features=args.profile_features, fit_baseline=args.fit_baseline)  # fmt: skip
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
        return 0

    from apps.rcnn.network import extract_features, feature_model
    from apps.rcnn.pipeline import Detector
    from apps.rcnn.proposals import ProposalConfig, propose
    from apps.rcnn.regions import load_image, warp_regions

    paths = _images(args.images)
    results = {"machine": f"{platform.machine()} {os.cpu_count()}-core CPU", "load_average_at_start": os.getloadavg(),
               "images": paths, "rows": []}  # fmt: skip
    print(f"machine: {results['machine']}, load average {os.getloadavg()[0]:.1f}", flush=True)

    # Proposals: selective search fast mode at 500 px, and sliding windows; no cache.
    ss_cfg = ProposalConfig(method="fast", max_proposals=args.max_proposals)
    sw_cfg = ProposalConfig(method="sliding", max_proposals=args.max_proposals)
    for name, cfg in (("selective search fast", ss_cfg), ("sliding windows", sw_cfg)):
        times, cpu, counts = [], [], []
        for p in paths:
            img, _ = load_image(p, cfg.max_side)
            t0, c0 = time.perf_counter(), time.process_time()
            boxes = propose(img, cfg)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            counts.append(len(boxes))
        results["rows"].append({"stage": f"proposals: {name}", "s_per_image": statistics.mean(times),
                                "cpu_s_per_image": statistics.mean(cpu),
                                "regions": statistics.mean(counts), "paper_s_per_image": 2.0 if "fast" in name else None})  # fmt: skip
        print(results["rows"][-1], flush=True)

    # Features, XLA on vs off, and the whole detect step, per backbone.
    for spec in args.backbones:
        backbone, size = spec.split(":")
        size = int(size)
        options = {"form": "modern"} if backbone == "lenet5" else {}
        with tempfile.TemporaryDirectory() as folder:
            _untrained_model(backbone, size, options, ss_cfg, folder)
            dets = {xla: Detector(folder, xla=xla) for xla in (False, True)}
            warm_img, _ = load_image(paths[0], 500)
            for det in dets.values():  # warm-up (tracing / XLA compilation) outside the timings
                extract_features(det.features, warp_regions(warm_img, np.array([[0, 0, 50, 50.0]] * 256), size,
                                                            padding=det.config.padding))  # fmt: skip
            stats = {xla: {"f": [], "fc": [], "w": [], "d": [], "dc": [], "n": []} for xla in dets}
            # XLA off and on alternate image by image, so load changes hit both alike.
            for p in paths:
                img, _ = load_image(p, 500)
                boxes = propose(img, ss_cfg)
                for xla, det in dets.items():
                    st = stats[xla]
                    t0 = time.perf_counter()
                    patches = warp_regions(img, boxes, size, padding=det.config.padding)
                    st["w"].append(time.perf_counter() - t0)
                    t0, c0 = time.perf_counter(), time.process_time()
                    extract_features(det.features, patches)
                    st["f"].append(time.perf_counter() - t0)
                    st["fc"].append(time.process_time() - c0)
                    st["n"].append(len(boxes))
                    c0 = time.process_time()
                    _, timing = det.detect(p, score_threshold=-1e9)  # whole step, proposals included, no cache
                    st["d"].append(timing["total_s"])
                    st["dc"].append(time.process_time() - c0)
            for xla, det in dets.items():  # detect_many: next image's proposals overlap this one's features
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in det.detect_many(paths, score_threshold=-1e9):
                    pass
                stats[xla]["m"] = (time.perf_counter() - t0) / len(paths)
                stats[xla]["mc"] = (time.process_time() - c0) / len(paths)
            for xla, st in stats.items():
                row = {"stage": f"{backbone}@{size} xla={'on' if xla else 'off'}",
                       "detect_many_s_per_image": st["m"], "detect_many_cpu_s_per_image": st["mc"],
                       "regions": statistics.mean(st["n"]),
                       "warp_s_per_image": statistics.mean(st["w"]),
                       "features_s_per_image": statistics.mean(st["f"]),
                       "features_cpu_s_per_image": statistics.mean(st["fc"]),
                       "regions_per_s": sum(st["n"]) / sum(st["f"]),
                       "detect_s_per_image": statistics.mean(st["d"]),
                       "detect_cpu_s_per_image": statistics.mean(st["dc"]),
                       "paper_features_s_per_image": {"gpu": 13.0, "cpu": 53.0}}  # fmt: skip
                results["rows"].append(row)
                print(row, flush=True)
    for spec in args.backbones:
        on = next(r for r in results["rows"] if r["stage"].startswith(spec.replace(":", "@")) and r["stage"].endswith("on"))
        off = next(r for r in results["rows"] if r["stage"].startswith(spec.replace(":", "@")) and r["stage"].endswith("off"))
        print(f"{spec}: features XLA on / off time ratio = {on['features_s_per_image'] / off['features_s_per_image']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
