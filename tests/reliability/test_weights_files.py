"""Bad weights files: every one is refused with the right exception type and a message naming it.

Through `kerasnets.load_weights(model, path)` and through a builder's `weights=` argument. A file
full of NaN (or holding one inf) is refused at load time, naming the first bad variable; truncated,
empty and non-HDF5 files are reported as such; a file for another model names the first layer.
"""

from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest

import kerasnets

pytestmark = pytest.mark.reliability("clear error")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One good LeNet-5 weights file and its damaged variants, by case name."""
    folder = tmp_path_factory.mktemp("weights")
    good = folder / "good.weights.h5"
    kerasnets.lenet5().save_weights(good)
    data = good.read_bytes()
    paths = {"good": good}

    def write(name, content):
        path = folder / f"{name}.weights.h5"
        path.write_bytes(content)
        paths[name] = path

    write("empty", b"")
    write("truncated_half", data[: len(data) // 2])
    write("truncated_header", data[:100])
    write("truncated_last_byte", data[:-1])
    write("not_hdf5_text", b"this is not a weights file\n" * 20)
    write("hdf5_signature_then_zeros", b"\x89HDF\r\n\x1a\n" + bytes(40))
    write("not_hdf5_zip", b"PK\x03\x04" + bytes(500))  # e.g. a .keras archive renamed

    def damaged(name, edit):
        path = folder / f"{name}.weights.h5"
        shutil.copyfile(good, path)
        with h5py.File(path, "r+") as handle:
            edit(handle)
        paths[name] = path

    def set_value(key, value, where=None):
        def edit(handle):
            array = handle[key][()]
            if where is None:
                array[...] = value
            else:
                array.flat[where] = value
            handle[key][...] = array
        return edit

    def all_nan(handle):
        handle.visititems(lambda n, o: o.__setitem__(Ellipsis, np.nan) if isinstance(o, h5py.Dataset) else None)

    damaged("all_nan", all_nan)
    damaged("one_nan_in_c3", set_value("layers/conv2d_1/vars/0", np.nan, where=7))
    damaged("inf_in_head_bias", set_value("layers/dense_1/vars/1", np.inf, where=0))
    damaged("minus_inf", set_value("layers/dense/vars/0", -np.inf, where=3))
    damaged("no_layers_group", lambda handle: handle.__delitem__("layers"))
    damaged("missing_layer", lambda handle: handle.__delitem__("layers/dense_1"))

    other = folder / "nin.weights.h5"
    kerasnets.nin_cifar().save_weights(other)
    paths["other_model"] = other
    rgb = folder / "rgb.weights.h5"
    kerasnets.lenet5(input_shape=(32, 32, 3)).save_weights(rgb)
    paths["rgb_channels"] = rgb
    classes = folder / "classes5.weights.h5"
    kerasnets.lenet5(classes=5).save_weights(classes)
    paths["other_classes"] = classes
    paths["folder"] = folder
    paths["missing"] = folder / "nope.weights.h5"
    return paths


# case -> (exception type, regex the message must match)
CASES = {
    "missing": (FileNotFoundError, r"must name an existing file"),
    "folder": (IsADirectoryError, r"not a folder"),
    "empty": (ValueError, r"file is empty \(0 bytes\)"),
    "truncated_half": (ValueError, r"truncated: it has [\d,]+ of the [\d,]+ bytes"),
    "truncated_header": (ValueError, r"truncated|not HDF5|corrupt"),
    "truncated_last_byte": (ValueError, r"truncated: it has [\d,]+ of the [\d,]+ bytes"),
    "not_hdf5_text": (ValueError, r"not HDF5 \(it starts with b'this is "),
    "not_hdf5_zip": (ValueError, r"not HDF5 \(it starts with b'PK"),
    "all_nan": (ValueError, r"non-finite values: variable 'c1/kernel' of layer 'c1' \(Conv2D, 'layers/conv2d/vars/0'\) has 150 NaN of its 150 values"),
    "one_nan_in_c3": (ValueError, r"variable 'c3/kernel' of layer 'c3' .* has 1 NaN of its 2,400 values"),
    "hdf5_signature_then_zeros": (ValueError, r"file is corrupt: it is HDF5 but could not be opened"),
    "inf_in_head_bias": (ValueError, r"variable 'predictions/bias' of layer 'predictions' .* has 1 infinite of its 10 values"),
    "minus_inf": (ValueError, r"variable 'f6/kernel' .* has 1 infinite"),
    "no_layers_group": (ValueError, r"no 'layers' group"),
    "missing_layer": (ValueError, r"first mismatching layer is 'predictions' \(Dense\), which the file lacks"),
    "other_model": (ValueError, r"does not fit model 'lenet5': its first mismatching layer is 'c1'"),
    "rgb_channels": (ValueError, r"saved for 3-channel inputs but model 'lenet5' takes 1 channels"),
    "other_classes": (ValueError, r"first mismatching layer is 'predictions' \(Dense\).*\(84, 5\)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_weights_refuses(files, case):
    error, pattern = CASES[case]
    path = files[case]
    model = kerasnets.lenet5()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(error, match=pattern) as info:
        kerasnets.load_weights(model, str(path))
    assert f"Received: weights={str(path)!r}" in str(info.value)  # names the file
    for old, new in zip(before, model.get_weights()):  # nothing half-loaded
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("case", ["all_nan", "truncated_half", "not_hdf5_text", "other_model", "empty", "inf_in_head_bias"])
def test_builder_weights_argument_refuses(files, case):
    error, pattern = CASES[case]
    with pytest.raises(error, match=pattern) as info:
        kerasnets.lenet5(weights=str(files[case]))
    assert str(files[case]) in str(info.value)


@pytest.mark.parametrize("case", ["folder", "missing"])
def test_builder_weights_argument_refuses_paths(files, case):
    with pytest.raises((ValueError, OSError)) as info:
        kerasnets.lenet5(weights=str(files[case]))
    assert str(files[case]) in str(info.value)


@pytest.mark.parametrize("value", [3, None, ["a.weights.h5"]])
def test_load_weights_rejects_non_paths(value):
    with pytest.raises(TypeError, match=r"must be a file path. Received: weights="):
        kerasnets.load_weights(kerasnets.lenet5(), value)


@pytest.mark.reliability("correct result")
def test_good_file_and_pathlike_load(files):
    model = kerasnets.lenet5()
    kerasnets.load_weights(model, files["good"])  # a pathlib.Path works too
    reference = kerasnets.lenet5(weights=str(files["good"]))
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert os.path.getsize(files["good"]) > 0
