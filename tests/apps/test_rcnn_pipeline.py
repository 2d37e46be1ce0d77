"""R-CNN end to end through the CLI on generated VOC data: propose -> train -> evaluate -> detect.

Tiny on purpose (CI is a 2-core CPU): 30 scenes (20 train, 10 test) of 96x120 pixels with one or two shapes,
selective-search proposals, a LeNet-5 backbone at 32x32, 150 fine-tuning steps of 16 + 48
regions. The assertions are about real outputs: the AP on held-out scenes, the SVM mining
history, the files written.
"""

import json
import os

import numpy as np
import pytest

from kerasnets.data.synthetic_detection import make_detection_dataset


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from apps.rcnn.__main__ import main

    root = tmp_path_factory.mktemp("rcnn")
    info = make_detection_dataset(root / "shapes", num_images=30, image_size=(96, 120), max_objects=2,
                                  object_size=(0.3, 0.5), test_fraction=1 / 3, seed=0)  # fmt: skip
    # selective search (fast mode) gives ~80 boxes on these scenes, recall 1.0 at IoU 0.7
    common = ["--annotations", info.annotations_dir, "--cache-dir", str(root / "cache"), "--method", "fast"]
    assert main(["propose", "--split", info.train_split, "--workers", "1", *common]) == 0
    model = str(root / "model")
    rc = main([
        "train", "--split", info.train_split, *common, "--workers", "1", "--output", model,
        "--backbone", "lenet5", "--backbone-option", "form=\"modern\"", "--input-size", "32", "--fc-width", "64",
        "--finetune-steps", "150", "--batch-positives", "16", "--batch-negatives", "48", "--learning-rate", "0.003",
        "--negatives-per-image", "60", "--svm-initial-negatives", "100", "--mining-rounds", "2", "--quiet",
    ])  # fmt: skip
    assert rc == 0
    return info, common, model, root


def test_model_folder_and_mining(trained):
    info, common, model, root = trained
    assert sorted(os.listdir(model)) == ["bbox.npz", "config.json", "network.weights.h5", "svm.npz", "train_summary.json"]
    with open(os.path.join(model, "train_summary.json")) as f:
        summary = json.load(f)
    assert summary["images"] == 20
    assert summary["finetune_history"]["loss"][-1] < summary["finetune_history"]["loss"][0]
    for fps in summary["svm_false_positives"]:
        assert fps[-1] <= fps[0]  # mining never adds false positives on the training pool
    with open(os.path.join(model, "config.json")) as f:
        cfg = json.load(f)["config"]
    assert cfg["classes"] == ["circle", "square", "triangle"] and cfg["backbone_options"] == {"form": "modern"}


