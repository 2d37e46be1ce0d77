"""R-CNN parts: IoU and box regression maths, NMS, VOC AP, warping, proposals and cache,
SVM hard negative mining, the backbone weights path (files and published names), the CLI's --help."""

import os

import cv2
import numpy as np
import pytest

from apps.rcnn.boxes import decode_deltas, encode_deltas, iou
from apps.rcnn.evaluation import Detections, evaluate_detections, voc_ap
from apps.rcnn.nms import nms, per_class_nms
from apps.rcnn.proposals import ProposalConfig, cache_key, compute_proposals, selective_search, sliding_windows
from apps.rcnn.regions import context_padding_for, warp_regions
from apps.rcnn.svm import train_class_svm


def test_iou_and_paper_parameterisation():
    a = np.array([[0, 0, 10, 20.0]])
    b = np.array([[2, 4, 12, 44.0], [20, 20, 30, 30.0]])
    # intersection 8 x 16 = 128, union 200 + 400 - 128 = 472
    np.testing.assert_allclose(iou(a, b), [[128 / 472, 0.0]], rtol=1e-6)
    t = encode_deltas(a, b[:1])
    # centres (5, 10) -> (7, 24); sizes (10, 20) -> (10, 40): R-CNN appendix C targets
    np.testing.assert_allclose(t, [[0.2, 0.7, 0.0, np.log(2.0)]], rtol=1e-6)
    np.testing.assert_allclose(decode_deltas(a, t), b[:1], atol=1e-4)
    assert iou(np.zeros((0, 4)), b).shape == (0, 2)


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 9.0]])
    scores = np.array([0.6, 0.9, 0.7, 0.5])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.3), [1, 2])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.95), [1, 2, 0, 3])
    np.testing.assert_array_equal(nms(boxes, scores, score_threshold=0.65), [1, 2])
    # per class: class 1 only scores the far box high
    s2 = np.stack([scores, [0.1, 0.1, 0.8, 0.1]], axis=1)
    b, s, c = per_class_nms(boxes, s2, iou_threshold=0.3, score_threshold=0.2)
    np.testing.assert_allclose(s, [0.9, 0.8, 0.7])
    np.testing.assert_array_equal(c, [0, 1, 0])
    np.testing.assert_allclose(b[1], [20, 20, 30, 30])


def _per_class_loop(boxes, scores, *, iou_threshold, score_threshold, max_per_class):
    """Today's (before #16) per-class NMS: one tf.image.non_max_suppression call per class."""
    out_b, out_s, out_c = [], [], []
    for c in range(scores.shape[1]):
        cb = boxes[:, c] if boxes.ndim == 3 else boxes
        keep = nms(cb, scores[:, c], iou_threshold=iou_threshold, max_output=max_per_class,
                   score_threshold=score_threshold)  # fmt: skip
        out_b.append(cb[keep])
        out_s.append(scores[keep, c])
        out_c.append(np.full(len(keep), c, dtype=np.int64))
    b, s, c = np.concatenate(out_b).reshape(-1, 4), np.concatenate(out_s), np.concatenate(out_c)
    order = np.argsort(-s, kind="stable")
    return b[order], s[order], c[order]


@pytest.mark.parametrize("seed", range(12))
def test_combined_nms_equals_the_per_class_loop(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 400)), int(rng.integers(1, 6))
    xy = rng.uniform(0, 400, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 150, (n, 2))], axis=1).astype(np.float32)
    if seed % 2:  # class-specific (regressed) boxes
        boxes = (boxes[:, None, :] + rng.normal(0, 3, (n, k, 4))).astype(np.float32)
    scores = rng.normal(-1, 1, (n, k)).astype(np.float32)  # SVM scores: mostly negative
    kwargs = dict(iou_threshold=[0.3, 0.5, 0.7][seed % 3], score_threshold=[-np.inf, -1.0, 0.0][seed % 3],
                  max_per_class=[100, 5, 300][seed % 3])  # fmt: skip
    want = _per_class_loop(boxes, scores, **kwargs)
    got = per_class_nms(boxes, scores, **kwargs)
    assert len(got[0]) == len(want[0]) > 0
    np.testing.assert_array_equal(got[1], want[1])  # the exact scores
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=1e-4)


