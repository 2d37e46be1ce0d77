"""kerasnets.serving.versions: the atomic versioned write (no TensorFlow needed)."""

import errno
import fcntl
import os

import pytest

from kerasnets.serving import versions as V


def _write_files(tmp):
    with open(os.path.join(tmp, "saved_model.pb"), "w") as f:
        f.write("graph")


def test_versions_are_numbered_and_no_temporary_is_left(tmp_path):
    assert V.write_version(tmp_path, _write_files) == str(tmp_path / "1")
    assert V.write_version(tmp_path, _write_files) == str(tmp_path / "2")
    assert V.write_version(tmp_path, _write_files, 7) == str(tmp_path / "7")
    assert V.next_version(tmp_path) == 8
    assert sorted(os.listdir(tmp_path)) == ["1", "2", "7"]
    assert (tmp_path / "2" / "saved_model.pb").read_text() == "graph"
    assert oct((tmp_path / "1").stat().st_mode & 0o777) == "0o755"


def test_a_numeric_file_counts_as_taken(tmp_path):
    (tmp_path / "3").write_text("not a version, but not to be overwritten")
    assert V.write_version(tmp_path, _write_files) == str(tmp_path / "4")
    assert (tmp_path / "3").read_text().startswith("not a version")


def test_a_lost_rename_race_takes_the_next_version(tmp_path, monkeypatch):
    real_rename = os.rename
    calls = []

    def rival_first(src, dst):
        # Another export renames its finished folder to the same number just before us.
        if not calls:
            os.mkdir(dst)
            (open(os.path.join(dst, "saved_model.pb"), "w")).close()
        calls.append(dst)
        return real_rename(src, dst)

    monkeypatch.setattr(V.os, "rename", rival_first)
    path = V.write_version(tmp_path, _write_files)
    assert path == str(tmp_path / "2") and calls == [str(tmp_path / "1"), str(tmp_path / "2")]
    assert os.listdir(tmp_path / "1") == ["saved_model.pb"]  # the rival's version is untouched
    assert sorted(os.listdir(tmp_path)) == ["1", "2"]


def test_a_requested_version_is_never_overwritten(tmp_path, monkeypatch):
    V.write_version(tmp_path, _write_files, 1)
    with pytest.raises(V.VersionExistsError, match=r"Version 1 already exists.*Received: version=1") as info:
        V.write_version(tmp_path, _write_files, 1)
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, ValueError)
    # ... also when it appears while the export is being written
    real_rename = os.rename

    def rival(src, dst):
        os.mkdir(dst)
        open(os.path.join(dst, "x"), "w").close()
        return real_rename(src, dst)

    monkeypatch.setattr(V.os, "rename", rival)
    with pytest.raises(V.VersionExistsError, match="Version 5 already exists"):
        V.write_version(tmp_path, _write_files, 5)
    assert sorted(os.listdir(tmp_path)) == ["1", "5"] and os.listdir(tmp_path / "5") == ["x"]


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    stale = tmp_path / ".tmp-4242-dead"
    (stale / "variables").mkdir(parents=True)
    (stale / "variables" / "variables.data").write_text("half written")
    live = tmp_path / ".tmp-4343-live"
    live.mkdir()
    fd = os.open(live, os.O_RDONLY)  # a running export holds this lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        V.write_version(tmp_path, _write_files)
        assert sorted(os.listdir(tmp_path)) == [".tmp-4343-live", "1"]
    finally:
        os.close(fd)
    assert V.remove_stale_temporaries(tmp_path) == [str(live)]  # its owner is gone now
    assert sorted(os.listdir(tmp_path)) == ["1"]


def test_a_failed_write_removes_its_temporary(tmp_path):
    def broken(tmp):
        _write_files(tmp)
        raise RuntimeError("tracing failed")

    with pytest.raises(RuntimeError, match="tracing failed"):
        V.write_version(tmp_path, broken)
    assert os.listdir(tmp_path) == []


def test_disk_full_is_one_clear_error(tmp_path):
    def full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device", os.path.join(tmp, "variables"))

    with pytest.raises(V.ExportError, match=r"Writing the export into '.*variables' failed: No space left on device"):
        V.write_version(tmp_path, full)
    assert os.listdir(tmp_path) == []


def test_file_system_refusals_name_the_path(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(V.ExportError, match=r"`base_dir` is a file, not a folder.*afile"):
        V.write_version(afile, _write_files)
    with pytest.raises(V.ExportError, match=r"parent '.*afile' is a file, not a folder.*afile/sub"):
        V.write_version(afile / "sub", _write_files)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "ro"))

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(V.tempfile, "mkdtemp", refuse)
    with pytest.raises(V.ExportError, match=r"Cannot write into the export folder '.*ro': Permission denied") as info:
        V.write_version(tmp_path / "ro", _write_files)
    assert info.value.path == str(tmp_path / "ro") and info.value.errno == errno.EACCES


@pytest.mark.parametrize(
    "base, version, error, pattern",
    [
        ("", None, ValueError, r"`base_dir` must be a non-empty folder path. Received: base_dir=''"),
        (3, None, TypeError, r"`base_dir` must be a folder path. Received: base_dir=3"),
        ("ok", -1, ValueError, r"`version` must be an integer >= 0. Received: version=-1"),
        ("ok", "2", TypeError, r"Received: version='2'"),
        ("ok", True, TypeError, r"Received: version=True"),
    ],
)
def test_bad_arguments(tmp_path, base, version, error, pattern):
    base = str(tmp_path / base) if base == "ok" else base
    with pytest.raises(error, match=pattern):
        V.write_version(base, _write_files, version)
    assert os.listdir(tmp_path) == []


LIGHT_IMPORTS = r"""
import sys, types
pkg = types.ModuleType("kerasnets")          # the package's directory, without running its __init__
pkg.__path__ = [sys.argv[1]]
sys.modules["kerasnets"] = pkg
import warnings
warnings.simplefilter("ignore", DeprecationWarning)
import kerasnets.serving, kerasnets.serving.cli, kerasnets.serving.versions, kerasnets.preprocessing
import kerasnets.export
heavy = sorted(m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
sys.modules["tensorflow"] = None             # as on a machine without TensorFlow
from kerasnets.serving._deps import tensorflow
try:
    tensorflow()
except ImportError as err:
    print("ERROR=" + str(err))
"""


def test_serving_modules_import_light_and_name_tensorflow_when_absent():
    import subprocess
    import sys
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "kerasnets"
    proc = subprocess.run([sys.executable, "-c", LIGHT_IMPORTS, str(package)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert lines["HEAVY"] == ""  # neither the top package, Keras nor TensorFlow was imported
    assert "needs TensorFlow (`pip install tensorflow`)" in lines["ERROR"]


def test_the_serving_namespace_is_lazy_and_complete():
    import kerasnets.serving as S

    for name in S.__all__:
        assert getattr(S, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        S.nope
