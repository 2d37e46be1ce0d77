"""``python -m apps.captioning train | caption | evaluate | export``.

Examples::

    # generated scenes, LeNet-5 with batch norm fine-tuned end to end: BLEU-4 ~0.99 in ~3 minutes on a CPU
    python -m apps.captioning train --data synthetic --scene-size 40 --backbone lenet5 --image-size 40 \\
        --backbone-option form=modern --backbone-option batch_norm=true --train-encoder --units 64 \\
        --dropout 0 --max-length 8 --lr 3e-3 --batch-size 32 --epochs 20 --out runs/cap-synth
    # Flickr8k-1k (CSV + images/), fixed 800/100/100 split by image
    python -m apps.captioning train --data ../shared/data/flickr8k-1k/captions.txt \\
        --split 800,100,100 --backbone vgg16 --image-size 224 --out runs/cap-flickr
    python -m apps.captioning evaluate --model runs/cap-flickr --beam 3 --plots /tmp/cap-plots
    python -m apps.captioning caption --model runs/cap-flickr photo.jpg --beam 3
    python -m apps.captioning export --model runs/cap-flickr --out /tmp/serving/captioner
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Only the standard library and kerasnets.cliargs here: --help and usage errors need no keras.
from kerasnets import cliargs
from kerasnets.checks import is_published_name

__all__ = ["main", "build_parser", "PROG", "BLEU_SMOOTHING"]

PROG = "python -m apps.captioning"
_DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "kerasnets", "captioning")
#: NLTK SmoothingFunction methods that corpus BLEU accepts (apps.captioning.metrics checks the same).
BLEU_SMOOTHING = ("method1", "method2", "method3", "method4", "method5", "method7")


def _cudnn(text):
    return {"auto": "auto", "on": True, "off": False}[text]


def _add_data_args(p, *, for_eval=False):
    # evaluate: None means "as the model was trained" (its config.json notes), so no defaults there.
    train = not for_eval
    p.add_argument(
        "--data", default="synthetic" if train else None,
        help="caption file (Flickr8k token file 'image.jpg#i<TAB>caption', CSV with header 'image,caption', "
        "or COCO captions JSON) or 'synthetic' for generated coloured-shape scenes"
        + ("" if train else " (default: the data the model was trained on)"),
    )
    p.add_argument("--images", default=None, help="image folder (if not given: images/ next to the caption file)")
    p.add_argument("--format", default="auto" if train else None, choices=("auto", "flickr8k", "csv", "coco"),
                   help="caption file format; auto = from the file's content")
    p.add_argument("--split", default="0.8,0.1,0.1" if train else None,
                   help="train,val,test split by image, as counts (800,100,100) or fractions (0.8,0.1,0.1)"
                   + ("" if train else " (default: the training split)"))
    p.add_argument("--split-seed", type=cliargs.non_negative_int, default=0 if train else None,
                   help="seed of the split shuffle")
    p.add_argument("--scenes", type=cliargs.positive_int, default=1000 if train else None, help="number of synthetic scenes")
    p.add_argument("--scene-size", type=cliargs.positive_int, default=32 if train else None,
                   help="synthetic scene side length in pixels")
    p.add_argument("--scene-seed", type=cliargs.non_negative_int, default=0 if train else None, help="synthetic scene seed")


def _add_decode_args(p):
    p.add_argument("--beam", type=cliargs.positive_int, default=1, help="beam size K; 1 = greedy decoding")
    p.add_argument("--max-length", type=cliargs.positive_int, default=None,
                   help="maximum caption length in words (default: the model's --max-length)")
    p.add_argument("--length-penalty", type=cliargs.non_negative_float, default=0.7,
                   help="beam search ranks finished captions by logprob / length**P; 0 = raw log-probability, "
                   "1 = per-word mean")


_EPILOG = """examples:
  # generated scenes, LeNet-5 with batch norm fine-tuned end to end: BLEU-4 ~0.99 in ~3 minutes on a CPU
  python -m apps.captioning train --data synthetic --scene-size 40 --backbone lenet5 --image-size 40 \\
      --backbone-option form=modern --backbone-option batch_norm=true --train-encoder --units 64 \\
      --dropout 0 --max-length 8 --lr 3e-3 --batch-size 32 --epochs 20 --out runs/cap-synth
  python -m apps.captioning evaluate --model runs/cap-synth --beam 3
  python -m apps.captioning caption --model runs/cap-synth photo.jpg