def test_combined_nms_empty_inputs():
    b, s, c = per_class_nms(np.zeros((0, 4)), np.zeros((0, 3)))
    assert b.shape == (0, 4) and s.shape == (0,) and c.shape == (0,)
    b, s, c = per_class_nms(np.array([[0, 0, 5, 5.0]]), np.array([[-2.0, -0.5]]), score_threshold=-1.0)
    np.testing.assert_array_equal(c, [1])


def test_region_batches_depend_only_on_seed_and_step():
    from apps.rcnn.network import RegionBatches

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8) for _ in range(3)]
    boxes = [np.array([[5, 5, 40, 40], [10, 10, 30, 50], [0, 0, 70, 55]], np.float32) for _ in images]
    labels = [np.array([1, 0, 0]), np.array([2, 0, 1]), np.array([0, 0, 2])]
    make = lambda seed: RegionBatches(images, boxes, labels, input_size=16, padding=1.0, steps=5, positives=4,
                                      negatives=6, seed=seed)  # fmt: skip
    a, b = make(0), make(0)
    x3, y3 = a.batch(3)
    for i in (0, 1, 2):
        a.batch(i)  # other batches drawn before do not change batch 3
    np.testing.assert_array_equal(b.batch(3)[0], x3)
    np.testing.assert_array_equal(b[3][1], y3)
    assert x3.shape == (10, 16, 16, 3) and x3.dtype == np.float32 and (y3[:4] > 0).all() and (y3[4:] == 0).all()
    assert not np.array_equal(a.batch(4)[0], x3) and not np.array_equal(make(1).batch(3)[0], x3)
    with pytest.raises(IndexError):
        a[5]


def test_region_batches_draw_the_asked_share_of_near_background():
    from apps.rcnn.network import RegionBatches

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8) for _ in range(2)]
    boxes = [rng.uniform(0, 40, (20, 2)).repeat(2, axis=1) + [0, 0, 20, 20] for _ in images]
    labels = [np.r_[np.ones(4, int), np.zeros(16, int)] for _ in images]
    overlaps = [np.r_[np.full(4, 0.7), np.full(6, 0.3), np.full(10, 0.02)].astype(np.float32) for _ in images]
    near = {i * 20 + j for i in range(2) for j in range(4, 10)}  # background with IoU in [0.1, 0.5)
    make = lambda **kw: RegionBatches(images, boxes, labels, input_size=16, padding=1.0, steps=5, positives=4,
                                      negatives=8, seed=0, **kw)  # fmt: skip
    step = np.random.default_rng([0, 3])
    plain = make().sample(step)
    # 0 (the default) draws exactly the batches it drew before the option existed
    np.testing.assert_array_equal(make(overlaps=overlaps, near_negatives=0.0).sample(np.random.default_rng([0, 3])), plain)
    for _ in range(20):
        idx = make(overlaps=overlaps, near_negatives=0.5).sample(step)
        assert len(idx) == 12 and (np.concatenate(labels)[idx[4:]] == 0).all()
        assert set(idx[-4:].tolist()) <= near  # the last half of the background overlaps an object
    with pytest.raises(ValueError, match="one IoU per box"):
        make(overlaps=overlaps[:1], near_negatives=0.5)
    with pytest.raises(ValueError, match="needs `overlaps`"):
        make(near_negatives=0.5)


def test_feature_stream_equals_per_image_features():
    import keras

    from apps.rcnn.network import extract_features, extract_features_stream

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))
    rng = np.random.default_rng(1)
    arrays = [rng.integers(0, 255, (n, 8, 8, 3), dtype=np.uint8) for n in (5, 0, 40, 33, 1)]
    got = extract_features_stream(model, iter(arrays), batch_size=32)
    assert [len(g) for g in got] == [5, 0, 40, 33, 1]
    for g, a in zip(got, arrays):
        np.testing.assert_allclose(g, extract_features(model, a, batch_size=32), rtol=1e-5, atol=1e-5)


