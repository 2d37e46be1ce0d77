"""Reliability corpus, captioning: bad flags, bad caption files, run folders, kill/interrupt and resume.

Flag and file cases call ``apps.captioning.cli.main(argv)`` in-process and stop before any
model is built; the fault cases (SIGKILL, SIGINT) run real training processes on a tiny
synthetic data set.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from apps.captioning.cli import BLEU_SMOOTHING, main

ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# The smallest real training: 40 generated scenes, a LeNet-5 encoder (frozen, features not
# cached), a 16-unit GRU with attention, dropout on (its seed state must be restored too).
TINY = ["train", "--data", "synthetic", "--scenes", "40", "--split", "30,5,5", "--backbone", "lenet5",
        "--image-size", "40", "--units", "16", "--embed-dim", "8", "--attention-units", "8",
        "--max-length", "8", "--batch-size", "8", "--dropout", "0.3", "--cache-dir", "none", "--quiet"]


def _train(out, *extra):
    return ["train", "--out", str(out), *extra]


# ------------------------------------------------------------------ flags
FLAG_CASES = [
    (["--epochs", "0"], ["--epochs", "'0'"]),
    (["--epochs", "-3"], ["--epochs", "'-3'"]),
    (["--epochs", "ten"], ["--epochs", "'ten'"]),
    (["--batch-size", "0"], ["--batch-size", "'0'"]),
    (["--lr", "inf"], ["--lr", "'inf'"]),
    (["--lr", "nan"], ["--lr", "'nan'"]),
    (["--lr", "0"], ["--lr", "'0'"]),
    (["--clipnorm", "nan"], ["--clipnorm", "'nan'"]),
    (["--clipnorm", "-1"], ["--clipnorm", "'-1'"]),
    (["--dropout", "1.5"], ["--dropout", "'1.5'"]),
    (["--dropout", "1"], ["--dropout", "1"]),
    (["--units", "0"], ["--units", "'0'"]),
    (["--image-size", "-1"], ["--image-size", "'-1'"]),
    (["--vocab-size", "x"], ["--vocab-size", "'x'"]),
    (["--max-length", "0"], ["--max-length", "'0'"]),
    (["--seed", "-1"], ["--seed", "'-1'"]),
    (["--patience", "-2"], ["--patience", "'-2'"]),
    (["--scenes", "0"], ["--scenes", "'0'"]),
    (["--cell", "rnn"], ["--cell", "'rnn'"]),
    (["--use-cudnn", "yes"], ["--use-cudnn", "'yes'"]),
    (["--jit-compile", "maybe"], ["--jit-compile", "'maybe'"]),
    (["--preprocess", "tf"], ["--preprocess", "'tf'"]),
    (["--backbone-option", "batch_norm"], ["--backbone-option", "'batch_norm'"]),
    (["--encoder-lr", "1e-4"], ["--encoder-lr", "--train-encoder"]),
    (["--train-encoder", "--encoder-lr", "inf"], ["--encoder-lr", "'inf'"]),
    (["--split", "1,2"], ["--split", "'1,2'"]),
    (["--split", "a,b,c"], ["--split", "'a,b,c'"]),
    (["--split", "50,50,50", "--scenes", "40"], ["--split"]),
    (["--jit-compile", "on", "--no-attention", "--use-cudnn", "on"], ["--jit-compile", "--use-cudnn"]),
    (["--group-captions", "--train-encoder"], ["--group-captions", "--train-encoder"]),
]


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("flags,names", FLAG_CASES, ids=[" ".join(f) for f, _ in FLAG_CASES])
def test_train_flag_errors(tmp_path, run_cli, assert_clean_error, flags, names):
    out = tmp_path / "run"
    status, _, err = run_cli(main, _train(out, *flags))
    assert_clean_error(status, err, names=names)
    assert not out.exists()  # rejected before the run folder is made


OTHER_CASES = [
    (["evaluate", "--model", "{missing}"], ["--model", "missing"]),
    (["evaluate", "--model", "{fake}", "--bleu-smoothing", "method6"], ["--bleu-smoothing", "'method6'"]),
    (["evaluate", "--model", "{fake}", "--bleu-smoothing", "method9"], ["--bleu-smoothing", "'method9'"]),
    (["evaluate", "--model", "{fake}", "--beam", "0"], ["--beam", "'0'"]),
    (["evaluate", "--model", "{fake}", "--length-penalty", "nan"], ["--length-penalty", "'nan'"]),
    (["evaluate", "--model", "{fake}", "--num-plots", "-1"], ["--num-plots", "'-1'"]),
    (["evaluate", "--model", "{fake}", "--data", "{missing}"], ["--data", "missing"]),
    (["evaluate", "--model", "{fake}", "--json", "{tmp}"], ["--json"]),
    (["evaluate", "--model", "{unfinished}"], ["--model", "unfinished training run"]),
    (["caption", "--model", "{missing}", "x.jpg"], ["--model", "missing"]),
    (["caption", "--model", "{fake}", "{missing}.jpg"], ["images", "missing.jpg"]),
    (["caption", "--model", "{fake}", "x.jpg", "--beam", "-1"], ["--beam", "'-1'"]),
    (["export", "--model", "{fake}", "--out", "{tmp}/serving", "--version", "0"], ["--version", "'0'"]),
    (["export", "--model", "{notrun}", "--out", "{tmp}/serving"], ["--model", "not a folder written by train"]),
    (["export", "--model", "{fake}", "--out", "{file}"], ["--out", "is a file"]),
    ([], ["required", "train"]),
    (["fit"], ["'fit'"]),
]


def _fake_model(folder: Path) -> Path:
    folder.mkdir()
    for name in ("config.json", "vocab.txt", "encoder.weights.h5", "decoder.weights.h5"):
        (folder / name).write_text("")
    return folder


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("argv,names", OTHER_CASES, ids=[" ".join(a) or "(no command)" for a, _ in OTHER_CASES])
def test_other_command_errors(tmp_path, run_cli, assert_clean_error, argv, names):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "run.json").write_text(json.dumps({"status": "running", "settings": {}}))
    notrun = tmp_path / "notrun"
    notrun.mkdir()
    (tmp_path / "file").write_text("x")
    values = {"missing": str(tmp_path / "missing"), "fake": str(_fake_model(tmp_path / "fake")),
              "unfinished": str(unfinished), "notrun": str(notrun), "tmp": str(tmp_path), "file": str(tmp_path / "file")}
    status, _, err = run_cli(main, [a.format(**values) for a in argv])
    assert_clean_error(status, err, names=[n.format(**values) for n in names])


def test_bleu_smoothing_choices_are_the_accepted_ones():
    from apps.captioning.metrics import _SMOOTHING, corpus_bleu_scores

    assert set(BLEU_SMOOTHING) == set(_SMOOTHING) - {None}
    for method in BLEU_SMOOTHING:  # every offered choice really works
        assert 0 <= corpus_bleu_scores([["a red circle"]], ["a red square"], smoothing=method)["bleu4"] <= 1


# ------------------------------------------------------------------ output paths, before any training
@pytest.mark.reliability("nothing lost")
@pytest.mark.parametrize("kind", ["file", "empty", "file parent"] + ([] if IS_ROOT else ["read-only parent"]))
def test_unusable_out_is_rejected_before_training(tmp_path, run_cli, assert_clean_error, kind):
    (tmp_path / "f").write_text("keep me")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    out = {"file": tmp_path / "f", "empty": "", "file parent": tmp_path / "f" / "run",
           "read-only parent": ro / "run"}[kind]
    start = time.perf_counter()
    status, stdout, err = run_cli(main, TINY + ["--epochs", "1", "--out", str(out)])
    assert_clean_error(status, err, names=["--out"])
    assert time.perf_counter() - start < 10 and "saved" not in stdout  # nothing was trained
    assert (tmp_path / "f").read_text() == "keep me"


# ------------------------------------------------------------------ caption files
CAPTION_FILES = [
    ("unquoted comma", "captions.txt", "image,caption\na.jpg,Two dogs .\na.jpg,A dog, a cat .\n",
     ["captions.txt:3", "quoted"]),
    ("no header", "captions.csv", "a.jpg,A dog .\n", ["captions.csv"]),
    ("bad header", "captions.csv", "file,text\na.jpg,A dog .\n", ["'image' and 'caption'"]),
    ("unknown format", "captions.txt", "file,text\na.jpg,A dog .\n", ["Cannot tell the caption file format", "--format"]),
    ("empty caption", "captions.txt", "image,caption\na.jpg,A dog .\nb.jpg,  \n", ["captions.txt:3", "b.jpg"]),
    ("short row", "captions.txt", "image,caption\na.jpg\n", ["captions.txt:2"]),
    ("token file without tab", "tokens.txt", "a.jpg#0\tA dog .\na.jpg#1 A cat .\n", ["tokens.txt:2", "no tab"]),
    ("token file bad index", "tokens.txt", "a.jpg#0\tA dog .\na.jpg#x\tA cat .\n", ["tokens.txt:2"]),
    ("coco invalid json", "captions.json", '{"images": [', ["captions.json"]),
    ("coco unknown image id", "captions.json",
     json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 7, "caption": "x"}]}),
     ["image_id=7"]),
    ("empty file", "captions.txt", "", ["captions.txt"]),
    ("missing image", "captions.txt", "image,caption\na.jpg,A dog .\nzz.jpg,A cat .\n", ["zz.jpg"]),
]


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("name,filename,text,names", CAPTION_FILES, ids=[c[0] for c in CAPTION_FILES])
def test_bad_caption_files(tmp_path, run_cli, assert_clean_error, name, filename, text, names):
    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "images" / "a.jpg")
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    fmt = ["--format", "csv"] if filename.endswith(".csv") else []
    status, _, err = run_cli(main, _train(tmp_path / "run", "--data", str(path), *fmt))
    assert_clean_error(status, err, names=["--data", *names])
    assert not (tmp_path / "run").exists()


@pytest.mark.reliability("clear error")
def test_non_utf8_caption_file(tmp_path, run_cli, assert_clean_error):
    path = tmp_path / "captions.txt"
    path.write_bytes(b"image,caption\na.jpg,caf\xe9\n")
    status, _, err = run_cli(main, _train(tmp_path / "run", "--data", str(path), "--images", str(tmp_path)))
    assert_clean_error(status, err, names=["--data", "UTF-8"])


@pytest.mark.reliability("correct result")
@pytest.mark.parametrize("text", ["image,caption\na.jpg,Un CAFÉ .\n", "a.jpg#0\tUn CAFÉ .\n"], ids=["csv", "tokens"])
def test_caption_file_with_bom_is_read(tmp_path, text):
    from kerasnets.data.captions import load_captions

    path = tmp_path / "captions.txt"
    path.write_bytes(text.encode("utf-8-sig"))
    assert load_captions(str(path)).captions == {"a.jpg": ["Un CAFÉ ."]}


@pytest.mark.reliability("correct result")
def test_quoted_comma_keeps_the_whole_caption(tmp_path):
    from kerasnets.data.captions import read_caption_csv

    path = tmp_path / "captions.txt"
    path.write_text('image,caption\na.jpg,"A dog, a cat, a bird ."\n', encoding="utf-8")
    assert read_caption_csv(str(path)).captions["a.jpg"] == ["A dog, a cat, a bird ."]


# ------------------------------------------------------------------ run folders
def _run_json(folder: Path, status: str, **settings):
    folder.mkdir(exist_ok=True)
    (folder / "run.json").write_text(json.dumps({"status": status, "settings": settings}))


@pytest.mark.reliability("nothing lost")
def test_finished_run_is_not_retrained_without_overwrite(tmp_path, run_cli, assert_clean_error):
    run = _fake_model(tmp_path / "run")
    _run_json(run, "finished")
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    status, _, err = run_cli(main, TINY + ["--epochs", "1", "--out", str(run)])
    assert_clean_error(status, err, names=["finished run", "--overwrite", str(run)])
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir() if p.name != ".lock"} == {
        k: v for k, v in before.items()}


@pytest.mark.reliability("nothing lost")
def test_resume_with_other_settings_lists_each_difference(tmp_path, run_cli, assert_clean_error):
    from apps.captioning.cli import _settings, build_parser

    run = tmp_path / "run"
    argv = TINY + ["--epochs", "5", "--out", str(run)]
    saved = _settings(build_parser().parse_args(argv))
    _run_json(run, "running", **saved)
    changed = [a if a != "16" else "32" for a in TINY] + ["--epochs", "3", "--lr", "0.01", "--out", str(run)]
    status, _, err = run_cli(main, changed)
    assert_clean_error(status, err, names=["--epochs 5 -> 3", "--lr 0.001 -> 0.01", "--units 16 -> 32", "--overwrite"])
    assert json.loads((run / "run.json").read_text())["settings"] == json.loads(json.dumps(saved))  # kept


@pytest.mark.parametrize(
    "file_name, text, message",
    [pytest.param("holiday.jpg", "x", "not a captioning run", marks=pytest.mark.reliability("nothing lost"),
                  id="other-files"),
     pytest.param("run.json", "{not json", "run.json", marks=pytest.mark.reliability("clear error"),
                  id="unreadable-run-json")],
)  # fmt: skip
def test_folder_that_is_not_a_readable_run_is_refused_and_kept(tmp_path, run_cli, assert_clean_error, file_name,
                                                               text, message):  # fmt: skip
    run = tmp_path / "photos"
    run.mkdir()
    (run / file_name).write_text(text)
    status, _, err = run_cli(main, TINY + ["--epochs", "1", "--out", str(run)])
    assert_clean_error(status, err, names=[message, str(run)])
    assert sorted(p.name for p in run.iterdir()) == [file_name] and (run / file_name).read_text() == text


@pytest.mark.reliability("clear error")
def test_second_training_in_the_same_folder_is_refused(tmp_path, run_cli, assert_clean_error):
    run = tmp_path / "run"
    run.mkdir()
    fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242")
    try:
        status, _, err = run_cli(main, TINY + ["--epochs", "1", "--out", str(run)])
    finally:
        os.close(fd)
    assert_clean_error(status, err, names=["another training is running", "4242"])


def _tiny_model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dropout(0.5),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    return model


@pytest.mark.reliability("nothing lost")
def test_corrupt_newest_checkpoint_falls_back_and_keeps_both(tmp_path, capsys):
    from apps.captioning.run import RunFolder

    folder = RunFolder(tmp_path / "run")
    model = _tiny_model()
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    model.fit(x, y, epochs=1, verbose=0)
    folder.save_checkpoint(model, 1, {"history": {}})
    epoch1 = [np.array(v) for v in model.get_weights()]
    model.fit(x, y, epochs=1, verbose=0)
    folder.save_checkpoint(model, 2, {"history": {}})
    newest = tmp_path / "run" / "checkpoint" / "epoch-2" / "state.npz"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    fresh = _tiny_model()
    meta = folder.restore_checkpoint(fresh)
    assert meta["epoch"] == 1
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), epoch1))
    assert "epoch-2" in capsys.readouterr().err
    assert newest.exists() and (tmp_path / "run" / "checkpoint" / "epoch-1" / "state.npz").exists()


@pytest.mark.reliability("clear error")
def test_checkpoint_of_another_architecture_is_an_error(tmp_path):
    import keras

    from apps.captioning.run import RunFolder, RunFolderError

    folder = RunFolder(tmp_path / "run")
    folder.save_checkpoint(_tiny_model(), 1, {"history": {}})
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(7)])
    other.compile("adam", "mse")
    with pytest.raises(RunFolderError, match="does not match the model"):
        folder.restore_checkpoint(other)


# ------------------------------------------------------------------ real processes: kill, interrupt, resume
def _spawn(argv, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-m", "apps.captioning", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _wait_for(path: Path, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"training ended before {path} appeared:\n{proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.1)


def _weights(path: Path) -> dict:
    import h5py

    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.mark.reliability("nothing lost")
def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path, run_cli):
    argv = TINY + ["--epochs", "3"]
    killed = tmp_path / "killed"
    proc = _spawn(argv + ["--out", str(killed)])
    _wait_for(killed / "checkpoint" / "epoch-1" / "state.json", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    status, _, err = run_cli(main, argv + ["--out", str(killed)])  # the same command, run again
    assert status == 0, err
    assert "resuming" in err
    status, _, err = run_cli(main, argv + ["--out", str(tmp_path / "straight")])
    assert status == 0, err
    a, b = _weights(killed / "decoder.weights.h5"), _weights(tmp_path / "straight" / "decoder.weights.h5")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert not (killed / "checkpoint").exists()
    assert json.loads((killed / "run.json").read_text())["status"] == "finished"
    history = json.loads((killed / "config.json").read_text())["notes"]["history"]
    assert len(history["loss"]) == 3  # the epochs before the kill are kept in the history


@pytest.mark.reliability("nothing lost")
def test_sigint_prints_one_line_exits_130_and_keeps_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    proc = _spawn(TINY + ["--epochs", "200", "--out", str(run)])
    _wait_for(run / "checkpoint" / "epoch-1" / "state.json", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted at epoch" in err and "run the same command to resume" in err
    assert len([line for line in err.splitlines() if "interrupted" in line]) == 1
    assert any((run / "checkpoint").glob("epoch-*/state.npz"))