exit status: 0 success, 2 a usage or input error, 130 interrupted (train: run the same command to resume)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = cliargs.ArgumentParser(
        prog=PROG,
        description="Image captioning: a kerasnets CNN encoder with a GRU/LSTM decoder (Show and Tell; "
        "with --attention, Show, Attend and Tell), beam search and corpus BLEU.",
        epilog=_EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,caption,evaluate,export}")

    t = sub.add_parser("train", help="train a captioner (features cached, decoder trained)",
                       description="Train: encode every image once (cached on disk), then train the decoder with "
                       "teacher forcing, Adam and gradient clipping by global norm. --out is the run folder: a "
                       "killed or interrupted run resumes where it stopped (to the same weights) when the same "
                       "command is run again; progress goes to stderr, results to stdout.")
    _add_data_args(t)
    t.add_argument("--out", required=True,
                   help="run folder: checkpoints while training, then the model (config.json, vocab.txt, weights)")
    t.add_argument("--overwrite", action="store_true",
                   help="train again in a --out folder that holds a finished run, or one with other settings "
                   "(the old model is replaced only when the new training ends)")
    g = t.add_argument_group("encoder")
    g.add_argument("--backbone", default="vgg16", help="any kerasnets model (kerasnets.list_models()); built "
                   "with include_top=False, its last feature map is attended over")
    g.add_argument("--backbone-option", type=cliargs.builder_option, action="append", default=[], metavar="KEY=VALUE",
                   help="extra backbone builder argument, VALUE as JSON; repeatable "
                   "(e.g. form=modern batch_norm=true for lenet5)")
    g.add_argument("--encoder-weights", default=None,
                   help="backbone ImageNet weights: a published name for --backbone (e.g. "
                   "timm/resnet50.tv_in1k; `kerasnets list --pretrained`; it selects the builder options and, "
                   "with --preprocess auto, the preprocessing), a .safetensors/.pth file, or a .weights.h5 file "
                   "(e.g. saved from the matching keras.applications model); if not given: random "
                   "initialisation (frozen unless --train-encoder)")
    g.add_argument("--train-encoder", action=argparse.BooleanOptionalAction, default=False,
                   help="fine-tune the encoder end to end with the decoder (images go through the CNN every "
                   "step, no feature cache); needed when the encoder is not pretrained, e.g. "
                   "--backbone resnet20 --image-size 32 on the synthetic scenes")
    g.add_argument("--encoder-lr", type=cliargs.positive_float, default=None,
                   help="with --train-encoder: the encoder's Adam learning rate (if not given: --lr); use a "
                   "smaller one for a pretrained encoder")
    g.add_argument("--image-size", type=cliargs.positive_int, default=224, help="encoder input side length")
    g.add_argument("--preprocess", default="auto", choices=("auto", "symmetric", "caffe", "torch"),
                   help="pixel preprocessing: auto = what published --encoder-weights expect, else symmetric; "
                   "symmetric = [-1, 1]; caffe = keras.applications VGG/ResNet50 (BGR minus mean); "
                   "torch = ImageNet mean/std")
    g.add_argument("--cache-dir", default=_DEFAULT_CACHE,
                   help="where encoder features are cached, keyed by encoder weights and image list; "
                   "'none' disables the cache")
    g.add_argument("--encode-batch-size", type=cliargs.positive_int, default=32, help="images per encoder call")
    d = t.add_argument_group("decoder")
    d.add_argument("--cell", default="gru", choices=("gru", "lstm"), help="recurrent cell")
    d.add_argument("--units", type=cliargs.positive_int, default=256, help="hidden units of the cell")
    d.add_argument("--embed-dim", type=cliargs.positive_int, default=128, help="word embedding size")
    d.add_argument("--attention", action=argparse.BooleanOptionalAction, default=True,
                   help="additive (Bahdanau) attention over the feature map, as in Show, Attend and Tell")
    d.add_argument("--attention-units", type=cliargs.positive_int, default=128, help="attention MLP size")
    d.add_argument("--dropout", type=cliargs.fraction, default=0.3, help="dropout rate on embeddings and cell output")
    d.add_argument("--use-cudnn", default="auto", choices=("auto", "on", "off"),
                   help="without attention: the cuDNN-fused GRU/LSTM kernel (GPU only; XLA cannot compile it) "
                   "or the generic loop (off); the attention decoder always uses the generic loop")
    x = t.add_argument_group("text")
    x.add_argument("--vocab-size", type=cliargs.positive_int, default=5000,
                   help="vocabulary cap incl. padding, [UNK], <start>, <end>; rarer words map to [UNK]")
    x.add_argument("--max-length", type=cliargs.positive_int, default=20,
                   help="maximum caption length in words; longer training captions are truncated")
    o = t.add_argument_group("optimisation")
    o.add_argument("--epochs", type=cliargs.positive_int, default=20, help="training epochs")
    o.add_argument("--batch-size", type=cliargs.positive_int, default=64, help="captions per batch")
    o.add_argument("--lr", type=cliargs.positive_float, default=1e-3, help="Adam learning rate")
    o.add_argument("--clipnorm", type=cliargs.positive_float, default=5.0, help="clip gradients to this global norm")
    cliargs.add_jit_compile_argument(
        o, help="XLA compilation of the train step: auto (on with JAX or a TensorFlow GPU, off with TensorFlow "
        "on CPU where it measured slower, and off for the cuDNN GRU/LSTM, which XLA cannot compile), on, off")
    o.add_argument("--group-captions", action="store_true",
                   help="frozen encoder: batch each image's captions together and project its features once per "
                   "batch instead of once per caption (fewer MACs with attention; another data order)")
    o.add_argument("--patience", type=cliargs.non_negative_int, default=0,
                   help="stop when validation loss has not improved for this many epochs and keep the best "
                   "weights; 0 = train all epochs")
    o.add_argument("--seed", type=cliargs.non_negative_int, default=0, help="random seed (initial weights, data order, dropout)")
    o.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    c = sub.add_parser("caption", help="caption image files",
                       description="Caption image files with a trained captioner; prints 'path<TAB>caption' lines.")
    c.add_argument("--model", required=True, help="model folder written by train (its --out)")
    c.add_argument("images", nargs="+", help="image files")
    _add_decode_args(c)
    c.add_argument("--plots", default=None, help="folder for attention-map PNGs (one per image)")

    e = sub.add_parser("evaluate", help="corpus BLEU-1..4 on a held-out split, with pictures",
                       description="Caption a held-out split and score it with corpus BLEU-1..4 (NLTK).")
    e.add_argument("--model", required=True, help="model folder written by train (its --out)")
    _add_data_args(e, for_eval=True)
    e.add_argument("--cache-dir", default=None,
                   help="feature cache folder (default: the one used by train; 'none' disables it)")
    e.add_argument("--subset", default="test", choices=("train", "val", "test"), help="which split to score")
    _add_decode_args(e)
    e.add_argument("--bleu-smoothing", default=None, choices=BLEU_SMOOTHING,
                   help="NLTK smoothing method for tiny test sets (if not given: none, as in the papers)")
    e.add_argument("--plots", default=None, help="folder for caption and attention PNGs")
    e.add_argument("--num-plots", type=cliargs.non_negative_int, default=5, help="how many images to draw")
    e.add_argument("--json", default=None, help="write the scores and captions to this JSON file")

    x = sub.add_parser("export", help="SavedModel for TF Serving: uint8 image in, caption string out",
                       description="Export a versioned SavedModel whose serving_default signature takes "
                       "uint8 images and returns captions (greedy decoding in the graph).")
    x.add_argument("--model", required=True, help="model folder written by train (its --out)")
    x.add_argument("--out", required=True, help="TF Serving base directory (versions are sub-directories)")
    x.add_argument("--version", type=cliargs.positive_int, default=None, help="version number (default: next free)")
    x.add_argument("--max-length", type=cliargs.positive_int, default=None,
                   help="maximum caption length in words (default: the model's --max-length)")
    return parser


