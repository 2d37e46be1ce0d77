"""Reference-table checks: the AlexNet table of the project card and the inception-module op counts."""

import pytest

import kerasnets
from kerasnets.counting import check_reference, list_references, load_reference, references_for
from kerasnets.counting.check import parse_figure


@pytest.fixture(scope="module")
def alexnet_two_tower():
    return kerasnets.alexnet()


def test_alexnet_table_two_tower(alexnet_two_tower):
    result = check_reference("alexnet", alexnet_two_tower)
    rows = {r.row: r for r in result.rows}
    assert result.model_configuration == "two-tower"
    assert {k: r.status for k, r in rows.items()} == {
        "conv1": "match", "conv2": "erratum", "conv3": "match", "conv4": "erratum",
        "conv5": "match", "fc6": "match", "fc7": "match", "fc8": "match",
    }
    assert result.ok and result.failing == ()
    # The lead's derived figures.
    assert rows["conv1"].figures == {"params": ("35K", 34_944), "macs": ("105M", 105_415_200)}
    assert rows["conv2"].figures["macs"] == ("233M", 223_948_800)
    assert rows["conv2"].alternatives["one-tower"] == {"params": 614_656, "macs": 447_897_600}
    assert "233M matches no configuration" in rows["conv2"].verdict
    assert rows["conv3"].figures["params"] == ("884k", 885_120)
    assert "weights without biases" in rows["conv3"].verdict  # 884,736 weights
    assert rows["conv4"].alternatives["one-tower"] == {"params": 1_327_488, "macs": 224_280_576}
    assert rows["conv4"].figures["macs"] == ("112M", 112_140_288)
    assert "mixes configurations" in rows["conv4"].verdict
    assert "1.3M agrees only with one-tower" in rows["conv4"].verdict
    assert "112M agrees only with two-tower" in rows["conv4"].verdict
    assert rows["conv5"].figures == {"params": ("442K", 442_624), "macs": ("74M", 74_760_192)}
    assert "only under the two-tower configuration" in rows["conv5"].verdict
    assert rows["fc6"].figures["params"][1] == 37_752_832
    assert rows["fc7"].figures["params"][1] == 16_781_312
    assert rows["fc8"].figures["params"][1] == 4_097_000
    text = result.to_text()
    assert "PASS" in text and "2 table errata (conv2, conv4)" in text


def test_alexnet_table_fails_a_one_tower_model():
    result = check_reference("alexnet", kerasnets.alexnet(towers=1))
    assert result.model_configuration == "one-tower"
    assert not result.ok
    assert [r.row for r in result.failing] == ["conv5"]
    assert "matches only under the two-tower configuration" in result.failing[0].verdict
    assert "FAIL" in result.summary_line()


def test_inception_module_counts():
    result = check_reference("googlenet_modules")
    naive, reduced = result.rows
    assert naive.status == "match" and naive.figures["macs"] == ("854M", 854_196_224)
    assert reduced.status == "erratum" and reduced.figures["macs"] == ("358M", 271_351_808)
    assert "counted twice: 358.1M" in reduced.verdict
    assert result.ok


def test_figures_and_tables():
    assert parse_figure("1.3M") == (1_300_000, 100_000)
    assert parse_figure("35K") == (35_000, 1_000)
    assert parse_figure("307k") == (307_000, 1_000)
    with pytest.raises(ValueError, match="Received: figure='lots'"):
        parse_figure("lots")
    assert list_references() == ["alexnet", "googlenet_modules"]
    assert references_for("AlexNet") == ["alexnet"]
    assert references_for("googlenet") == ["googlenet_modules"]
    assert references_for("vgg16") == []
    assert load_reference("alexnet")["rows"][7]["layer"] == "predictions"
    with pytest.raises(ValueError, match="Received: reference='vgg'"):
        load_reference("vgg")
