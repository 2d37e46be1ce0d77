"""kerasnets.data.images: the one image loader of the library and both apps."""

import sys
import warnings

import numpy as np
import pytest

from kerasnets.data import images
from kerasnets.data.images import ImageFileError, load_image, resize_image, shrink_to_max_side

cv2 = pytest.importorskip("cv2")
Image = pytest.importorskip("PIL.Image")


def _pattern(h=30, w=40, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def _save(tmp_path, name, array, **options):
    path = tmp_path / name
    Image.fromarray(array).save(path, **options)
    return str(path)


def _rotated_jpeg(tmp_path, orientation=6):
    img = Image.fromarray(_pattern(20, 30))
    exif = img.getexif()
    exif[0x0112] = orientation  # 6: the camera was turned a quarter; viewers rotate to portrait
    path = tmp_path / f"rot{orientation}.jpg"
    img.save(path, exif=exif, quality=95)
    return str(path)


def test_lossless_formats_give_the_saved_rgb_pixels(tmp_path):
    rgb = _pattern()
    for name in ("a.png", "a.bmp", "a.tiff"):
        out = load_image(_save(tmp_path, name, rgb))
        assert out.dtype == np.uint8 and out.flags.c_contiguous
        np.testing.assert_array_equal(out, rgb, err_msg=name)  # RGB order, not OpenCV's BGR


def test_grey_palette_and_alpha_become_rgb(tmp_path):
    grey = _pattern()[..., 0]
    out = load_image(_save(tmp_path, "g.png", grey))
    assert out.shape == (30, 40, 3) and all((out[..., c] == grey).all() for c in range(3))
    rgba = np.dstack([_pattern(), np.full((30, 40), 9, np.uint8)])
    np.testing.assert_array_equal(load_image(_save(tmp_path, "a.png", rgba)), rgba[..., :3])
    palette = Image.fromarray(_pattern()).convert("P")
    palette.save(tmp_path / "p.gif")
    np.testing.assert_array_equal(load_image(str(tmp_path / "p.gif")), np.asarray(palette.convert("RGB")))


def test_opencv_and_pillow_decode_a_jpeg_alike(tmp_path):
    # Both are libjpeg-turbo here: 0 differing pixels on the 1,200 JPEGs of flickr8k-1k + raccoon.
    path = _save(tmp_path, "a.jpg", _pattern(64, 48), quality=80)
    data = open(path, "rb").read()
    np.testing.assert_array_equal(images._decode_opencv(data), images._decode_pillow(data, path))


def test_without_opencv_pillow_decodes_the_same(tmp_path, monkeypatch):
    paths = [_save(tmp_path, "a.png", _pattern()), _rotated_jpeg(tmp_path)]
    expected = [load_image(p) for p in paths]
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 -> ImportError
    for p, e in zip(paths, expected):
        np.testing.assert_array_equal(load_image(p), e)


def test_exif_orientation_is_applied_as_the_voc_size_check_expects(tmp_path):
    from kerasnets.data.voc import AnnotationWarning, read_voc_xml

    path = _rotated_jpeg(tmp_path)
    with Image.open(path) as im:
        shown = np.asarray(im.transpose(Image.Transpose.ROTATE_270))  # orientation 6, undone
    out = load_image(path)
    assert out.shape == (30, 20, 3)  # stored 30 wide x 20 high, displayed 20 x 30
    np.testing.assert_array_equal(out, shown)
    xml = tmp_path / "rot6.xml"
    xml.write_text("<annotation><filename>rot6.jpg</filename><size><width>20</width><height>30</height>"
                   "<depth>3</depth></size></annotation>")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", AnnotationWarning)  # a <size> disagreeing with the image would warn
        ann = read_voc_xml(xml)
    assert (ann.width, ann.height) == (out.shape[1], out.shape[0])


def test_size_resizes_as_pillow_bilinear(tmp_path):
    # The pixels the captioner was trained on (Pillow's anti-aliased bilinear filter).
    path = _save(tmp_path, "a.png", _pattern(90, 70))
    expected = np.asarray(Image.open(path).convert("RGB").resize((24, 24), Image.BILINEAR))
    np.testing.assert_array_equal(load_image(path, size=24), expected)
    assert load_image(path, size=(20, 30)).shape == (20, 30, 3)
    same = _pattern(8, 8)
    assert resize_image(same, 8) is same


def test_max_side_shrinks_with_area_interpolation(tmp_path):
    rgb = _pattern(60, 100)
    path = _save(tmp_path, "a.png", rgb)
    small, scale = shrink_to_max_side(rgb, 50)
    assert scale == 0.5 and small.shape == (30, 50, 3)
    np.testing.assert_array_equal(small, cv2.resize(rgb, (50, 30), interpolation=cv2.INTER_AREA))
    np.testing.assert_array_equal(load_image(path, max_side=50), small)
    assert shrink_to_max_side(rgb, 100) == (rgb, 1.0) and shrink_to_max_side(rgb, None)[1] == 1.0


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda tmp: str(tmp / "gone.jpg"), FileNotFoundError, "an existing image file"),
        (lambda tmp: str(tmp), FileNotFoundError, "not a folder"),
        (lambda tmp: _write(tmp, "empty.jpg", b""), ImageFileError, "empty"),
        (lambda tmp: _write(tmp, "notes.jpg", b"not a jpeg at all"), ImageFileError, "not an image format"),
        (lambda tmp: _write(tmp, "cut.jpg", open(_rotated_jpeg(tmp), "rb").read()[:300]), ImageFileError,
         "truncated or corrupt"),
    ],
    ids=["missing", "folder", "empty", "text", "truncated"],
)  # fmt: skip
def test_unreadable_files_are_one_line_errors_naming_the_path(tmp_path, make, error, message):
    path = make(tmp_path)
    with pytest.raises(error) as info:
        load_image(path)
    text = str(info.value)
    assert message in text and f"Received: path={path!r}" in text and "\n" not in text


def test_size_and_max_side_are_exclusive(tmp_path):
    with pytest.raises(ValueError, match="`size` or `max_side`"):
        load_image(_save(tmp_path, "a.png", _pattern()), size=8, max_side=8)
