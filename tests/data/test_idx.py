"""IDX reader/writer: round trips and every corruption the reader must refuse."""

import gzip
import os
import struct

import numpy as np
import pytest

from kerasnets.data.idx import IDXError, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    path = write_idx(tmp_path / f"a-idx3{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_header_layout_is_the_mnist_one(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((5, 28, 28), np.uint8))
    raw = open(path, "rb").read()
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">3I", raw[4:16]) == (5, 28, 28)
    assert len(raw) == 16 + 5 * 28 * 28


def test_compression_detected_from_content_not_name(tmp_path):
    plain = tmp_path / "labels.gz"  # misleading name, raw content
    write_idx(plain, np.array([1, 2, 3], np.uint8), compress=False)
    assert read_idx(plain).tolist() == [1, 2, 3]


def _images(tmp_path, name="img-idx3-ubyte", n=4, compress=False):
    return write_idx(tmp_path / name, np.full((n, 28, 28), 7, np.uint8), compress=compress)


def test_truncated_raw_file_names_the_file(tmp_path):
    path = _images(tmp_path)
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-10])
    with pytest.raises(IDXError, match=r"Truncated IDX file .*img-idx3-ubyte.*3152 bytes in all.*3142 bytes"):
        read_idx(path)


def test_overlong_file_is_refused(tmp_path):
    path = _images(tmp_path)
    with open(path, "ab") as f:
        f.write(b"\x00" * 3)
    with pytest.raises(IDXError, match="Over-long IDX file"):
        read_idx(path)


def test_truncated_gzip_names_the_file(tmp_path):
    path = _images(tmp_path, "img-idx3-ubyte.gz", n=50, compress=True)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(IDXError, match=r"Corrupt or truncated gzip file .*img-idx3-ubyte\.gz"):
        read_idx(path)


def test_corrupt_gzip_crc_is_refused(tmp_path):
    path = tmp_path / "img-idx3-ubyte.gz"
    payload = struct.pack(">HBB3I", 0, 8, 3, 2, 28, 28) + bytes(range(256)) * 6 + bytes(32)
    blob = bytearray(gzip.compress(payload))
    blob[-8] ^= 0xFF  # break the CRC32 in the trailer
    open(path, "wb").write(bytes(blob))
    with pytest.raises(IDXError, match="Corrupt or truncated gzip file"):
        read_idx(path)


def test_gzip_with_short_payload_is_truncated_idx(tmp_path):
    path = tmp_path / "img-idx3-ubyte.gz"
    payload = struct.pack(">HBB3I", 0, 8, 3, 10, 28, 28) + bytes(28 * 28)  # header says 10 images, holds 1
    open(path, "wb").write(gzip.compress(payload))
    with pytest.raises(IDXError, match=r"Truncated IDX file .*shape \(10, 28, 28\)"):
        read_idx(path)


@pytest.mark.parametrize("head", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"PK\x03\x04"])
def test_bad_magic(tmp_path, head):
    path = tmp_path / "bad"
    open(path, "wb").write(head + b"\x00" * 12)
    with pytest.raises(IDXError, match=r"Not an IDX file: .*bad.* starts with magic"):
        read_idx(path)


def test_short_header(tmp_path):
    path = tmp_path / "short"
    open(path, "wb").write(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(IDXError, match="the header needs 16 bytes, got 6"):
        read_idx(path)


def test_expected_dimensions(tmp_path):
    labels = write_idx(tmp_path / "labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(IDXError, match="has 1 dimensions .* expected 3"):
        read_idx(labels, expect_ndim=3)
    images = write_idx(tmp_path / "img-idx3-ubyte", np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(IDXError, match=r"shape \(2, 32, 32\), expected trailing dimensions \(28, 28\)"):
        read_idx(images, expect_shape=(28, 28))


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="Received: path="):
        read_idx(tmp_path / "nope")
    with pytest.raises(TypeError, match="Received: path=3"):
        read_idx(3)
    with pytest.raises(TypeError, match="dtype uint8"):
        write_idx(tmp_path / "c", np.zeros(2, np.complex64))
    with pytest.raises(ValueError, match="at least one dimension"):
        write_idx(tmp_path / "s", np.uint8(3))
    assert not os.path.exists(tmp_path / "c")


@pytest.mark.parametrize("shape", [(65536, 65536, 65536, 65536), (65536,) * 4 + (1,), (2**32 - 1, 2**32 - 1, 3)])
@pytest.mark.parametrize("payload", [0, 10])
def test_header_announcing_absurd_sizes_is_a_clear_error(tmp_path, shape, payload):
    # 2**64 elements wrapped around to 0 in numpy's int64 product: a reshape error, not a message.
    path = tmp_path / "huge-idx-ubyte"
    open(path, "wb").write(struct.pack(f">HBB{len(shape)}I", 0, 8, len(shape), *shape) + bytes(payload))
    with pytest.raises(IDXError, match=r"Corrupt IDX header in .*huge-idx-ubyte.*announces [\d,]+ elements"):
        read_idx(path)
