"""Reliability corpus: `kerasnets export` and the serving emulator against bad input, faults and kills.

Bad bases, versions, arguments and model files go through ``kerasnets.cli.main`` in-process
(each asserts exit status 2, that stderr names the offending value, and no traceback);
bad requests through ``run_rest_request``/``run_predict_request``; concurrency and kills
with real processes (two exports racing for one version number, an export killed after
1 s and one killed while writing its temporary folder).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--input-shape", "32", "32", "1", "--classes", "3", "--no-warmup"]  # lenet5, as small as it gets


def _main(argv):
    from kerasnets.cli import main

    return main(argv)


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")


def _listing(base: Path) -> list[str]:
    return sorted(os.listdir(base)) if base.is_dir() else []


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Model files, good and bad, and a file used where a folder is needed."""
    import kerasnets
    from kerasnets.training import LabelSmoothingCrossentropy

    root = tmp_path_factory.mktemp("files")
    model = kerasnets.lenet5(classes=3)
    # As apps.mnist saves its models: compiled with kerasnets' label-smoothing loss.
    model.compile(optimizer="sgd", loss=LabelSmoothingCrossentropy(0.1), metrics=["accuracy"])
    model.save(root / "mnist_like.keras")
    features = kerasnets.lenet5(include_top=False)
    features.save(root / "features.keras")
    data = (root / "mnist_like.keras").read_bytes()
    (root / "truncated.keras").write_bytes(data[: len(data) // 2])
    (root / "text.keras").write_text("not a model\n")
    (root / "folder.keras").mkdir()
    with zipfile.ZipFile(root / "other_zip.keras", "w") as z:
        z.writestr("readme.txt", "a zip, but not a Keras archive")
    (root / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    (root / "afile").write_text("a file, not a folder")
    return root


# ---------------------------------------------------------------------------- bad bases


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize(
    "out, names",
    [
        ("afile", ["afile", "is a file, not a folder"]),
        ("afile/sub", ["afile", "parent", "afile/sub"]),
        ("afile/sub/deeper", ["afile", "afile/sub/deeper"]),
        ("", ["--out", "''"]),
        ("   ", ["--out"]),
    ],
)
def test_bad_base_folders(files, run_cli, assert_clean_error, out, names):
    target = str(files / out) if out.strip() else out
    status, stdout, stderr = run_cli(_main, ["export", "lenet5", "--out", target, *SMALL])
    assert_clean_error(status, stderr, names=names)
    assert stdout == "" and (files / "afile").read_text() == "a file, not a folder"


@pytest.mark.reliability("clear error")
def test_a_system_folder_that_refuses_writes(run_cli, assert_clean_error):
    target = "/sys/kerasnets-export-test"
    try:
        os.mkdir(target)
    except OSError as err:
        reason = err.strerror
    else:  # pragma: no cover - a machine with a writable /sys
        os.rmdir(target)
        pytest.skip("/sys is writable here")
    status, _, stderr = run_cli(_main, ["export", "lenet5", "--out", target, *SMALL])
    assert_clean_error(status, stderr, names=[target, reason])


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize(
    "code, text",
    [
        (errno.EACCES, "Permission denied"),  # a read-only base (chmod; root ignores modes, so simulated)
        (errno.EPERM, "Operation not permitted"),  # an immutable folder (chattr +i)
        (errno.EROFS, "Read-only file system"),
    ],
)
def test_a_base_that_refuses_writes(tmp_path, monkeypatch, run_cli, assert_clean_error, code, text):
    import tempfile

    base = tmp_path / "served"
    base.mkdir()

    def refuse(*args, **kwargs):
        raise OSError(code, text, str(base / ".tmp-123-abc"))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    status, _, stderr = run_cli(_main, ["export", "lenet5", "--out", str(base), *SMALL])
    assert_clean_error(status, stderr, names=[str(base), text])
    assert len(stderr.strip().splitlines()) == 1 and _listing(base) == []


@pytest.mark.reliability("nothing lost")
def test_disk_full_while_writing_leaves_nothing(tmp_path, monkeypatch, run_cli, assert_clean_error):
    import keras

    def full(self, path, **kwargs):
        os.makedirs(os.path.join(path, "variables"))
        raise OSError(errno.ENOSPC, "No space left on device", os.path.join(path, "variables", "variables.data"))

    # keras.export.ExportArchive() returns a backend-specific subclass: patch that one.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", full)
    base = tmp_path / "served"
    status, _, stderr = run_cli(_main, ["export", "lenet5", "--out", str(base), *SMALL])
    assert_clean_error(status, stderr, names=["No space left on device", "variables.data", str(base)])
    assert _listing(base) == []  # neither a numeric folder nor a temporary one


# ---------------------------------------------------------------------------- bad versions


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize(
    "version, names",
    [
        ("-1", ["--version", "'-1'", ">= 0"]),
        ("abc", ["--version", "'abc'"]),
        ("1.5", ["--version", "'1.5'"]),
        ("", ["--version", "''"]),
    ],
)
def test_bad_version_values(tmp_path, run_cli, assert_clean_error, version, names):
    status, _, stderr = run_cli(_main, ["export", "lenet5", "--out", str(tmp_path), "--version", version, *SMALL])
    assert_clean_error(status, stderr, names=names)
    assert _listing(tmp_path) == []


@pytest.mark.reliability("nothing lost")
@pytest.mark.parametrize("kind", ["folder", "file"])
def test_an_existing_version_is_never_overwritten(tmp_path, run_cli, assert_clean_error, kind):
    existing = tmp_path / "4"
    if kind == "folder":
        existing.mkdir()
        (existing / "saved_model.pb").write_text("the served version")
    else:
        existing.write_text("the served version")
    status, _, stderr = run_cli(_main, ["export", "lenet5", "--out", str(tmp_path), "--version", "4", *SMALL])
    assert_clean_error(status, stderr, names=["Version 4 already exists", str(tmp_path), "version=4"])
    target = existing / "saved_model.pb" if kind == "folder" else existing
    assert target.read_text() == "the served version" and _listing(tmp_path) == ["4"]


# ---------------------------------------------------------------------------- bad arguments


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize(
    "extra, names",
    [
        (["--top-k", "0"], ["--top-k", "'0'"]),
        (["--top-k", "nan"], ["--top-k", "'nan'"]),
        (["--classes", "0"], ["--classes", "'0'"]),
        (["--input-shape", "32", "32", "-1"], ["--input-shape", "'-1'"]),
        (["--preprocessing", "imagenet"], ["--preprocessing", "'imagenet'"]),
        (["--preprocessing", "torch"], ["preprocessing='torch'", "normalises RGB images"]),
        (["--image-dtype", "int16"], ["--image-dtype", "'int16'"]),
        (["--weights", "imagenet"], ["imagenet"]),
        (["--weights", "missing.weights.h5"], ["missing.weights.h5"]),
    ],
)
def test_bad_arguments(tmp_path, run_cli, assert_clean_error, extra, names):
    argv = ["export", "lenet5", "--out", str(tmp_path / "served"), "--input-shape", "32", "32", "1", "--no-warmup"]
    status, _, stderr = run_cli(_main, argv + extra)
    assert_clean_error(status, stderr, names=names)
    assert not (tmp_path / "served").exists() or _listing(tmp_path / "served") == []


@pytest.mark.reliability("clear error")
def test_an_unknown_model_name_lists_close_matches(tmp_path, run_cli, assert_clean_error):
    status, _, stderr = run_cli(_main, ["export", "lenet55", "--out", str(tmp_path)])
    assert_clean_error(status, stderr, names=["lenet55", "lenet5"])


# ---------------------------------------------------------------------------- bad model files


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize(
    "name, extra, names",
    [
        ("missing.keras", [], ["missing.keras", "existing .keras file"]),
        ("text.keras", [], ["text.keras", "not a Keras archive"]),
        ("truncated.keras", [], ["truncated.keras", "not a Keras archive"]),
        ("folder.keras", [], ["folder.keras", "not a folder"]),
        ("other_zip.keras", [], ["other_zip.keras", "Cannot load the model file"]),
        ("model.h5", [], ["model.h5", ".keras file"]),
        ("features.keras", [], ["must be a classifier", "(None, 1, 1, 120)"]),
        ("mnist_like.keras", ["--classes", "3"], ["--classes", "mnist_like.keras", "already holds"]),
    ],
)
def test_bad_model_files(files, tmp_path, run_cli, assert_clean_error, name, extra, names):
    status, _, stderr = run_cli(_main, ["export", str(files / name), "--out", str(tmp_path / "served"), *extra])
    assert_clean_error(status, stderr, names=names)
    assert not (tmp_path / "served").exists() or _listing(tmp_path / "served") == []


@pytest.mark.reliability("correct result")
def test_a_model_saved_like_apps_mnist_exports_in_a_fresh_process(files, tmp_path):
    # A fresh process: nothing has imported kerasnets.training (the label-smoothing loss) yet.
    base = tmp_path / "mnist"
    code = "import sys; from kerasnets.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, "export", str(files / "mnist_like.keras"), "--out", str(base), "--no-warmup"],
        capture_output=True, text=True, env=_env(), timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and proc.stdout.strip() == str(base / "1")
    assert _listing(base) == ["1"]


# ---------------------------------------------------------------------------- bad requests


@pytest.fixture(scope="module")
def uint8_export(tmp_path_factory):
    import tensorflow as tf

    import kerasnets
    from kerasnets.serving import export_saved_model

    model = kerasnets.lenet5(classes=3)
    path = export_saved_model(model, tmp_path_factory.mktemp("u8"), image_dtype="uint8", top_k=2)
    return tf.saved_model.load(path)


def _pixels(value, dtype=None):
    return np.full((1, 32, 32, 1), value, dtype=dtype).tolist()


_PNG_OF_TEXT = {"b64": "bm90IGFuIGltYWdl"}  # base64 of "not an image"

BAD_BODIES = [
    ({"instances": _pixels(300)}, ["'images'", "[0, 255]", "300"]),
    ({"instances": _pixels(-1)}, ["'images'", "[0, 255]", "-1"]),
    ({"inputs": _pixels(256)}, ["'images'", "256"]),
    ({"instances": _pixels(12.5)}, ["whole numbers", "12.5"]),
    ({"instances": _pixels(float("nan"))}, ["whole numbers", "nan"]),
    ('{"instances": [', ["must be JSON"]),
    ({"instances": [], "inputs": []}, ["exactly one of", "instances", "inputs"]),
    ({"signature_name": "predict", "instances": _pixels(0)}, ["signature_name='predict'", "serving_default"]),
    ({"instances": [[[0, 1]]]}, ["must have shape", "images"]),
    ({"instances": []}, ['"instances" must be a non-empty list']),
    ({"signature_name": "serving_bytes", "instances": [{"b64": "%%%"}]}, ['"b64" value must be base64', "%%%"]),
    ({"signature_name": "serving_bytes", "instances": [_PNG_OF_TEXT]}, ["model refused the request"]),
    ({"instances": [{"images": _pixels(0)[0]}, {"pixels": _pixels(0)[0]}]}, ["instances[1]", "pixels"]),
    ({"inputs": {"image": _pixels(0)}}, ["exactly the signature's inputs", "image"]),
]


@pytest.mark.reliability("clear error")
@pytest.mark.parametrize("body, names", BAD_BODIES, ids=[f"body{i}" for i in range(len(BAD_BODIES))])
def test_bad_rest_bodies(uint8_export, body, names):
    from kerasnets.serving import run_rest_request

    with pytest.raises(ValueError) as info:
        run_rest_request(uint8_export, json.dumps(body) if not isinstance(body, str) else body)
    message = str(info.value)
    assert all(n in message for n in names), message
    assert len(message.splitlines()) == 1


@pytest.mark.reliability("clear error")
def test_a_predict_request_with_an_unknown_output_filter(uint8_export):
    from kerasnets.serving import predict_request, run_predict_request

    request = predict_request(np.zeros((1, 32, 32, 1), np.uint8), model_name="lenet5")
    request.output_filter.append("logits")
    with pytest.raises(ValueError, match=r"`output_filter` must name outputs .*Received: output_filter=\['logits'\]"):
        run_predict_request(uint8_export, request)


# ---------------------------------------------------------------------------- real processes

# Two exports that reach the rename at the same moment: each waits at its first os.rename until
# both are there (instrumenting only this test's processes), so both try the same version number.
RACE_SCRIPT = r"""
import os, sys, time, types
from kerasnets.serving import versions
marker_dir, argv = sys.argv[1], sys.argv[2:]
state = {"waited": False}

def rename(src, dst):
    if not state["waited"]:
        state["waited"] = True
        open(os.path.join(marker_dir, str(os.getpid())), "w").close()
        deadline = time.time() + 240
        while len(os.listdir(marker_dir)) < 2 and time.time() < deadline:
            time.sleep(0.02)
        print("RENAME_TRIED=" + os.path.basename(dst), file=sys.stderr)
    return os.rename(src, dst)

versions.os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
versions.os.rename = rename
from kerasnets.cli import main
sys.exit(main(argv))
"""


@pytest.mark.reliability("nothing lost")
def test_two_concurrent_exports_get_distinct_versions(tmp_path):
    base, markers = tmp_path / "served", tmp_path / "markers"
    markers.mkdir()
    argv = ["export", "lenet5", "--out", str(base), *SMALL]
    procs = [
        subprocess.Popen([sys.executable, "-c", RACE_SCRIPT, str(markers), *argv],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        for _ in range(2)
    ]
    results = [p.communicate(timeout=400) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    tried = [line.split("=")[1] for _, err in results for line in err.splitlines() if line.startswith("RENAME_TRIED=")]
    assert tried == ["1", "1"]  # both really raced for version 1
    assert sorted(out.strip() for out, _ in results) == [str(base / "1"), str(base / "2")]
    assert _listing(base) == ["1", "2"]
    for version in ("1", "2"):
        assert (base / version / "saved_model.pb").is_file()


def _start_export(base: Path) -> subprocess.Popen:
    code = "import sys; from kerasnets.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, "export", "lenet5", "--out", str(base), *SMALL],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.reliability("nothing lost")
@pytest.mark.parametrize("when", ["after 1 s", "while writing"])
def test_a_killed_export_leaves_no_version_and_its_temporary_is_cleaned(tmp_path, run_cli, when):
    base = tmp_path / "served"
    proc = _start_export(base)
    try:
        if when == "after 1 s":
            time.sleep(1.0)
        else:
            deadline = time.time() + 300
            while not any(n.startswith(".tmp-") for n in _listing(base)) and time.time() < deadline:
                assert proc.poll() is None, "the export ended before it could be killed"
                time.sleep(0.01)
    finally:
        _kill(proc)
    left = _listing(base)
    assert not [n for n in left if n.isdigit()]  # no (half-written) version
    if when == "while writing":
        assert len(left) == 1 and left[0].startswith(".tmp-")
    # The next export to the same base removes the dead export's temporary folder.
    status, stdout, stderr = run_cli(_main, ["export", "lenet5", "--out", str(base), *SMALL])
    assert status == 0, stderr
    assert stdout.strip() == str(base / "1") and _listing(base) == ["1"]
