"""The `kerasnets` command line, run in-process through kerasnets.cli.main."""

import csv
import io

import pytest

from kerasnets.cli import SUBCOMMANDS, build_parser, main


def test_list_prints_name_family_params_and_size(capsys):
    assert main(["list", "vgg1*"]) == 0
    out = capsys.readouterr().out
    assert "vgg16" in out and "138,357,544" in out and "224x224x3" in out and "vgg" in out
    assert "alexnet" not in out
    assert main(["list", "--family", "lenet"]) == 0
    assert "61,706" in capsys.readouterr().out
    assert main(["list", "nothing*"]) == 2
    assert "Received: pattern='nothing*'" in capsys.readouterr().err
    assert main(["list", "--family", "nope"]) == 2
    assert "Received: family='nope'" in capsys.readouterr().err


def test_summary_formats(capsys):
    assert main(["summary", "lenet5", "--format", "csv", "--flops"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["name"] == "c1" and rows[0]["macs"] == "117600"
    assert rows[-1]["name"] == "TOTAL" and rows[-1]["params"] == "61706" and rows[-1]["flops"] == "833040"
    assert main(["summary", "lenet5", "--format", "markdown"]) == 0
    assert "| c1 | Conv2D | (28, 28, 6) | 156 | 117,600 |" in capsys.readouterr().out
    assert main(["summary", "nin_cifar", "--input-shape", "64", "64", "3"]) == 0
    out = capsys.readouterr().out
    assert "nin_cifar" in out and "(64, 64, 3)" in out and "Total MACs" in out


def test_summary_argument_errors(capsys):
    assert main(["summary", "alexnt"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean: alexnet" in err and "Received: name='alexnt'" in err
    assert main(["summary", "lenet5", "--input-shape", "32", "x", "1"]) == 2
    assert "three positive integers" in capsys.readouterr().err
    assert main(["summary", "lenet5", "--input-shape", "0", "32", "1"]) == 2
    assert "Received: input_shape=0 32 1" in capsys.readouterr().err
    assert main(["summary", "lenet5", "--format", "html"]) == 2
    assert "Received: format='html'" in capsys.readouterr().err
    assert main(["summary", "nin_cifar", "--input-shape", "4", "4", "3"]) == 2
    assert "too small" in capsys.readouterr().err  # the builder's own validation message
    assert main(["summary", "lenet5", "--check"]) == 2
    assert "No reference table ships" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["summary", "lenet5", "--input-shape", "32"])


def test_summary_check_alexnet_exit_status(capsys):
    assert main(["summary", "alexnet", "--check"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "erratum" in out and "233M" in out


def test_parser_is_extensible():
    parser = build_parser()
    assert {"list", "summary"} <= set(parser._subparsers._group_actions[0].choices)
    assert len(SUBCOMMANDS) >= 2


def test_builder_option_parses_json_values_and_names_bad_input():
    import argparse

    from kerasnets.cli import builder_option

    assert builder_option("batch_norm=true") == ("batch_norm", True)
    assert builder_option("filters=[32, 64, 256]") == ("filters", [32, 64, 256])
    assert builder_option("form=modern") == ("form", "modern")
    assert builder_option(" dropout = 0.2") == ("dropout", 0.2)
    for bad in ("lrn", "=1"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected KEY=VALUE.*got {bad!r}"):
            builder_option(bad)
