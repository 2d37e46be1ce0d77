"""PASCAL VOC XML / COCO JSON readers and the synthetic VOC scene writer."""

import json
import os
import warnings

import cv2
import numpy as np
import pytest

from kerasnets.data.synthetic_detection import make_detection_dataset
from kerasnets.data.voc import (
    AnnotationError,
    AnnotationWarning,
    ImageAnnotation,
    ObjectAnnotation,
    load_voc_dataset,
    read_coco_json,
    read_split_file,
    read_voc_xml,
    write_voc_xml,
)


def _image(path, h=40, w=60, grey=False):
    img = np.full((h, w) if grey else (h, w, 3), 128, np.uint8)
    assert cv2.imwrite(str(path), img)
    return str(path)


def _xml(path, body):
    path.write_text(f"<annotation>{body}</annotation>")
    return str(path)


def test_tolerant_variations(tmp_path):
    """No <size> (read from the image), no pose/truncated/difficult, float coords, filename without extension."""
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations").mkdir()
    _image(tmp_path / "JPEGImages" / "a.jpg", h=40, w=60, grey=True)
    p = _xml(
        tmp_path / "Annotations" / "a.xml",
        "<filename>a</filename><object><name>cat</name><bndbox><xmin>1.5</xmin><ymin>2</ymin>"
        "<xmax>30.25</xmax><ymax>20</ymax></bndbox></object>",
    )
    ann = read_voc_xml(p)
    assert ann.image_path.endswith(os.path.join("JPEGImages", "a.jpg"))
    assert (ann.width, ann.height, ann.depth) == (60, 40, 1)
    assert ann.labels == ["cat"]
    np.testing.assert_allclose(ann.boxes, [[1.5, 2, 30.25, 20]])
    obj = ann.objects[0]
    assert (obj.difficult, obj.truncated, obj.pose) == (False, False, "Unspecified")


def test_path_mismatch_uses_xml_stem_and_image_dir(tmp_path):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    _image(imgs / "b.png")
    p = _xml(
        tmp_path / "b.xml",
        "<filename>C:\\labeller\\other_name.jpg</filename><path>/Users/x/other_name.jpg</path>"
        "<size><width>60</width><height>40</height><depth>3</depth></size>"
        "<object><name>dog</name><difficult>1</difficult><truncated>true</truncated><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>",
    )
    ann = read_voc_xml(p, image_dir=imgs)
    assert ann.image_path == str(imgs / "b.png")
    assert ann.objects[0].difficult and ann.objects[0].truncated
    assert ann.difficult.tolist() == [True]


def test_malformed_xml_names_the_file(tmp_path):
    p = tmp_path / "bad.xml"
    p.write_text("<annotation><object><name>cat</name></annotation>")
    with pytest.raises(AnnotationError, match=r"not well-formed XML.*bad\.xml"):
        read_voc_xml(str(p), require_image=False)


def test_unknown_class_is_an_error(tmp_path):
    _image(tmp_path / "c.jpg")
    p = _xml(tmp_path / "c.xml", "<filename>c.jpg</filename><object><name>zebra</name><bndbox><xmin>1</xmin>"
             "<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>")  # fmt: skip
    with pytest.raises(AnnotationError, match=r"class 'zebra'.*allowed classes.*c\.xml"):
        read_voc_xml(p, classes=["cat", "dog"])


def test_box_outside_is_clipped_with_warning(tmp_path):
    _image(tmp_path / "d.jpg", h=40, w=60)
    p = _xml(tmp_path / "d.xml", "<filename>d.jpg</filename><size><width>60</width><height>40</height><depth>3</depth>"
             "</size><object><name>cat</name><bndbox><xmin>-5</xmin><ymin>10</ymin><xmax>70</xmax><ymax>39</ymax>"
             "</bndbox></object>")  # fmt: skip
    with pytest.warns(UserWarning, match=r"d\.xml.*outside the 60x40 image; clipped"):
        ann = read_voc_xml(p)
    np.testing.assert_allclose(ann.boxes, [[0, 10, 60, 39]])


@pytest.mark.parametrize(
    "obj, message",
    [
        ("<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>", "no `<name>`"),
        ("<object><name>cat</name></object>", "no `<bndbox>`"),
        ("<object><name>cat</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>",
         "must be a number"),
        ("<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax></bndbox></object>", "no `<ymax>`"),
    ],
)
def test_bad_objects_name_the_file(tmp_path, obj, message):
    _image(tmp_path / "e.jpg")
    p = _xml(tmp_path / "e.xml", "<filename>e.jpg</filename>" + obj)
    with pytest.raises(AnnotationError, match=message) as info:
        read_voc_xml(p)
    assert "e.xml" in str(info.value)