def test_voc_ap_hand_computed():
    # ranked detections: TP, FP (duplicate), TP, FP; 3 ground-truth boxes
    # precision 1, 1/2, 2/3, 1/2 at recall 1/3, 1/3, 2/3, 2/3
    gt = [np.array([[0, 0, 10, 10.0]]), np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50.0]])]
    labels = [np.array([0]), np.array([0, 0, 0])]
    dets = [
        Detections(np.array([[0, 0, 10, 10], [0, 0, 10, 10.5]]), np.array([0.9, 0.8]), np.array([0, 0])),
        Detections(np.array([[21, 20, 30, 30], [60, 60, 70, 70.0]]), np.array([0.7, 0.6]), np.array([0, 0])),
    ]
    r = evaluate_detections(dets, gt, labels, ["thing"])
    res = r["classes"][0]
    np.testing.assert_allclose(res.precision, [1, 1 / 2, 2 / 3, 1 / 2])
    np.testing.assert_allclose(res.recall, [1 / 4, 1 / 4, 2 / 4, 2 / 4])
    # 4 positives: all-point AP = 1/4 * 1 + 1/4 * 2/3
    assert r["map_all_point"] == pytest.approx(0.25 + 0.25 * 2 / 3)
    # 11-point: recall >= 0, .1, .2 -> 1; .3, .4, .5 -> 2/3; higher -> 0
    assert r["map_11point"] == pytest.approx((3 * 1 + 3 * 2 / 3) / 11)
    # a difficult box matched is ignored: neither TP nor FP, and not counted as a positive
    diff = [np.array([False]), np.array([False, False, True])]
    r2 = evaluate_detections(dets, gt, labels, ["thing"], gt_difficult=diff)
    assert r2["classes"][0].num_positives == 3
    assert r2["map_all_point"] == pytest.approx(1 / 3 + 1 / 3 * 2 / 3)
    assert voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3])) == pytest.approx(5 / 6)


def test_warp_with_context_padding():
    img = np.zeros((100, 120, 3), np.uint8)
    img[20:60, 30:50] = (200, 100, 50)
    tight = warp_regions(img, np.array([[30, 20, 50, 60.0]]), 32, padding=0)
    assert tight.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(tight[0, 2:-2, 2:-2], np.broadcast_to([200, 100, 50], (28, 28, 3)))
    p = 8
    padded = warp_regions(img, np.array([[30, 20, 50, 60.0]]), 32, padding=p)
    # the box fills the centre 16 x 16, the 8-pixel frame is context (black image around it)
    np.testing.assert_array_equal(padded[0, 10:22, 10:22], np.broadcast_to([200, 100, 50], (12, 12, 3)))
    assert padded[0, :6].max() == 0 and padded[0, :, :6].max() == 0
    # a box at the image corner: the part of the frame outside the image gets the fill colour
    edge = warp_regions(img, np.array([[0, 0, 20, 20.0]]), 32, padding=p, fill=np.array([7, 7, 7]))
    assert (edge[0, 0, 0] == 7).all() and edge[0, 20, 20].max() == 0
    flipped = warp_regions(img, np.array([[25, 20, 55, 60.0]]), 32, padding=0, flip=np.array([True]))
    np.testing.assert_array_equal(flipped[0], warp_regions(img, np.array([[25, 20, 55, 60.0]]), 32, padding=0)[0, :, ::-1])
    assert context_padding_for(227) == 16 and context_padding_for(64) == pytest.approx(16 * 64 / 227)


def test_sliding_windows_and_selective_search(tmp_path):
    w = sliding_windows(100, 100, scales=(0.5,), aspects=(1.0,), stride=0.5)
    assert w.shape == (9, 4) and w.max() == 100 and w.min() == 0
    img = np.full((90, 120, 3), 200, np.uint8)
    cv2.rectangle(img, (20, 15), (60, 55), (20, 30, 200), -1)
    cv2.circle(img, (90, 60), 18, (30, 160, 30), -1)
    boxes = selective_search(img, mode="fast")
    assert len(boxes) > 3
    assert (boxes[:, 2] > boxes[:, 0]).all() and boxes[:, 2].max() <= 120
    best = iou(np.array([[20, 15, 61, 56.0], [72, 42, 109, 79.0]]), boxes).max(axis=1)
    assert (best > 0.7).all()  # both objects are proposed almost exactly


