"""The captioning command line: --help documents every flag; train -> evaluate -> caption -> export."""

import json
import re

import pytest

from apps.captioning.cli import build_parser, main


def _subparsers(parser):
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


@pytest.mark.parametrize("command", ["train", "caption", "evaluate", "export"])
def test_help_explains_every_flag(command):
    sub = _subparsers(build_parser())[command]
    for action in sub._actions:
        if action.dest in ("help",):
            continue
        assert action.help and len(action.help) > 8, (command, action.dest)
    text = sub.format_help()
    for flag in [s for a in sub._actions for s in a.option_strings if s.startswith("--")]:
        assert flag in text


def test_train_evaluate_caption_export(tmp_path, capsys):
    model = str(tmp_path / "model")
    rc = main(["train", "--data", "synthetic", "--scenes", "40", "--split", "30,5,5", "--backbone", "lenet5",
               "--image-size", "40", "--units", "16", "--embed-dim", "8", "--attention-units", "8",
               "--max-length", "8", "--epochs", "1", "--batch-size", "16", "--cell", "lstm",
               "--out", model, "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    assert rc == 0
    saved = json.loads(open(f"{model}/config.json").read())
    assert saved["config"]["cell"] == "lstm" and saved["notes"]["data"]["split"] == "30,5,5"
    assert len(list((tmp_path / "cache").iterdir())) == 2  # train and val features cached
    capsys.readouterr()
    out_json = str(tmp_path / "eval.json")
    assert main(["evaluate", "--model", model, "--beam", "2", "--json", out_json,
                 "--plots", str(tmp_path / "plots"), "--num-plots", "1"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"test: 5 images, beam 2", printed) and "BLEU4" in printed
    result = json.load(open(out_json))
    assert len(result["captions"]) == 5 and 0.0 <= result["scores"]["bleu1"] <= 1.0
    assert len(list((tmp_path / "plots").glob("*.png"))) == 2  # captions + attention
    from PIL import Image

    import numpy as np

    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "x.png")
    assert main(["caption", "--model", model, str(tmp_path / "x.png")]) == 0
    assert capsys.readouterr().out.startswith(str(tmp_path / "x.png") + "\t")
    assert main(["export", "--model", model, "--out", str(tmp_path / "serving")]) == 0
    assert (tmp_path / "serving" / "1" / "saved_model.pb").is_file()


def test_train_encoder_end_to_end_without_cache(tmp_path, capsys):
    model = str(tmp_path / "model")
    rc = main(["train", "--data", "synthetic", "--scenes", "24", "--split", "16,4,4", "--backbone", "lenet5",
               "--backbone-option", "form=modern", "--backbone-option", "batch_norm=true", "--image-size", "32", "--units", "8", "--embed-dim", "8", "--attention-units", "8",
               "--max-length", "8", "--epochs", "2", "--batch-size", "16", "--train-encoder", "--encoder-lr", "1e-4",
               "--out", model, "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    assert rc == 0
    saved = json.loads(open(f"{model}/config.json").read())
    notes = saved["notes"]
    assert saved["config"]["backbone_options"] == {"form": "modern", "batch_norm": True}
    from apps.captioning.captioner import Captioner

    assert any(layer.name == "c1_bn" for layer in Captioner.load(model).encoder.get_layer("lenet5").layers)
    assert notes["train_encoder"] is True and notes["encoder_learning_rate"] == 1e-4
    assert len(notes["history"]["loss"]) == 2 and "val_loss" in notes["history"]
    assert not (tmp_path / "cache").exists()  # no features cached when the encoder trains
    assert "validation BLEU" in capsys.readouterr().out


def test_bad_input_gives_clear_errors(tmp_path, capsys):
    assert main(["train", "--encoder-lr", "1e-4", "--out", str(tmp_path / "m")]) == 2
    assert "--train-encoder" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "m")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert main(["train", "--data", "synthetic", "--split", "1,2", "--out", str(tmp_path / "m")]) == 2
    assert "split" in capsys.readouterr().err
    assert main(["train", "--cell", "rnn", "--out", "x"]) == 2
    assert "--cell" in capsys.readouterr().err


def test_help_states_the_real_defaults():
    train = _subparsers(build_parser())["train"].format_help()
    flat = " ".join(train.split())
    for text in ("--epochs EPOCHS training epochs (default: 20)", "captions per batch (default: 64)",
                 "Adam learning rate (default: 0.001)", "global norm (default: 5.0)", "(default: auto)",
                 "{auto,on,off}", "(default: --attention)", "(default: vgg16)"):
        assert text in flat, text
    assert "(default: None)" not in flat and "(default: False)" not in flat
    assert "(default: 20) (default" not in flat  # never twice
    evaluate = " ".join(_subparsers(build_parser())["evaluate"].format_help().split())
    assert "method5" in evaluate and "method7" in evaluate and "method6" not in evaluate


def test_help_imports_no_more_than_the_shared_cli_parts():
    """``--help`` builds the parser without keras/TensorFlow (beyond what ``import kerasnets`` itself imports)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = ("import sys, contextlib, io\n"
             "base = set(sys.modules)\n"
             "import kerasnets.cliargs\n"
             "shared = set(sys.modules)\n"
             "from apps.captioning.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    status = main(['train', '--help'])\n"
             "heavy = lambda mods: sorted(m for m in mods if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch'))\n"
             "print(status, len(heavy(shared)), heavy(set(sys.modules) - shared))\n")
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    status, _, extra = out.stdout.strip().partition(" ")
    assert status == "0", out.stderr
    assert extra.split(" ", 1)[1] == "[]", extra  # nothing heavy beyond the shared parts


def test_help_examples_parse_with_the_real_parser():
    import shlex

    from apps.captioning.cli import _EPILOG, PROG

    text = _EPILOG.replace("\\\n", " ")
    commands = [line.strip()[len(PROG):] for line in text.splitlines() if line.strip().startswith(PROG)]
    assert len(commands) >= 3
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command))  # a false example would exit here
        assert args.command in ("train", "caption", "evaluate", "export")


def test_published_encoder_weights_are_checked_and_choose_the_preprocessing(tmp_path, capsys):
    from apps.captioning.cli import _resolve_preprocess

    out = str(tmp_path / "run")
    assert main(["train", "--backbone", "vgg16", "--encoder-weights", "timm/resnet50.tv_in1k", "--out", out]) == 2
    assert "weights for --backbone resnet50, got --backbone vgg16" in capsys.readouterr().err
    assert main(["train", "--backbone", "resnet50", "--encoder-weights", "timm/resnet50.tv", "--out", out]) == 2
    assert "argument --encoder-weights" in capsys.readouterr().err
    assert _resolve_preprocess("auto", "timm/resnet50.tv_in1k") == "torch"
    assert _resolve_preprocess("auto", None) == "symmetric"
    assert _resolve_preprocess("caffe", "timm/resnet50.tv_in1k") == "caffe"
