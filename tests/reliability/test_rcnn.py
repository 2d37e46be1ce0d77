"""Reliability corpus, R-CNN app (issue 14): bad flags, defective VOC/COCO files, run folders,
SIGKILL/SIGINT during a real (tiny) training.

Every usage case runs ``apps.rcnn.__main__.main(argv)`` in-process and asserts exit status 2,
that stderr names the flag (or file) and the value, and that no traceback is printed. The
fault cases run real training processes (LeNet-5 @ 32 on generated scenes, a few seconds of
fine-tuning each) and compare the resumed network with an uninterrupted one, bit for bit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from apps.rcnn.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OK_BOX = "<object><name>cat</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>30</xmax><ymax>30</ymax></bndbox></object>"


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    """A valid one-image VOC folder, an existing file, and an empty folder."""
    import cv2

    root = tmp_path_factory.mktemp("rcnn_rel")
    ann, img = root / "Annotations", root / "JPEGImages"
    ann.mkdir()
    img.mkdir()
    cv2.imwrite(str(img / "a.jpg"), np.full((40, 60, 3), 128, np.uint8))
    (ann / "a.xml").write_text(f"<annotation><filename>a.jpg</filename>{OK_BOX}</annotation>")
    (root / "file.txt").write_text("not a folder")
    (root / "empty").mkdir()
    (root / "old.npz").write_bytes(b"user data")
    return root


def _flag_cases():
    d = ["--annotations", "{ann}"]
    out = ["--output", "{root}/run"]
    return [
        # (argv, names that the error must contain)
        (["train", *d, *out, "--finetune-steps=-1"], ["--finetune-steps", "-1"]),
        (["train", *d, *out, "--learning-rate", "inf"], ["--learning-rate", "inf"]),
        (["train", *d, *out, "--learning-rate", "nan"], ["--learning-rate", "nan"]),
        (["train", *d, *out, "--input-size", "0"], ["--input-size", "0"]),
        (["train", *d, *out, "--fc-width", "2.5"], ["--fc-width", "2.5"]),
        (["train", *d, *out, "--window-scales", "0"], ["--window-scales", "0"]),
        (["train", *d, *out, "--window-scales", "1.5"], ["--window-scales", "1.5"]),
        (["train", *d, *out, "--window-aspects=-1"], ["--window-aspects", "-1"]),
        (["train", *d, *out, "--window-stride", "nan"], ["--window-stride", "nan"]),
        (["train", *d, *out, "--backbone-option", "lrn"], ["--backbone-option", "lrn"]),
        (["train", *d, *out, "--jit-compile", "maybe"], ["--jit-compile", "maybe"]),
        (["train", *d, *out, "--context-padding=-1"], ["--context-padding", "-1"]),
        (["train", *d, *out, "--context-padding", "40"], ["--context-padding", "40"]),
        (["train", *d, *out, "--seed=-3"], ["--seed", "-3"]),
        (["train", *d, *out, "--svm-c", "0"], ["--svm-c", "0"]),
        (["train", *d, *out, "--bbox-alpha=-inf"], ["--bbox-alpha", "-inf"]),
        (["train", *d, *out, "--optimizer", "rmsprop"], ["--optimizer", "rmsprop"]),
        (["train", *d, *out, "--max-proposals", "0"], ["--max-proposals", "0"]),
        (["train", *d, *out, "--workers", "0"], ["--workers", "0"]),
        (["train", *d], ["--output"]),
        (["detect", "--model", "{root}/empty", "x.jpg", "--score-threshold", "nan"], ["--score-threshold", "nan"]),
        (["evaluate", "--model", "{root}/empty", *d, "--score-threshold", "inf"], ["--score-threshold", "inf"]),
        (["detect", "--model", "{root}/empty", "x.jpg", "--nms-iou", "1.5"], ["--nms-iou", "1.5"]),
        (["evaluate", "--model", "{root}/empty", *d, "--max-pictures=-1"], ["--max-pictures", "-1"]),
        (["propose"], ["--annotations", "IMAGE"]),
        (["train", "--annotations", "{root}/nowhere", *out], ["--annotations", "nowhere", "does not exist"]),
        (["train", "--annotations", "{root}/file.txt", *out], ["--annotations", "file.txt", "not a folder"]),
        (["train", "--coco", "{root}/nowhere.json", *out], ["--coco", "nowhere.json"]),
        (["train", "--coco", "{root}/empty", *out], ["--coco", "empty", "not a file"]),
        (["train", *d, "--images", "{root}/nowhere", *out], ["--images", "nowhere"]),
        (["train", *d, "--split", "{root}/nowhere.txt", *out], ["--split", "nowhere.txt"]),
        (["train", *d, "--weights", "{root}/nowhere.weights.h5", *out], ["--weights", "nowhere.weights.h5"]),
        (["train", *d, "--weights", "tim/resnet18.tv_in1k", *out], ["--weights", "close to it", "timm/resnet18.tv_in1k"]),
        (["train", *d, "--backbone", "resnet18", "--weights", "timm/resnet18", *out],
         ["--weights", "timm/resnet18", "Did you mean", "timm/resnet18.tv_in1k"]),
        (["train", *d, "--weights", "timm/resnet18.tv_in1k", *out], ["--weights", "`resnet18`, not `alexnet`"]),
        (["train", *d, "--backbone", "resnet50", "--weights", "timm/resnet50.tv_in1k", "--backbone-option",
          "downsample_in_3x3=false", *out], ["--weights", "downsample_in_3x3=True"]),
        (["train", *d, *out, "--preprocess", "tf"], ["--preprocess", "tf"]),
        (["train", *d, "--output", "{root}/file.txt"], ["--output", "file.txt", "is a file"]),
        (["train", *d, "--output", ""], ["--output"]),
        (["train", *d, "--output", "{root}/file.txt/sub"], ["--output", "file.txt"]),
        (["detect", "--model", "{root}/nowhere", "x.jpg"], ["--model", "nowhere"]),
        (["detect", "--model", "{root}/empty", "x.jpg"], ["--model", "empty", "config.json"]),
        (["evaluate", "--model", "{root}/file.txt", *d], ["--model", "file.txt"]),
        (["propose", *d, "--output", "{root}/old.npz"], ["--output", "old.npz", "already exists"]),
        (["propose", *d, "--output", "{root}/nowhere/p.npz"], ["--output", "nowhere"]),
    ]


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("argv, names", _flag_cases(), ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_flag_is_a_clear_error(voc, run_cli, assert_clean_error, argv, names):
    fill = {"root": str(voc), "ann": str(voc / "Annotations")}
    argv = [a.format(**fill) for a in argv]
    status, out, err = run_cli(main, argv)
    assert_clean_error(status, err, names=names)
    assert not (voc / "run").exists() or not os.listdir(voc / "run")  # nothing started


DEGENERATE = "<object><name>cat</name><bndbox><xmin>9</xmin><ymin>2</ymin><xmax>9</xmax><ymax>30</ymax></bndbox></object>"
VOC_DEFECTS = {
    "malformed xml": ("<annotation><filename>a.jpg</filename><object>", ["a.xml", "well-formed"]),
    "wrong root": ("<notvoc/>", ["a.xml", "<annotation>"]),
    "object without name": ("<annotation><filename>a.jpg</filename><object><bndbox><xmin>1</xmin><ymin>1</ymin>"
                            "<xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>", ["a.xml", "<name>"]),
    "object without box": ("<annotation><filename>a.jpg</filename><object><name>cat</name></object></annotation>",
                           ["a.xml", "<bndbox>"]),
    "non-numeric coordinate": ("<annotation><filename>a.jpg</filename><object><name>cat</name><bndbox><xmin>x1"
                               "</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>",
                               ["a.xml", "'x1'"]),
    "infinite coordinate": ("<annotation><filename>a.jpg</filename><object><name>cat</name><bndbox><xmin>inf"
                            "</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>",
                            ["a.xml", "finite"]),
    "bad difficult flag": ("<annotation><filename>a.jpg</filename><object><name>cat</name><difficult>maybe"
                           "</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>"
                           "</object></annotation>", ["a.xml", "maybe"]),
    "missing image": ("<annotation><filename>gone.jpg</filename></annotation>", ["a.xml", "gone.jpg"]),
    "degenerate box with --strict": (f"<annotation><filename>a.jpg</filename>{DEGENERATE}</annotation>",
                                     ["a.xml", "object 0", "'cat'", "zero width"]),
    "unknown class": (f"<annotation><filename>a.jpg</filename>{OK_BOX}</annotation>", ["a.xml", "'cat'", "dog"]),
    "no objects at all": ("<annotation><filename>a.jpg</filename></annotation>", ["--annotations", "no objects"]),
}  # fmt: skip


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("defect", sorted(VOC_DEFECTS))
def test_defective_voc_file_is_a_clear_error(tmp_path, run_cli, assert_clean_error, defect):
    import cv2

    text, names = VOC_DEFECTS[defect]
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    cv2.imwrite(str(tmp_path / "JPEGImages" / "a.jpg"), np.full((40, 60, 3), 128, np.uint8))
    (tmp_path / "Annotations" / "a.xml").write_text(text)
    if defect == "missing image":  # else the image is found by the XML's stem (a tolerated variation)
        os.remove(tmp_path / "JPEGImages" / "a.jpg")
    argv = ["train", "--annotations", str(tmp_path / "Annotations"), "--output", str(tmp_path / "run"), "--strict"]
    if defect == "unknown class":
        argv += ["--classes", "dog"]
    status, out, err = run_cli(main, argv)
    assert_clean_error(status, err, names=names)
    assert not (tmp_path / "run").exists()


COCO_DEFECTS = {
    "not json": ("{images: [", ["c.json", "not valid JSON"]),
    "not an object": ("[1, 2]", ["c.json", "JSON object"]),
    "no categories": (json.dumps({"images": [], "annotations": []}), ["c.json", "'categories'"]),
    "category without name": (json.dumps({"images": [], "annotations": [], "categories": [{"id": 1}]}),
                              ["c.json", "'id' and 'name'"]),
    "image without size": (json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [],
                                       "categories": [{"id": 1, "name": "cat"}]}), ["c.json", "'width'"]),
    "unknown image id": (json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}],
                                     "categories": [{"id": 1, "name": "cat"}],
                                     "annotations": [{"id": 5, "image_id": 2, "category_id": 1, "bbox": [0, 0, 2, 2]}]}),
                         ["c.json", "image_id 2"]),
    "unknown category id": (json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}],
                                        "categories": [{"id": 1, "name": "cat"}],
                                        "annotations": [{"id": 5, "image_id": 1, "category_id": 7,
                                                         "bbox": [0, 0, 2, 2]}]}), ["c.json", "category_id 7"]),
    "bad bbox": (json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}],
                             "categories": [{"id": 1, "name": "cat"}],
                             "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": "0 0 2 2"}]}),
                 ["c.json", "[x, y, width, height]"]),
    "degenerate bbox with --strict": (json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}],
                                                  "categories": [{"id": 1, "name": "cat"}],
                                                  "annotations": [{"id": 5, "image_id": 1, "category_id": 1,
                                                                   "bbox": [1, 1, 0, 4]}]}),
                                      ["c.json", "id 5", "zero width"]),
}  # fmt: skip


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("defect", sorted(COCO_DEFECTS))
def test_defective_coco_file_is_a_clear_error(tmp_path, run_cli, assert_clean_error, defect):
    text, names = COCO_DEFECTS[defect]
    (tmp_path / "c.json").write_text(text)
    argv = ["train", "--coco", str(tmp_path / "c.json"), "--output", str(tmp_path / "run"), "--strict"]
    status, out, err = run_cli(main, argv)
    assert_clean_error(status, err, names=names)


# ----------------------------------------------------------------------------- run folders


def _config(**kw):
    from apps.rcnn.pipeline import TrainConfig

    return TrainConfig(classes=("cat",), **kw)


@pytest.mark.reliability("nothing lost")
def test_finished_run_folder_is_kept_unless_overwrite(tmp_path):
    from apps.rcnn.pipeline import RunFolderError, prepare_run_folder

    run = tmp_path / "run"
    prepare_run_folder(str(run), _config())
    for name in ("network.weights.h5", "svm.npz", "train_summary.json"):
        (run / name).write_text("trained")
    with pytest.raises(RunFolderError, match=r"--output .*run.* already holds a trained model.*--overwrite"):
        prepare_run_folder(str(run), _config())
    assert (run / "network.weights.h5").read_text() == "trained"  # nothing was touched
    assert prepare_run_folder(str(run), _config(seed=3), overwrite=True) is False
    assert not (run / "network.weights.h5").exists() and (run / "config.json").exists()


@pytest.mark.reliability("nothing lost")
def test_resume_with_other_settings_lists_each_difference(tmp_path):
    from apps.rcnn.pipeline import RunFolderError, prepare_run_folder

    run = str(tmp_path / "run")
    assert prepare_run_folder(run, _config(backbone="lenet5", input_size=32)) is False
    assert prepare_run_folder(run, _config(backbone="lenet5", input_size=32)) is True  # same settings: resume
    with pytest.raises(RunFolderError) as info:
        prepare_run_folder(run, _config(backbone="alexnet", input_size=32, finetune_steps=7))
    text = str(info.value)
    assert "backbone: 'lenet5' -> 'alexnet'" in text and "finetune_steps: 1500 -> 7" in text
    assert "input_size" not in text and "--overwrite" in text


@pytest.mark.reliability("clear error")
def test_unreadable_run_config_is_a_clear_error(tmp_path):
    from apps.rcnn.pipeline import RunFolderError, prepare_run_folder

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{half")
    with pytest.raises(RunFolderError, match="config.json is unreadable"):
        prepare_run_folder(str(run), _config())
    assert (run / "config.json").read_text() == "{half"


@pytest.mark.reliability("clear error")
def test_second_training_in_the_same_folder_is_refused(voc, tmp_path, run_cli, assert_clean_error):
    from apps.rcnn.pipeline import _RunLock

    run = tmp_path / "run"
    run.mkdir()
    with _RunLock(str(run), "--output"):
        status, out, err = run_cli(main, ["train", "--annotations", str(voc / "Annotations"), "--output", str(run)])
    assert_clean_error(status, err, names=["--output", "in use by another training", f"pid {os.getpid()}"])
    assert not (run / "config.json").exists()


@pytest.mark.reliability("clear error")
def test_corrupt_checkpoint_is_reported_not_replaced(tmp_path):
    import keras

    from apps.rcnn.network import _load_state

    inputs = keras.Input((3,))
    net = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    opt = keras.optimizers.AdamW()
    opt.build(net.trainable_variables)
    path = tmp_path / "finetune_state.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=r"unreadable or corrupt.*finetune_state\.npz"):
        _load_state(str(path), net, opt)
    assert path.read_bytes() == b"PK\x03\x04 truncated"


@pytest.mark.reliability("clear error")
def test_published_weights_offline_and_not_cached_is_the_librarys_message(voc, tmp_path, run_cli, assert_clean_error,
                                                                          monkeypatch):  # fmt: skip
    import urllib.error

    import keras

    from kerasnets.pretrained import cached_path, get_pretrained

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("KERASNETS_WEIGHTS_DIR", str(tmp_path / "empty_cache"))
    monkeypatch.setattr(keras.utils, "get_file", offline)
    name = "timm/resnet18.tv_in1k"
    status, _, err = run_cli(main, ["train", "--annotations", str(voc / "Annotations"), "--output", str(tmp_path / "run"),
                                    "--backbone", "resnet18", "--weights", name, "--no-cache", "--workers", "1",
                                    "--quiet"])  # fmt: skip
    assert_clean_error(status, err, names=[f"Could not download the weights {name!r}", cached_path(get_pretrained(name)),
                                           "KERASNETS_WEIGHTS_DIR"])  # fmt: skip
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "network.weights.h5").exists()


@pytest.mark.reliability("clear error")
def test_unfinished_model_folder_is_a_clear_error_for_detect(tmp_path, run_cli, assert_clean_error):
    from apps.rcnn.pipeline import prepare_run_folder

    prepare_run_folder(str(tmp_path / "run"), _config())
    (tmp_path / "x.jpg").write_bytes(b"")
    status, out, err = run_cli(main, ["detect", "--model", str(tmp_path / "run"), str(tmp_path / "x.jpg")])
    assert_clean_error(status, err, names=["network.weights.h5", "train"])


# ----------------------------------------------------------------------------- real processes


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Generated scenes (one file with a zero-area box added) and an uninterrupted tiny training."""
    from kerasnets.data.synthetic_detection import make_detection_dataset

    root = tmp_path_factory.mktemp("rcnn_kill")
    info = make_detection_dataset(root / "shapes", num_images=12, image_size=(96, 120), max_objects=2,
                                  object_size=(0.3, 0.5), test_fraction=1 / 3, seed=0)  # fmt: skip
    first = sorted(os.listdir(info.annotations_dir))[0]
    xml = os.path.join(info.annotations_dir, first)
    with open(xml) as f:
        text = f.read()
    zero = "<object><name>circle</name><bndbox><xmin>10</xmin><ymin>5</ymin><xmax>10</xmax><ymax>40</ymax></bndbox></object>"
    with open(xml, "w") as f:
        f.write(text.replace("</annotation>", zero + "</annotation>"))

    def cmd(out):
        return [sys.executable, "-m", "apps.rcnn", "train", "--annotations", info.annotations_dir, "--split",
                info.train_split, "--cache-dir", str(root / "cache"), "--workers", "1", "--output", str(out),
                "--backbone", "lenet5", "--backbone-option", "form=modern", "--input-size", "32", "--fc-width", "32",
                "--finetune-steps", "250", "--batch-positives", "8", "--batch-negatives", "24",
                "--negatives-per-image", "30", "--svm-initial-negatives", "50", "--mining-rounds", "1"]  # fmt: skip

    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(cmd(root / "straight"), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return root, cmd, env, done


def _weights(path):
    import h5py

    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _same_model(a, b):
    wa, wb = _weights(a / "network.weights.h5"), _weights(b / "network.weights.h5")
    assert wa.keys() == wb.keys() and len(wa) > 10
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)
    for name in ("weights", "biases"):
        np.testing.assert_array_equal(np.load(a / "svm.npz")[name], np.load(b / "svm.npz")[name])