# ----------------------------------------------------------------------------------------


def _check_data_args(args) -> None:
    """Name the flag of a missing caption file or image folder before anything is loaded."""
    data = getattr(args, "data", None)
    if data is not None and data != "synthetic":
        if not str(data).strip():
            raise cliargs.UsageError("argument --data: expected a caption file or 'synthetic', got ''")
        if os.path.isdir(data):
            raise cliargs.UsageError(f"argument --data: {data!r} is a folder; give the caption file in it (or 'synthetic')")
        if not os.path.isfile(data):
            raise cliargs.UsageError(f"argument --data: no such caption file {data!r} (a caption file or 'synthetic')")
    images = getattr(args, "images", None)
    if images is not None and not os.path.isdir(images):
        raise cliargs.UsageError(f"argument --images: no such folder {images!r}")
    if getattr(args, "split", None) is not None:
        from apps.captioning.data import parse_split

        try:
            parse_split(args.split)
        except ValueError:
            raise cliargs.UsageError(
                f"argument --split: expected three image counts or fractions for train,val,test "
                f"(e.g. 800,100,100 or 0.8,0.1,0.1), got {args.split!r}"
            ) from None


def _splits_from(args, notes=None):
    from apps.captioning.data import load_splits

    saved = (notes or {}).get("data", {})

    def pick(name, default):
        value = getattr(args, name, None)
        return saved.get(name, default) if value is None else value

    data = pick("data", "synthetic")
    if data != "synthetic" and not os.path.isfile(data):
        raise cliargs.UsageError(f"argument --data: no such caption file {data!r}")
    chosen = {
        "data": data if data == "synthetic" else os.path.abspath(data),
        "images": pick("images", None),
        "format": pick("format", "auto"),
        "split": pick("split", "0.8,0.1,0.1"),
        "split_seed": pick("split_seed", 0),
        "scenes": pick("scenes", 1000),
        "scene_size": pick("scene_size", 32),
        "scene_seed": pick("scene_seed", 0),
    }
    try:
        splits = load_splits(**chosen)
    except ValueError as err:
        # The readers name their own arguments (`split`, `sizes`): say which flag it is.
        text = str(err).replace("pass format=.", "pass --format.")
        for word, flag in (("`split`", "--split"), ("sizes", "--split"), ("--images", "--images")):
            if word in text:
                raise cliargs.UsageError(f"argument {flag}: {text}") from None
        raise cliargs.UsageError(f"argument --data: {text}") from None
    return splits, chosen


