"""Caption file readers, the split by image, image loading and the synthetic scenes."""

import json
import os

import numpy as np
import pytest

from kerasnets.data.captions import (
    CaptionFileError,
    load_captions,
    load_image,
    read_caption_csv,
    read_coco_captions,
    read_flickr8k_tokens,
    split_by_image,
)
from kerasnets.data.synthetic_captions import COLOURS, make_captioned_scenes

from tests.conftest import SHARED_DATA

FLICKR_1K = SHARED_DATA / "flickr8k-1k"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _images(tmp_path, names):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    for n in names:
        Image.fromarray(np.full((6, 8, 3), 100, np.uint8)).save(folder / n)
    return str(folder)


def test_flickr8k_tokens(tmp_path):
    path = _write(tmp_path, "tokens.txt", "b.jpg#0\tA dog runs .\nb.jpg#1\tA brown dog .\n\na.jpg#0\tTwo cats .\n")
    ds = read_flickr8k_tokens(path, image_dir=_images(tmp_path, ["a.jpg", "b.jpg"]))
    assert ds.images == ["b.jpg", "a.jpg"]
    assert ds.captions == {"b.jpg": ["A dog runs .", "A brown dog ."], "a.jpg": ["Two cats ."]}
    assert ds.num_captions == 3
    assert load_captions(path).captions == ds.captions  # format sniffed


# A caption file that cannot be read: (file name, text, reader, what the message must say).
BAD_CAPTION_FILES = [
    ("tokens.txt", "b.jpg#0\tA dog .\nb.jpg A cat without a tab\n", read_flickr8k_tokens, r"tokens.txt:2.*no tab"),
    ("captions.txt", "image,caption\na.jpg,A dog .\nb.jpg,   \n", read_caption_csv,
     r"Empty caption for image 'b.jpg' at .*captions.txt:3"),
    ("captions.txt", "file,text\na.jpg,A dog .\n", read_caption_csv, "'image' and 'caption' columns"),
    ("captions.json", '{"images": [', read_coco_captions, "Invalid COCO captions JSON"),
    ("notes.txt", "hello world\n", load_captions, "Cannot tell the caption file format"),
]  # fmt: skip


@pytest.mark.parametrize("name, text, reader, message", BAD_CAPTION_FILES, ids=lambda v: getattr(v, "__name__", None))
def test_bad_caption_file_names_the_problem(tmp_path, name, text, reader, message):
    with pytest.raises(CaptionFileError, match=message):
        reader(_write(tmp_path, name, text))


def test_csv_with_quoted_commas(tmp_path):
    path = _write(tmp_path, "captions.txt", 'image,caption\na.jpg,"A dog, a cat ."\na.jpg,Two pets .\n')
    ds = read_caption_csv(path)
    assert ds.captions == {"a.jpg": ["A dog, a cat .", "Two pets ."]}
    assert load_captions(path, format="auto").images == ["a.jpg"]


def test_missing_images_are_named(tmp_path):
    path = _write(tmp_path, "captions.txt", "image,caption\na.jpg,A dog .\nzzz.jpg,A cat .\n")
    folder = _images(tmp_path, ["a.jpg"])
    with pytest.raises(CaptionFileError, match=r"1 image\(s\).*missing.*'zzz.jpg'"):
        read_caption_csv(path, image_dir=folder)


def _coco(tmp_path, annotations):
    data = {
        "images": [{"id": 7, "file_name": "x.jpg"}, {"id": 3, "file_name": "y.jpg"}, {"id": 9, "file_name": "z.jpg"}],
        "annotations": annotations,
    }
    return _write(tmp_path, "captions.json", json.dumps(data))


def test_coco(tmp_path):
    path = _coco(
        tmp_path,
        [{"image_id": 3, "id": 1, "caption": "A y."}, {"image_id": 7, "id": 2, "caption": "An x."},
         {"image_id": 3, "id": 4, "caption": "Another y."}],
    )
    ds = read_coco_captions(path)
    assert ds.images == ["x.jpg", "y.jpg"]  # JSON image order; z.jpg has no caption
    assert ds.captions["y.jpg"] == ["A y.", "Another y."]
    assert load_captions(path).images == ds.images


def test_coco_unknown_image_id_is_named(tmp_path):
    path = _coco(tmp_path, [{"image_id": 7, "caption": "An x."}, {"image_id": 42, "caption": "Who?"}])
    with pytest.raises(CaptionFileError, match=r"annotations\[1\].*image_id=42"):
        read_coco_captions(path)