@pytest.mark.parametrize("mode,side", [("fast", 200), ("quality", 96)])
def test_threaded_selective_search_gives_the_boxes_of_one_opencv_call(mode, side):
    """The parts run in threads are OpenCV's own diversification (colour images x graph segmentations
    x strategies), so their union is exactly the set of one `switchToSelectiveSearch*` call."""
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.integers(0, 255, (side * 3 // 4, side, 3)).astype(np.uint8), (9, 9), 3)
    cv2.rectangle(img, (side // 6, side // 8), (side // 2, side // 2), (20, 30, 200), -1)
    cv2.circle(img, (3 * side // 4, side // 2), side // 7, (30, 160, 30), -1)
    one = selective_search(img, mode=mode)
    split = selective_search(img, mode=mode, threads=2)
    assert len(one) > 20
    assert len(split) == len({tuple(b) for b in split.tolist()})  # each box once
    assert {tuple(b) for b in split.tolist()} == {tuple(b) for b in one.tolist()}


def test_selective_search_order_does_not_depend_on_what_ran_before():
    """OpenCV ranks boxes with C ``rand()``, a process-wide state: one image must get one order
    whatever the process computed before (R-CNN draws its fine-tuning batches by box index)."""
    rng = np.random.default_rng(4)
    img = cv2.GaussianBlur(rng.integers(0, 255, (90, 120, 3)).astype(np.uint8), (7, 7), 2)
    other = cv2.GaussianBlur(rng.integers(0, 255, (60, 80, 3)).astype(np.uint8), (7, 7), 2)
    first = selective_search(img)
    selective_search(other)  # consumes rand() draws
    np.testing.assert_array_equal(selective_search(img), first)


def test_proposal_cache_and_parallel(tmp_path):
    paths = []
    for i in range(3):
        img = np.random.default_rng(i).integers(0, 255, (60 + 10 * i, 80, 3)).astype(np.uint8)
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], img)
    cfg = ProposalConfig(method="sliding", max_side=50, min_size=4)
    cache = tmp_path / "cache"
    serial = compute_proposals(paths, cfg, cache_dir=str(cache), workers=1, progress=False)
    assert len(os.listdir(cache)) == 3
    # boxes are in original coordinates although proposing ran at max_side=50
    assert serial[2][:, 3].max() == pytest.approx(80, abs=0.5)
    parallel = compute_proposals(paths, cfg, workers=2, progress=False)
    for a, b in zip(serial, parallel):
        np.testing.assert_allclose(a, b)
    # the key follows content and settings
    assert cache_key(paths[0], cfg) != cache_key(paths[1], cfg)
    assert cache_key(paths[0], cfg) != cache_key(paths[0], ProposalConfig(method="sliding", max_side=51, min_size=4))
    np.save(cache / (cache_key(paths[0], cfg) + ".npy"), np.zeros((1, 4), np.float32))
    assert compute_proposals(paths[:1], cfg, cache_dir=str(cache), workers=1, progress=False)[0].shape == (1, 4)
    with pytest.raises(ValueError, match=r"`method` must be one of .*Received: method='edgeboxes'"):
        ProposalConfig(method="edgeboxes").validate()


def test_hard_negative_mining_reduces_false_positives():
    rng = np.random.default_rng(0)
    d = 8
    pos = rng.normal(0, 1, (40, d)) + 3 * np.eye(d)[0]
    easy = rng.normal(0, 1, (3000, d)) - 3 * np.eye(d)[0]
    hard = rng.normal(0, 0.5, (300, d)) + 2.0 * np.eye(d)[0] + 2 * np.eye(d)[1]
    neg = np.concatenate([easy, hard])
    w, b, fps, used = train_class_svm(pos, neg, C=1.0, rounds=3, initial_negatives=100, seed=0)
    assert fps[0] > 50  # trained on a random (mostly easy) subset: many hard negatives score > 0
    assert fps[-1] < fps[0] / 5
    assert used == sorted(used) and used[-1] > used[0]
    assert (pos @ w + b > 0).mean() > 0.8


def test_backbone_weights_from_keras_applications(tmp_path):
    """A keras.applications.VGG16(include_top=False) file loads into the app's vgg16 backbone."""
    import keras

    from apps.rcnn.network import build_network

    ref = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = str(tmp_path / "vgg16_notop.weights.h5")
    ref.save_weights(path)
    net = build_network("vgg16", num_classes=2, input_size=32, fc_width=8, weights=path)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    pool5 = keras.Model(net.input, net.get_layer("pool5").output)
    np.testing.assert_allclose(pool5.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="first mismatching layer"):
        build_network("vgg11", num_classes=2, input_size=32, weights=path)


@pytest.mark.parametrize(
    "backbone, weights, options, preprocess, expected",
    [
        # a published name selects the file's architecture (torchvision's ResNet v1.5) and preprocessing
        ("resnet50", "timm/resnet50.tv_in1k", {}, "auto", ({"downsample_in_3x3": True}, "torch")),
        ("vgg16", "torchvision/vgg16_bn", {}, "auto", ({"batch_norm": True}, "torch")),
        ("resnet50", "timm/resnet50.tv_in1k", {}, "caffe", ({"downsample_in_3x3": True}, "caffe")),  # as asked
        ("alexnet", None, {"lrn": False}, "auto", ({"lrn": False}, "scale")),  # from scratch: as before
        ("vgg16", "/data/vgg16_notop.weights.h5", {}, "auto", ({}, "scale")),  # a file: say --preprocess caffe
    ],
)  # fmt: skip
def test_weights_select_builder_options_and_preprocessing(backbone, weights, options, preprocess, expected):
    from apps.rcnn.backbone_weights import resolve_weights
    from apps.rcnn.pipeline import TrainConfig

    assert resolve_weights(backbone, weights, options, preprocess) == expected
    config = TrainConfig(classes=("cat",), backbone=backbone, weights=weights, backbone_options=options,
                         preprocess=preprocess)  # fmt: skip
    assert (config.backbone_options, config.preprocess) == expected  # what config.json records
    assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "backbone, weights, options, message",
    [
        ("resnet50", "timm/resnet50.tv", {}, r"Did you mean 'timm/resnet50.tv_in1k'"),
        ("alexnet", "timm/resnet50.tv_in1k", {}, r"are for `resnet50`, not `alexnet`"),
        ("resnet50", "timm/resnet50.tv_in1k", {"downsample_in_3x3": False}, r"need `downsample_in_3x3=True`"),
    ],
)
def test_bad_weights_names_are_refused(backbone, weights, options, message):
    from apps.rcnn.pipeline import TrainConfig

    with pytest.raises(ValueError, match=message):
        TrainConfig(classes=("cat",), backbone=backbone, weights=weights, backbone_options=options)


def test_preprocessing_modes_are_the_librarys():
    from apps.rcnn.network import preprocess
    from kerasnets.preprocessing import preprocess_input

    patches = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    x = patches.astype(np.float32)
    np.testing.assert_array_equal(preprocess(patches, "scale"), x / 127.5 - 1.0)
    np.testing.assert_array_equal(preprocess(patches, "caffe"), x[..., ::-1] - np.float32([103.939, 116.779, 123.68]))
    np.testing.assert_array_equal(preprocess(patches, "torch"), preprocess_input(x, "torch"))
    with pytest.raises(ValueError, match="preprocess"):
        preprocess(patches, "tf")


def test_cli_help_documents_every_flag(capsys):
    from apps.rcnn.__main__ import build_parser, main

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(sub.choices) == {"propose", "train", "detect", "evaluate"}
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
        assert main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--help" in out and len(out) > 300
        assert "(default: None)" not in out and "(default: False)" not in out
    assert main(["train", "--annotations", "/nonexistent", "--output", "/tmp/x"]) == 2
    err = capsys.readouterr().err
    assert "argument --annotations" in err and "/nonexistent" in err and "annotations_dir" not in err


def test_help_examples_parse_with_the_real_parser():
    import shlex

    from apps.rcnn.__main__ import _EPILOG, build_parser

    text = _EPILOG.replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("python -m apps.rcnn")]
    assert len(lines) == 4
    parser = build_parser()
    for line in lines:
        argv = shlex.split(line.replace("$D", "data"))[3:]
        args = parser.parse_args(argv)
        assert args.command in {"propose", "train", "detect", "evaluate"}


def test_help_and_usage_errors_import_no_keras_or_tensorflow():
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    probe = "import sys, kerasnets; print('keras' in sys.modules)"
    if subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout.strip() == "True":
        pytest.skip("`import kerasnets` itself imports Keras in this tree (its lazy __init__ is another branch's)")
    code = (
        "import sys\n"
        "from apps.rcnn.__main__ import main\n"
        "assert main(['train', '--help']) == 0\n"
        "assert main(['detect', '--model', 'nowhere', 'x.jpg', '--score-threshold', 'nan']) == 2\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'numpy', 'cv2') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_xla_is_a_deprecated_alias_of_jit_compile_on(capsys):
    from apps.rcnn.__main__ import build_parser

    parser = build_parser()
    base = ["detect", "--model", "m", "x.jpg"]
    assert parser.parse_args(base).jit_compile == "auto"
    assert parser.parse_args(base + ["--jit-compile", "off"]).jit_compile == "off"
    assert capsys.readouterr().err == ""
    assert parser.parse_args(base + ["--xla"]).jit_compile == "on"
    assert "--xla is deprecated; use --jit-compile on" in capsys.readouterr().err