def _features(captioner, split, args_cache, batch_size, progress):
    cache = None
    if args_cache and str(args_cache).lower() != "none":
        cache = os.path.join(args_cache, f"{captioner.fingerprint()}-{split.key()}.npy")
    return captioner.features(
        load_batch=split.loader(captioner.config.image_size), count=len(split), batch_size=batch_size,
        cache_path=cache, progress=progress,
    )


def _settings(args) -> dict:
    from apps.captioning.run import TRAINING_SETTINGS

    settings = {k: getattr(args, k) for k in TRAINING_SETTINGS}
    if settings["data"] != "synthetic":
        settings["data"] = os.path.abspath(settings["data"])
    for k in ("images", "encoder_weights"):
        if settings[k] is not None and not (k == "encoder_weights" and is_published_name(settings[k])):
            settings[k] = os.path.abspath(settings[k])
    settings["backbone_option"] = [list(kv) for kv in settings["backbone_option"]]
    return settings


def _resolve_preprocess(mode: str, encoder_weights) -> str:
    """``auto``: the preprocessing published weights expect ("torch" for torchvision/timm), else symmetric."""
    if mode != "auto":
        return mode
    if encoder_weights is not None and is_published_name(encoder_weights):
        from kerasnets.pretrained.sources import get_pretrained

        return get_pretrained(encoder_weights).preprocessing
    return "symmetric"