def test_unknown_format_and_missing_file(tmp_path):
    path = _write(tmp_path, "notes.txt", "hello world\n")
    with pytest.raises(ValueError, match="format"):
        load_captions(path, format="yaml")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_captions(str(tmp_path / "nope.txt"))


def test_split_by_image_is_fixed_and_disjoint(tmp_path):
    lines = "".join(f"img{i:02d}.jpg,caption {i} .\nimg{i:02d}.jpg,another {i} .\n" for i in range(20))
    ds = read_caption_csv(_write(tmp_path, "c.csv", "image,caption\n" + lines))
    train, val, test = split_by_image(ds, (14, 3, 3), seed=0)
    assert (len(train), len(val), len(test)) == (14, 3, 3)
    assert not set(train.images) & set(val.images) and not set(train.images) & set(test.images)
    assert all(len(train.captions[i]) == 2 for i in train.images)  # captions stay with their image
    again = split_by_image(ds, (0.7, 0.15, 0.15), seed=0)
    assert [p.images for p in again] == [train.images, val.images, test.images]
    with pytest.raises(ValueError, match="sum to at most"):
        split_by_image(ds, (20, 1, 0))
    with pytest.raises(KeyError, match="img99.jpg"):
        ds.subset(["img99.jpg"])


def test_load_image(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((10, 20, 3), 200, np.uint8)).save(tmp_path / "a.png")
    img = load_image(str(tmp_path / "a.png"), 8)
    assert img.shape == (8, 8, 3) and img.dtype == np.uint8 and int(img[4, 4, 0]) == 200
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(CaptionFileError, match="bad.jpg"):
        load_image(str(tmp_path / "bad.jpg"))


def test_synthetic_scenes_match_their_captions():
    s = make_captioned_scenes(30, image_size=32, seed=5)
    assert s.images.shape == (30, 32, 32, 3) and s.images.dtype == np.uint8
    again = make_captioned_scenes(30, image_size=32, seed=5)
    np.testing.assert_array_equal(s.images, again.images)
    for img, caps, (o1, o2, layout) in zip(s.images, s.captions, s.objects):
        (c1, s1, p1), (c2, s2, p2) = o1, o2
        assert (c1, s1) != (c2, s2)
        relation = "above" if layout == "vertical" else "left of"
        assert caps[0] == f"a {c1} {s1} {relation} a {c2} {s2}"
        assert caps[1].startswith(f"a {c2} {s2} ")
        axis = 0 if layout == "vertical" else 1
        assert p1[axis] < p2[axis]  # the first object is the upper / left one
        # The pixel at each object's centre has that object's colour.
        for colour, (r, c) in ((c1, p1), (c2, p2)):
            np.testing.assert_array_equal(img[int(r), int(c)], COLOURS[colour])
    with pytest.raises(ValueError, match="image_size"):
        make_captioned_scenes(3, image_size=8)


@pytest.mark.skipif(not (FLICKR_1K / "captions.txt").is_file(), reason="flickr8k-1k not in ../shared/data")
def test_flickr8k_1k_real_data():
    ds = load_captions(str(FLICKR_1K / "captions.txt"))
    assert ds.image_dir == os.path.join(str(FLICKR_1K), "images")
    assert len(ds) == 1000 and ds.num_captions == 5000
    train, val, test = split_by_image(ds, (800, 100, 100), seed=0)
    assert len(set(train.images) | set(val.images) | set(test.images)) == 1000
    img = load_image(ds.path(test.images[0]), 64)
    assert img.shape == (64, 64, 3)


def test_csv_unquoted_comma_names_the_line(tmp_path):
    # DictReader would keep "A dog" and hide " a cat ." under the key None: a silent truncation.
    path = _write(tmp_path, "captions.txt", "image,caption\na.jpg,Two pets .\na.jpg,A dog, a cat .\n")
    with pytest.raises(CaptionFileError, match=r"captions.txt:3.*must be quoted.*A dog, a cat") as info:
        read_caption_csv(path)
    assert "3 fields" in str(info.value) and "header has 2" in str(info.value)


def test_csv_with_byte_order_mark(tmp_path):
    path = tmp_path / "captions.txt"
    path.write_bytes("image,caption\na.jpg,Un café .\n".encode("utf-8-sig"))
    ds = load_captions(str(path))  # format sniffed through the BOM
    assert ds.captions == {"a.jpg": ["Un café ."]}
    assert read_caption_csv(str(path)).images == ["a.jpg"]


def test_flickr8k_tokens_with_byte_order_mark(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_bytes("a.jpg#0\tA dog .\n".encode("utf-8-sig"))
    assert load_captions(str(path)).images == ["a.jpg"]