def test_evaluate_ap_on_held_out_scenes(trained, capsys):
    from apps.rcnn.__main__ import main

    info, common, model, root = trained
    out = root / "eval"
    assert main(["evaluate", "--model", model, "--split", info.test_split, *common[:4], "--output", str(out),
                 "--max-pictures", "2", "--workers", "1"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 10 and report["skipped_boxes"] == 0
    # 150 fine-tuning steps on 20 scenes make this run sensitive to floating-point order: 0.68
    # measured alone (0.67 with TF op determinism), 0.44 once in the full suite under xdist.
    # Chance (random scores) is ~0.02, so 0.3 still means the detector works.
    assert report["map_all_point"] > 0.3, report
    assert 0 <= report["map_11point"] <= 1
    assert os.path.getsize(out / "pr_curves.png") > 5000
    assert len(os.listdir(out / "detections")) == 2


def test_detect_prints_boxes_and_draws(trained, capsys):
    from apps.rcnn.__main__ import main

    info, common, model, root = trained
    test_ann = info.annotations[-1]
    assert main(["detect", "--model", model, test_ann.image_path, "--cache-dir", str(root / "cache"),
                 "--score-threshold", "0", "--output", str(root / "pictures")]) == 0  # fmt: skip
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["image"] == test_ann.image_path
    boxes = np.array([d["box"] for d in record["detections"]]).reshape(-1, 4)
    assert all(d["score"] > 0 for d in record["detections"])
    # per-class NMS at 0.3: no two kept boxes of one class overlap more than that
    from apps.rcnn.boxes import iou

    for cls in {d["class"] for d in record["detections"]}:
        b = boxes[[d["class"] == cls for d in record["detections"]]]
        ov = iou(b, b) - np.eye(len(b))
        assert (ov <= 0.3 + 1e-6).all()
    import cv2

    picture = cv2.imread(str(root / "pictures" / os.path.basename(test_ann.image_path)))
    assert picture is not None and picture.shape[1] >= 480  # 120 px scenes are drawn enlarged, readable


def test_detect_reports_its_own_wall_time_once(trained):
    """``total_s`` counts reading and proposals once: inside `detect`'s own time for one image, and added
    to it for `detect_many`, whose next image is read and proposed on in a thread (before session 6
    `detect` added them a second time, so a single image looked ~1.3 s slower than it was)."""
    import time

    from apps.rcnn.pipeline import Detector

    info, common, model, root = trained
    det = Detector(model)
    path = info.annotations[-1].image_path
    det.detect(path)  # warm-up: the first call traces the feature model
    t0 = time.perf_counter()
    _, timing = det.detect(path)  # no cache: the proposals are computed in this call
    wall = time.perf_counter() - t0
    assert timing["proposals_s"] > 0
    assert timing["total_s"] <= wall
    parts = sum(timing[k] for k in ("read_s", "proposals_s", "warp_s", "features_s", "score_nms_s"))
    assert parts <= timing["total_s"]
    ((_, _, many),) = list(det.detect_many([path]))
    assert many["total_s"] >= many["read_s"] + many["proposals_s"] + many["features_s"]


def test_train_from_published_imagenet_weights(tmp_path, monkeypatch):
    """``--weights timm/resnet18.tv_in1k``: the cached file (the synthetic weights of
    tests/test_pretrained.py, written where a download would put it: no internet) starts the
    backbone, ``--preprocess auto`` becomes "torch", and the model folder detects without it."""
    import kerasnets
    from apps.rcnn.__main__ import main
    from apps.rcnn.pipeline import Detector
    from tests.test_pretrained import _write_cache

    name = "timm/resnet18.tv_in1k"
    _write_cache(name, tmp_path / "weights")
    monkeypatch.setenv("KERASNETS_WEIGHTS_DIR", str(tmp_path / "weights"))
    info = make_detection_dataset(tmp_path / "shapes", num_images=6, image_size=(96, 120), max_objects=1,
                                  object_size=(0.3, 0.5), test_fraction=1 / 3, seed=1)  # fmt: skip
    model = str(tmp_path / "model")
    assert main([
        "train", "--annotations", info.annotations_dir, "--split", info.train_split, "--no-cache", "--workers", "1",
        "--output", model, "--backbone", "resnet18", "--weights", name, "--input-size", "32", "--fc-width", "16",
        "--finetune-steps", "0", "--negatives-per-image", "20", "--svm-initial-negatives", "20", "--mining-rounds", "0",
        "--no-bbox-regression", "--quiet",
    ]) == 0  # fmt: skip
    with open(os.path.join(model, "config.json")) as f:
        cfg = json.load(f)["config"]
    assert cfg["weights"] == name and cfg["preprocess"] == "torch"
    detector = Detector(model)  # builds the network from the folder alone
    reference = kerasnets.resnet18(include_top=False, weights=name, input_shape=(32, 32, 3))
    weighted = [layer for layer in reference.layers if layer.weights]
    assert len(weighted) > 20
    for layer in weighted:  # no fine-tuning: the backbone holds the published values
        for ours, theirs in zip(detector.network.get_layer(layer.name).get_weights(), layer.get_weights()):
            np.testing.assert_array_equal(ours, theirs, err_msg=layer.name)
    detections, _ = detector.detect(info.annotations[-1].image_path)
    assert np.isfinite(detections.scores).all()