def _check_train_args(args) -> None:
    """Every check of train's flags that needs no keras, before any work starts."""
    cliargs.check_output_dir(args.out, "--out")
    _check_data_args(args)
    if args.encoder_lr is not None and not args.train_encoder:
        raise cliargs.UsageError(f"argument --encoder-lr: needs --train-encoder (the encoder is frozen otherwise), "
                                 f"got --encoder-lr {args.encoder_lr!r}")
    if args.encoder_weights is not None and is_published_name(args.encoder_weights):
        from kerasnets.pretrained.sources import get_pretrained

        try:
            entry = get_pretrained(args.encoder_weights)
        except ValueError as err:
            raise cliargs.UsageError(f"argument --encoder-weights: {err}") from None
        if entry.model != args.backbone:
            raise cliargs.UsageError(f"argument --encoder-weights: {args.encoder_weights!r} are weights for --backbone "
                                     f"{entry.model}, got --backbone {args.backbone}")
    elif args.encoder_weights is not None and not os.path.isfile(args.encoder_weights):
        raise cliargs.UsageError(f"argument --encoder-weights: no such file {args.encoder_weights!r}")
    args.preprocess = _resolve_preprocess(args.preprocess, args.encoder_weights)
    if args.jit_compile == "on" and not args.attention and args.use_cudnn == "on":
        raise cliargs.UsageError("argument --jit-compile: 'on' cannot compile the cuDNN GRU/LSTM kernel "
                                 "(--use-cudnn on); pass --use-cudnn off or --attention")
    if args.group_captions and args.train_encoder:
        raise cliargs.UsageError("argument --group-captions: only with a frozen encoder (cached features), "
                                 "not with --train-encoder")
    if args.dropout >= 1:
        raise cliargs.UsageError(f"argument --dropout: expected a rate in [0, 1), got {args.dropout!r}")
    if args.cache_dir.lower() != "none" and not args.train_encoder:
        cliargs.check_output_dir(args.cache_dir, "--cache-dir")


def _jit_compile(args) -> bool:
    from kerasnets.xla import resolve_jit_compile

    jit = resolve_jit_compile(args.jit_compile)
    if jit and args.jit_compile == "auto" and not args.attention and args.use_cudnn != "off":
        jit = False  # auto: the cuDNN kernel (chosen on a GPU) is not XLA-compilable
    return jit


def cmd_train(args) -> int:
    _check_train_args(args)
    from apps.captioning.run import RunFolder

    splits = _splits_from(args)  # a bad caption file is reported before the run folder is touched
    run = RunFolder(args.out, "--out")
    resume = run.begin(_settings(args), overwrite=args.overwrite)
    try:
        if resume:
            print(f"resuming the run in {args.out}", file=sys.stderr)
        return _train(args, run, splits)
    except KeyboardInterrupt:
        where = run.position
        print(f"{PROG}: interrupted at epoch {where['epoch']} step {where['step']}; run the same command to resume",
              file=sys.stderr)
        return cliargs.EXIT_INTERRUPTED
    finally:
        run.release()