def _wait_for(path, proc, timeout=300):
    t0 = time.monotonic()
    while not os.path.exists(path):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() - t0 < timeout
        time.sleep(0.05)


@pytest.mark.reliability("correct result")
def test_degenerate_box_is_skipped_and_counted_in_the_summary(tiny):
    root, cmd, env, done = tiny
    assert "warning:" in done.stderr and "skipped 1 degenerate box(es): object" in done.stderr
    assert "zero width" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["skipped_boxes"] == 1
    with open(root / "straight" / "train_summary.json") as f:
        assert json.load(f)["skipped_boxes"] == 1


@pytest.mark.reliability("nothing lost")
def test_sigkill_mid_finetuning_then_resume_gives_the_same_model(tiny, run_cli):
    root, cmd, env, _ = tiny
    run = root / "killed"
    proc = subprocess.Popen(cmd(run), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(run / "checkpoint" / "finetune_state.npz", proc)  # the first epoch (100 steps) is saved
    time.sleep(0.3)
    proc.kill()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL and not (run / "train_summary.json").exists()
    again = subprocess.run(cmd(run), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resuming fine-tuning at step 100/250" in again.stderr
    _same_model(root / "straight", run)
    assert not (run / "checkpoint").exists()  # a finished run clears its checkpoint
    # Running train again in the finished folder changes nothing and says so (in-process: the
    # refusal comes before any training, a third interpreter start would only add TensorFlow's import).
    before = (run / "network.weights.h5").stat().st_mtime_ns
    status, _, err = run_cli(main, cmd(run)[3:])
    assert status == 2 and "already holds a trained model" in err and "--overwrite" in err
    assert "Traceback" not in err and (run / "network.weights.h5").stat().st_mtime_ns == before


@pytest.mark.reliability("nothing lost")
def test_sigint_prints_one_line_exits_130_and_resumes_to_the_same_model(tiny):
    root, cmd, env, _ = tiny
    run = root / "interrupted"
    proc = subprocess.Popen(cmd(run), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(run / "checkpoint" / "finetune_state.npz", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    line = [x for x in err.splitlines() if "interrupted" in x]
    assert len(line) == 1 and "interrupted at epoch" in line[0] and "run the same command to resume" in line[0]
    again = subprocess.run(cmd(run), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    _same_model(root / "straight", run)
