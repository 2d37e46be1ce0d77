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
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=3, help="images to time (default: 3)")
    parser.add_argument("--backbones", nargs="+", default=["alexnet:64", "lenet5:32"],
                        help="NAME:INPUT_SIZE backbones to time (default: alexnet:64 lenet5:32)")  # fmt: skip
    parser.add_argument("--max-proposals", type=int, default=2000, help="proposals per image (default: 2000)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

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
            for xla, st in stats.items():
                row = {"stage": f"{backbone}@{size} xla={'on' if xla else 'off'}",
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