def _train(args, run, splits) -> int:
    import keras

    from apps.captioning.captioner import Captioner
    from apps.captioning.metrics import corpus_bleu_scores
    from apps.captioning.model import CaptionerConfig
    from kerasnets.progress import epoch_logger

    (train, val, _), data_notes = splits
    config = CaptionerConfig(
        backbone=args.backbone, backbone_options=dict(args.backbone_option), image_size=args.image_size,
        preprocess=args.preprocess, cell=args.cell,
        units=args.units, embed_dim=args.embed_dim, attention=args.attention,
        attention_units=args.attention_units, dropout=args.dropout, use_cudnn=_cudnn(args.use_cudnn),
        max_length=args.max_length, vocab_size=args.vocab_size,
    )
    train_idx, train_caps = train.caption_pairs()
    captioner = Captioner.create(config, train_caps, encoder_weights=args.encoder_weights, seed=args.seed)
    captioner.notes["data"] = data_notes
    captioner.notes["cache_dir"] = None if args.cache_dir.lower() == "none" else os.path.abspath(args.cache_dir)
    progress = not args.quiet
    callbacks = [] if args.quiet else [epoch_logger(total_epochs=args.epochs)]
    if args.patience > 0 and len(val):
        callbacks.append(keras.callbacks.EarlyStopping(patience=args.patience, restore_best_weights=True))
    settings = dict(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, clipnorm=args.clipnorm,
                    jit_compile=_jit_compile(args), callbacks=callbacks, verbose=0, seed=args.seed, run=run)
    val_idx, val_caps = val.caption_pairs()
    if args.train_encoder:
        # End to end: the images themselves are the training inputs (no feature cache).
        start = time.perf_counter()
        size = config.image_size
        x_train = train.loader(size)(0, len(train))
        x_val = val.loader(size)(0, len(val)) if len(val) else None
        captioner.notes["load_seconds"] = round(time.perf_counter() - start, 1)
        history = captioner.fit_end_to_end(
            x_train, train_idx, train_caps, val=None if x_val is None else (x_val, val_idx, val_caps),
            encoder_learning_rate=args.encoder_lr, **settings,
        )
        f_val = captioner.features(x_val) if x_val is not None else None
    else:
        start = time.perf_counter()
        f_train = _features(captioner, train, args.cache_dir, args.encode_batch_size, progress)
        f_val = _features(captioner, val, args.cache_dir, args.encode_batch_size, progress) if len(val) else None
        captioner.notes["encode_seconds"] = round(time.perf_counter() - start, 1)
        history = captioner.fit(
            f_train, train_idx, train_caps, val=None if f_val is None else (f_val, val_idx, val_caps),
            group_by_image=args.group_captions, **settings,
        )
    captioner.notes["history"] = {k: [round(float(v), 4) for v in vs] for k, vs in history.history.items()}
    if f_val is not None:
        decoded = captioner.decode(f_val)
        hyps = [captioner.vocab.decode(t) for t in decoded.tokens]
        captioner.notes["val_bleu_greedy"] = {k: round(v, 4) for k, v in corpus_bleu_scores(val.references, hyps).items()}
        print("validation BLEU (greedy):", json.dumps(captioner.notes["val_bleu_greedy"]))
    run.finish(captioner)
    print(f"saved {args.out} (vocabulary {len(captioner.vocab)}, trained {captioner.notes['train_seconds']} s)")
    return 0


def _check_model(path) -> None:
    """``--model`` must be a finished run folder (named in the message otherwise)."""
    if not str(path).strip():
        raise cliargs.UsageError("argument --model: expected the folder written by train, got ''")
    if not os.path.isdir(path):
        raise cliargs.UsageError(f"argument --model: no such folder {path!r} (the --out of train)")
    missing = [n for n in ("config.json", "vocab.txt", "encoder.weights.h5", "decoder.weights.h5")
               if not os.path.isfile(os.path.join(path, n))]
    if missing:
        unfinished = os.path.isfile(os.path.join(path, "run.json"))
        raise cliargs.UsageError(
            f"argument --model: {path!r} is " + ("an unfinished training run (run the same train command to "
            "finish it)" if unfinished else f"not a folder written by train (missing {', '.join(missing)})")
        )