_BOX = "<object><name>{name}</name><bndbox><xmin>{0}</xmin><ymin>{1}</ymin><xmax>{2}</xmax><ymax>{3}</ymax></bndbox></object>"


@pytest.mark.parametrize(
    "box, reason",
    [
        ((9, 1, 5, 5), "inverted (xmax < xmin)"),
        ((1, 9, 5, 5), "inverted (ymax < ymin)"),
        ((5, 1, 5, 9), "zero width"),
        ((1, 5, 9, 5), "zero height"),
        ((70, 50, 90, 60), "entirely outside the 60x40 image"),
    ],
)
def test_degenerate_boxes_are_skipped_with_one_warning_per_file_or_strict_errors(tmp_path, box, reason):
    _image(tmp_path / "e.jpg")
    body = "<filename>e.jpg</filename>" + _BOX.format(2, 2, 20, 20, name="dog") + _BOX.format(*box, name="cat")
    body += _BOX.format(*box, name="cow")
    p = _xml(tmp_path / "e.xml", body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ann = read_voc_xml(p)
    lines = [str(w.message) for w in caught if issubclass(w.category, AnnotationWarning)]
    assert len(lines) == 1, lines  # one line for the file, naming both objects
    assert "e.xml" in lines[0] and "skipped 2 degenerate" in lines[0]
    assert "object 1 ('cat')" in lines[0] and "object 2 ('cow')" in lines[0] and reason in lines[0]
    assert ann.labels == ["dog"]
    assert [(s.index, s.name, s.reason) for s in ann.skipped] == [(1, "cat", reason), (2, "cow", reason)]
    with pytest.raises(AnnotationError, match=r"object 1 \('cat'\) has a degenerate box.*e\.xml"):
        read_voc_xml(p, strict=True)
    with pytest.warns(AnnotationWarning):
        (again,) = load_voc_dataset(tmp_path)
    assert len(again.skipped) == 2
    with pytest.raises(AnnotationError, match="degenerate"):
        load_voc_dataset(tmp_path, strict=True)


def test_size_is_checked_against_the_real_image(tmp_path):
    _image(tmp_path / "s.jpg", h=40, w=60)
    p = _xml(tmp_path / "s.xml", "<filename>s.jpg</filename><size><width>600</width><height>400</height>"
             "<depth>3</depth></size>" + _BOX.format(2, 2, 50, 30, name="cat"))  # fmt: skip
    with pytest.warns(AnnotationWarning, match=r"s\.xml: <size> says 600x400 but the image .*s\.jpg' is 60x40"):
        ann = read_voc_xml(p)
    assert (ann.width, ann.height) == (60, 40)
    p = _xml(tmp_path / "s.xml", "<filename>s.jpg</filename><size><width>60</width><height>40</height>"
             "<depth>3</depth></size>")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (read_voc_xml(p).width, read_voc_xml(p).height) == (60, 40)  # no warning when it agrees


def test_size_check_follows_the_exif_orientation(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when displayed
    Image.new("RGB", (60, 40), (9, 9, 9)).save(tmp_path / "r.jpg", exif=exif)
    assert cv2.imread(str(tmp_path / "r.jpg")).shape[:2] == (60, 40)  # OpenCV shows it 40 wide, 60 high
    p = _xml(tmp_path / "r.xml", "<filename>r.jpg</filename><size><width>40</width><height>60</height>"
             "<depth>3</depth></size>")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ann = read_voc_xml(p)
    assert (ann.width, ann.height) == (40, 60)


def test_missing_image_is_an_error_unless_size_given(tmp_path):
    p = _xml(tmp_path / "f.xml", "<filename>nowhere.jpg</filename>")
    with pytest.raises(AnnotationError, match=r"image of this annotation was not found.*f\.xml"):
        read_voc_xml(p)
    p = _xml(tmp_path / "g.xml", "<filename>nowhere.jpg</filename><size><width>10</width><height>8</height>"
             "<depth>3</depth></size>")  # fmt: skip
    ann = read_voc_xml(p, require_image=False)
    assert (ann.width, ann.height, ann.objects) == (10, 8, ())


def test_write_read_roundtrip_and_splits(tmp_path):
    img = _image(tmp_path / "h.jpg")
    ann = ImageAnnotation(img, 60, 40, 3, (ObjectAnnotation("cat", (1.0, 2.0, 30.5, 20.0), difficult=True),))
    write_voc_xml(ann, tmp_path / "h.xml")
    back = read_voc_xml(tmp_path / "h.xml")
    assert back.labels == ["cat"] and back.difficult.tolist() == [True]
    np.testing.assert_allclose(back.boxes, ann.boxes)
    (tmp_path / "s.txt").write_text("h\n\n# comment\nh\n")
    assert read_split_file(tmp_path / "s.txt") == ["h"]
    (tmp_path / "s.csv").write_text("filename,width\nh.jpg,60\nh.jpg,60\n")
    assert read_split_file(tmp_path / "s.csv") == ["h"]
    assert len(load_voc_dataset(tmp_path, split=tmp_path / "s.txt")) == 1
    with pytest.raises(FileNotFoundError, match="do not exist"):
        load_voc_dataset(tmp_path, split=["h", "missing"])


def test_coco_json(tmp_path):
    data = {
        "images": [{"id": 7, "file_name": "x.jpg", "width": 50, "height": 40}],
        "categories": [{"id": 3, "name": "cat"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [5, 6, 10, 20], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 3, "bbox": [0, 0, 4, 4], "iscrowd": 1},
        ],
    }
    p = tmp_path / "c.json"
    p.write_text(json.dumps(data))
    (ann,) = read_coco_json(p)
    np.testing.assert_allclose(ann.boxes, [[5, 6, 15, 26]])
    assert ann.labels == ["cat"] and ann.image_path == str(tmp_path / "x.jpg")
    (ann,) = read_coco_json(p, skip_crowd=False)
    assert ann.difficult.tolist() == [False, True]
    data["annotations"][0]["category_id"] = 9
    p.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=r"category_id 9.*c\.json"):
        read_coco_json(p)
    p.write_text("{not json")
    with pytest.raises(AnnotationError, match=r"not valid JSON.*c\.json"):
        read_coco_json(p)


def test_coco_degenerate_boxes_skipped_counted_or_strict(tmp_path):
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 40},
                   {"id": 2, "file_name": "b.jpg", "width": 50, "height": 40}],
        "categories": [{"id": 3, "name": "cat"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 3, "bbox": [5, 6, 10, 20]},
            {"id": 11, "image_id": 1, "category_id": 3, "bbox": [5, 6, 0, 20]},
            {"id": 12, "image_id": 2, "category_id": 3, "bbox": [5, 6, 10, -3]},
            {"id": 13, "image_id": 2, "category_id": 3, "bbox": [60, 6, 10, 3]},
        ],
    }  # fmt: skip
    p = tmp_path / "c.json"
    p.write_text(json.dumps(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a, b = read_coco_json(p)
    lines = [str(w.message) for w in caught if issubclass(w.category, AnnotationWarning)]
    assert len(lines) == 1 and "c.json: skipped 3 degenerate" in lines[0], lines
    assert "zero width" in lines[0] and "zero height" not in lines[0] and "entirely outside" in lines[0]
    assert len(a.objects) == 1 and len(a.skipped) == 1 and len(b.objects) == 0 and len(b.skipped) == 2
    with pytest.raises(AnnotationError, match=r"annotation 1 \(id 11\).*degenerate.*c\.json"):
        read_coco_json(p, strict=True)
    data["annotations"][0]["bbox"] = [5, 6, float("nan"), 2]
    p.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match="finite"):
        read_coco_json(p)


def test_synthetic_scenes_are_real_voc(tmp_path):
    info = make_detection_dataset(tmp_path / "ds", num_images=6, image_size=(64, 80), seed=3, test_fraction=0.5)
    train = load_voc_dataset(info.annotations_dir, split=info.train_split)
    test = load_voc_dataset(info.annotations_dir, split=info.test_split)
    assert len(train) == 3 and len(test) == 3
    for written, read in zip(info.annotations, train + test):
        np.testing.assert_allclose(read.boxes, written.boxes)
        assert read.labels == written.labels
        assert set(read.labels) <= {"circle", "square", "triangle"}
        img = cv2.imread(read.image_path)
        assert img.shape == (64, 80, 3)
        b = read.boxes
        assert (b[:, 0] >= 0).all() and (b[:, 2] <= 80).all() and (b[:, 3] <= 64).all()
    again = make_detection_dataset(tmp_path / "ds2", num_images=6, image_size=(64, 80), seed=3, test_fraction=0.5)
    assert [a.labels for a in again.annotations] == [a.labels for a in info.annotations]
    with pytest.raises(ValueError, match="kind"):
        make_detection_dataset(tmp_path / "x", kind="cars")


def test_raccoon_split(shared_data):
    root = shared_data / "raccoon"
    if not root.is_dir():
        pytest.skip(f"raccoon dataset absent: {root}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SOURCE.md: every box lies inside its image
        test = load_voc_dataset(root / "annotations", image_dir=root / "images",
                                split=root / "labels_csv" / "test_labels.csv", classes=["raccoon"])  # fmt: skip
    assert len(test) == 40
    assert sum(len(a.objects) for a in test) == 44
    assert {a.depth for a in load_voc_dataset(root / "annotations", split=["raccoon-150"])} == {1}
