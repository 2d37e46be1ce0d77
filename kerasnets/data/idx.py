"""Reader and writer for the IDX file format of MNIST and Fashion-MNIST.

The format (LeCun et al., "The MNIST database of handwritten digits") is a
4-byte magic number ``0x0000TTDD`` (``TT`` the element type, ``DD`` the number
of dimensions), then ``DD`` big-endian uint32 sizes, then the elements in
C order, big-endian. Files may be gzip-compressed (``.gz``).

`read_idx` checks everything it can before returning an array: the
magic number, the element type, the dimension sizes, and that the payload has
exactly the bytes the header announces. A truncated, padded or corrupt file
(compressed or raw) raises `IDXError` naming the file, never a silent
short read.

Examples:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> write_idx(path, np.arange(10, dtype=np.uint8))
    >>> read_idx(path).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

__all__ = ["IDXError", "read_idx", "write_idx", "IDX_DTYPES"]

# IDX type code -> numpy dtype (big-endian, as stored on disk).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
# A generous bound on the element count (2**33 = 8 GiB of uint8): a header
# announcing more is corrupt rather than a real dataset.
_MAX_ELEMENTS = 1 << 33


class IDXError(ValueError):
    """An IDX file is malformed, truncated or of the wrong kind."""


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    if head == _GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (EOFError, OSError, zlib.error) as exc:
            # gzip raises EOFError for a truncated stream and BadGzipFile/zlib.error
            # for corrupt data or a failed CRC check.
            raise IDXError(f"Corrupt or truncated gzip file {path!r}: {exc}. Received: path={path!r}") from exc
    with open(path, "rb") as f:
        return f.read()


def read_idx(path, *, expect_ndim: int | None = None, expect_shape: tuple | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a numpy array.

    Reference: Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of
    handwritten digits" (file format section).

    Args:
        path: the file; compression is detected from its content, not its name.
        expect_ndim: if given, the number of dimensions the file must have
            (3 for image files, 1 for label files).
        expect_shape: if given, the trailing dimensions the file must have,
            e.g. ``(28, 28)`` for MNIST images; ``None`` entries match any size.

    Returns:
        A native-byte-order numpy array with the dimensions from the header
        (``uint8`` for MNIST).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        IDXError: bad magic number, unknown type code, unexpected dimensions,
            or a payload that is shorter or longer than the header announces
            (truncated or padded file), or a corrupt gzip stream. The message
            names the file.

    Examples:
        >>> images = read_idx("t10k-images-idx3-ubyte.gz", expect_ndim=3)  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (10000, 28, 28)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` must name an existing IDX file. Received: path={path!r}")
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXError(f"Truncated IDX file {path!r}: {len(data)} bytes, no complete header. Received: path={path!r}")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise IDXError(
            f"Not an IDX file: {path!r} starts with magic 0x{data[:4].hex()}, expected 0x0000TTDD with "
            f"type TT in {{{', '.join(f'{c:02x}' for c in IDX_DTYPES)}}} and DD >= 1 dimensions. "
            f"Received: path={path!r}"
        )
    if expect_ndim is not None and ndim != expect_ndim:
        raise IDXError(
            f"IDX file {path!r} has {ndim} dimensions (magic 0x{data[:4].hex()}), expected {expect_ndim}. "
            f"Received: path={path!r}"
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IDXError(f"Truncated IDX file {path!r}: the header needs {header_len} bytes, got {len(data)}. Received: path={path!r}")
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    if expect_shape is not None:
        tail = tuple(shape[len(shape) - len(expect_shape):])
        if len(shape) < len(expect_shape) or any(e is not None and e != s for e, s in zip(expect_shape, tail)):
            raise IDXError(
                f"IDX file {path!r} has shape {shape}, expected trailing dimensions {tuple(expect_shape)}. "
                f"Received: path={path!r}"
            )
    dtype = IDX_DTYPES[code]
    # Python integers: numpy's int64 product wraps around (a 2**64-element header gives 0).
    count = math.prod(shape)
    expected = header_len + count * dtype.itemsize
    if count > _MAX_ELEMENTS:
        raise IDXError(
            f"Corrupt IDX header in {path!r}: shape {shape} announces {count:,} elements ({expected:,} bytes in "
            f"all), more than the {_MAX_ELEMENTS:,} this reader accepts; the file has {len(data):,} bytes. "
            f"Received: path={path!r}"
        )
    if len(data) != expected:
        what = "Truncated" if len(data) < expected else "Over-long"
        raise IDXError(
            f"{what} IDX file {path!r}: header says shape {shape} ({expected} bytes in all), "
            f"file has {len(data)} bytes. Received: path={path!r}"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array, *, compress: bool | None = None) -> str:
    """Write a numpy array as an IDX file (gzip-compressed if the name ends in ``.gz``).

    Args:
        path: destination file.
        array: array of dtype uint8, int8, int16, int32, float32 or float64,
            with at least one dimension.
        compress: force gzip on/off; by default compress iff ``path`` ends in ``.gz``.

    Returns:
        The path written.

    Raises:
        TypeError: for an unsupported dtype.
        ValueError: for a 0-d array.
    """
    array = np.asarray(array)
    code = _CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(
            "`array` must have dtype uint8, int8, int16, int32, float32 or float64. "
            f"Received: array.dtype={array.dtype}"
        )
    if array.ndim == 0:
        raise ValueError(f"`array` must have at least one dimension. Received: array.shape={array.shape}")
    path = os.fspath(path)
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        with open(path, "wb") as f:
            f.write(payload)
    return path