def cmd_caption(args) -> int:
    _check_model(args.model)
    for path in args.images:
        if not os.path.isfile(path):
            raise cliargs.UsageError(f"argument images: no such image file {path!r}")
    if args.plots:
        cliargs.check_output_dir(args.plots, "--plots")
    import numpy as np

    from apps.captioning.captioner import Captioner
    from kerasnets.data.images import ImageFileError, load_image

    captioner = Captioner.load(args.model)
    size = captioner.config.image_size
    try:
        images = [load_image(p, size=size) for p in args.images]
    except ImageFileError as err:
        raise cliargs.UsageError(f"argument images: {err}") from None

    decoded = captioner.decode(captioner.features(np.stack(images)), beam_size=args.beam,
                               max_length=args.max_length, length_penalty=args.length_penalty)
    for k, (path, tokens) in enumerate(zip(args.images, decoded.tokens)):
        text = captioner.vocab.decode(tokens)
        print(f"{path}\t{text}")
        if args.plots and decoded.attention is not None:
            from apps.captioning.plots import plot_attention

            h, w, _ = captioner.config.feature_shape
            out = os.path.join(args.plots, f"{k:03d}_{os.path.splitext(os.path.basename(path))[0]}_attention.png")
            plot_attention(images[k], text.split(), decoded.attention[k], (h, w), out)
    return 0


def cmd_evaluate(args) -> int:
    _check_model(args.model)
    _check_data_args(args)
    if args.plots:
        cliargs.check_output_dir(args.plots, "--plots")
    if args.json:
        cliargs.check_output_file(args.json, "--json", overwrite=True)
    from apps.captioning.captioner import Captioner
    from apps.captioning.metrics import corpus_bleu_scores

    captioner = Captioner.load(args.model)
    splits, data_notes = _splits_from(args, captioner.notes)
    split = dict(zip(("train", "val", "test"), splits))[args.subset]
    if not len(split):
        raise cliargs.UsageError(f"argument --subset: the {args.subset} split is empty (--split {data_notes['split']})")
    cache = args.cache_dir if args.cache_dir is not None else captioner.notes.get("cache_dir", _DEFAULT_CACHE)
    features = _features(captioner, split, cache, 32, progress=True)
    start = time.perf_counter()
    decoded = captioner.decode(features, beam_size=args.beam, max_length=args.max_length,
                               length_penalty=args.length_penalty)
    seconds = time.perf_counter() - start
    hyps = [captioner.vocab.decode(t) for t in decoded.tokens]
    scores = corpus_bleu_scores(split.references, hyps, smoothing=args.bleu_smoothing)
    print(f"{args.subset}: {len(split)} images, beam {args.beam}, decoding {seconds:.1f} s")
    for k, v in scores.items():
        print(f"  {k.upper()}: {100 * v:.1f}")
    for i in range(min(3, len(hyps))):
        print(f"  {split.ids[i]}: {hyps[i]}   | ref: {split.references[i][0]}")
    if args.plots:
        from apps.captioning.plots import plot_attention, plot_captions

        gh, gw, _ = captioner.config.feature_shape
        for i in range(min(args.num_plots, len(split))):
            img = split.image(i)
            stem = os.path.splitext(os.path.basename(split.ids[i]))[0]
            plot_captions(img, hyps[i], split.references[i], os.path.join(args.plots, f"{i:03d}_{stem}.png"),
                          title=split.ids[i])
            if decoded.attention is not None and decoded.attention[i] is not None:
                plot_attention(split.image(i, captioner.config.image_size), hyps[i].split(), decoded.attention[i],
                               (gh, gw), os.path.join(args.plots, f"{i:03d}_{stem}_attention.png"))
        print(f"  pictures in {args.plots}")
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"subset": args.subset, "beam": args.beam, "scores": scores, "data": data_notes,
                       "captions": dict(zip(split.ids, hyps))}, f, indent=2)
        os.replace(tmp, args.json)
    return 0


def cmd_export(args) -> int:
    _check_model(args.model)
    cliargs.check_output_dir(args.out, "--out")
    from apps.captioning.captioner import Captioner
    from apps.captioning.export import export_captioner

    captioner = Captioner.load(args.model)
    path = export_captioner(captioner, args.out, args.version, max_length=args.max_length)
    print(f"exported {path} (signature serving_default: uint8 images -> caption strings)")
    return 0


_COMMANDS = {"train": cmd_train, "caption": cmd_caption, "evaluate": cmd_evaluate, "export": cmd_export}


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    return _COMMANDS[args.command](args)


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0, 2 usage/input error, 130 interrupted)."""
    return cliargs.run_main(_main, argv, prog=PROG)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
