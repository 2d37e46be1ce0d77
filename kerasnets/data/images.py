"""One image loader for kerasnets and its apps: a file in, an ``(h, w, 3)`` uint8 RGB array out.

- Decoding is OpenCV's (``cv2.imdecode``; it applies the EXIF orientation, so a photo comes
  out as it is displayed, the size the VOC ``<size>`` check of `kerasnets.data.voc` expects).
  Where OpenCV is not installed, or cannot decode a format, Pillow decodes it (with the EXIF
  orientation applied too). On the 1,200 JPEGs of the Flickr8k-1k and raccoon sets both give
  the same pixels (both are libjpeg-turbo), and OpenCV decodes them in about half the time.
- Grey, palette and 16-bit images become 8-bit RGB; an alpha channel is dropped.
- ``size=``: resized to exactly that size with Pillow's bilinear filter, which widens with
  the scale factor (anti-aliased when shrinking). The captioner is trained and its feature
  cache is keyed on these pixels; OpenCV's ``INTER_LINEAR`` / ``INTER_AREA`` differ from it by
  about 1.3 grey levels on average at 224 x 224.
- ``max_side=``: shrunk (aspect kept, OpenCV ``INTER_AREA``) so the longer side is at most
  ``max_side``: the working scale of R-CNN's proposals. `shrink_to_max_side` also returns the
  factor, to map boxes back.
- A missing file is a ``FileNotFoundError``, a file that is not a readable image (empty,
  truncated, corrupt, another format) an `ImageFileError`; both messages name the path.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "grey.png")
    >>> Image.fromarray(np.full((30, 40), 7, np.uint8)).save(path)
    >>> load_image(path).shape, load_image(path, size=16).shape, load_image(path, max_side=20).shape
    ((30, 40, 3), (16, 16, 3), (15, 20, 3))
"""

from __future__ import annotations

import io
import os

import numpy as np

__all__ = ["ImageFileError", "load_image", "resize_image", "shrink_to_max_side"]

_KINDS = "JPEG, PNG, BMP, GIF, TIFF, WebP, ..."


class ImageFileError(ValueError):
    """A file that is not a readable image (the message names it)."""


def load_image(path: str | os.PathLike, *, size: int | tuple | None = None, max_side: int | None = None) -> np.ndarray:
    """Read an image file as an ``(h, w, 3)`` uint8 RGB array, EXIF orientation applied.

    Args:
        path: the image file.
        size: resize to this ``side`` or ``(height, width)`` (see `resize_image`).
        max_side: shrink so that the longer side is at most this (see `shrink_to_max_side`).

    Returns:
        The RGB array.

    Raises:
        FileNotFoundError: ``path`` does not exist or is a folder.
        ImageFileError: the file is empty, truncated, corrupt or not an image.
        ValueError: both ``size`` and ``max_side`` given.
    """
    if size is not None and max_side is not None:
        raise ValueError(f"Give `size` or `max_side`, not both. Received: size={size!r}, max_side={max_side!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        what = "an image file, not a folder" if os.path.isdir(path) else "an existing image file"
        raise FileNotFoundError(f"`path` must name {what}. Received: path={path!r}")
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ImageFileError(f"`path` must be a readable image file ({_KINDS}); the file is empty. Received: path={path!r}")
    image = _decode_opencv(data)
    if image is None:
        image = _decode_pillow(data, path)
    if size is not None:
        return resize_image(image, size)
    if max_side is not None:
        return shrink_to_max_side(image, max_side)[0]
    return image


def resize_image(image: np.ndarray, size: int | tuple) -> np.ndarray:
    """``image`` (uint8 ``(h, w, 3)``) resized to ``size`` (a side or ``(height, width)``).

    Pillow's bilinear filter, whose support widens with the scale factor: shrinking is
    anti-aliased (the pixels the captioner is trained on; see the module notes).
    """
    from PIL import Image

    height, width = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def shrink_to_max_side(image: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """``(image, scale)``: ``image`` shrunk (OpenCV ``INTER_AREA``) so its longer side is at most ``max_side``.

    ``scale`` is the factor applied to the coordinates (1.0 when the image is not larger
    than ``max_side``, or ``max_side`` is None): divide boxes found in the result by it.
    """
    longer = max(image.shape[:2])
    if max_side is None or longer <= max_side:
        return image, 1.0
    import cv2

    scale = max_side / longer
    width, height = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), scale


def _decode_opencv(data: bytes) -> np.ndarray | None:
    """RGB pixels, or None where OpenCV is missing or cannot decode ``data``."""
    try:
        import cv2
    except ImportError:
        return None
    buffer = np.frombuffer(data, np.uint8)
    if hasattr(cv2, "IMREAD_COLOR_RGB"):  # OpenCV >= 4.10 decodes straight to RGB (half the time of a flip)
        return cv2.imdecode(buffer, cv2.IMREAD_COLOR_RGB)  # applies the EXIF orientation
    bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[..., ::-1])


def _decode_pillow(data: bytes, path: str) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode.startswith("I;16"):  # 16-bit grey: the top 8 bits, as OpenCV
                img = Image.fromarray((np.asarray(img, np.uint16) >> 8).astype(np.uint8))
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        reason = "not an image format OpenCV or Pillow reads" if isinstance(err, UnidentifiedImageError) else (
            f"it is truncated or corrupt ({str(err).splitlines()[0] if str(err) else type(err).__name__})")
        raise ImageFileError(f"`path` must be a readable image file ({_KINDS}); {reason}. Received: path={path!r}") from None
