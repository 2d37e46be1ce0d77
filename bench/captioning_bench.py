"""Captioning benchmarks: attention vs none, the app's step vs the bare step, XLA on/off, BLEU.

0. ``attention`` (issue 19): the decoder train step with and without attention, side by side
   (same batch, alternating timed blocks), next to the analytic MAC count of each form
   (:func:`decoder_macs`), so the time ratio can be read against the arithmetic ratio.
   :func:`profile_step` (``--part profile``) times the app's real training step
   (``CaptionBatches.fit_input()`` through ``model.fit``, as ``apps.captioning train`` runs
   it) and the ``CaptionBatches`` sequence itself through ``fit`` (the input before issue
   19's fix) against the bare ``train_on_batch`` on a batch already in memory, in wall and
   CPU time; ``bench/profile_apps.py`` calls it.

1. ``xla``: the decoder's train step (teacher forcing, Adam with global-norm clipping) with
   ``jit_compile=False`` vs ``True``, for the attention decoder (a Keras ``RNN`` over the
   attention cell) and the attention-free ``keras.layers.GRU``/``LSTM`` (``use_cudnn=False``,
   the generic loop; the cuDNN kernel does not exist on a CPU and XLA cannot compile it).
   Both settings use the same weights and batch and alternate timed blocks in one process.
2. ``synthetic``: train on generated scenes (kerasnets.data.synthetic_captions) with the
   encoder frozen (cached random features) and fine-tuned end to end, side by side, and report
   corpus BLEU-1..4 of greedy and beam-3 decoding on held-out scenes, with training wall and
   CPU time.

Flickr8k figures come from the CLI (``python -m apps.captioning train/evaluate``; commands in
docs/benchmarks.md), since they take tens of minutes.

Usage:
    python bench/captioning_bench.py --part attention --batch-size 32 --steps 3 --blocks 5
    python bench/captioning_bench.py --part profile --batch-size 32 --blocks 5
    python bench/captioning_bench.py --part xla --steps 10 --blocks 3
    python bench/captioning_bench.py --part synthetic --scenes 1000 --epochs 20 --backbone lenet5 --image-size 40
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench._bench_utils import header, markdown_table, median, write_json  # noqa: E402


def _report(title, rows):
    """Print a benchmark's title and its rows as a Markdown table; return the rows."""
    print(header(title))
    print(markdown_table(rows, list(rows[0])))
    return rows


def _decoder(cell, attention, units, grid, dim, vocab, max_length):
    from apps.captioning.model import CaptionDecoder, CaptionerConfig

    cfg = CaptionerConfig(backbone="resnet20", image_size=32, cell=cell, attention=attention, units=units,
                          embed_dim=units // 2, attention_units=units // 2, dropout=0.0, use_cudnn=False,
                          max_length=max_length, feature_shape=(grid, grid, dim))
    return CaptionDecoder(cfg, vocab)


def decoder_macs(*, batch, steps, positions, feature_dim, units, embed_dim, attention_units, vocab, attention,
                 cell="gru", images=None):
    """Forward multiply-accumulates of one teacher-forcing pass of the decoder (matmuls only).

    A GRU has 3 gates (LSTM 4) over ``[input, h]``; with attention the cell input is
    ``[embedding, context]``, each step adds the state projection, the scores and the
    context sum, and the annotations are projected once per caption (``feature_proj`` to
    ``units``, ``att_features`` to ``attention_units``). The deep output sees ``[h, context]``.
    ``images``: with batches grouped by image (the app's ``CaptionBatches``), the number of
    image rows whose annotations are projected (default: one per caption).
    """
    images = batch if images is None else images
    gates = 3 if cell == "gru" else 4
    cell_in = embed_dim + (units if attention else 0)
    macs = steps * batch * (cell_in + units) * gates * units  # the recurrent cell
    macs += images * feature_dim * units * (2 if cell == "lstm" else 1)  # init_h (+ init_c)
    macs += steps * batch * ((2 if attention else 1) * units) * embed_dim  # deep output
    macs += steps * batch * embed_dim * vocab  # logits
    if attention:
        macs += images * positions * (feature_dim * units + units * attention_units)  # projections
        macs += steps * batch * (units * attention_units + positions * attention_units + positions * units)
    return macs


def _batch(b, t, grid, dim, vocab, seed=0):
    rng = np.random.default_rng(seed)
    x = {"features": rng.normal(size=(b, grid * grid, dim)).astype("float32"),
         "tokens": rng.integers(2, vocab, (b, t)).astype("int32")}
    return x, rng.integers(1, vocab, (b, t)).astype("int32")


def _compiled(cell, attention, args, jit=False):
    import keras

    keras.utils.set_random_seed(0)
    m = _decoder(cell, attention, args.units, args.grid, args.feature_dim, args.vocab, args.max_length)
    m.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=5.0),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0), jit_compile=jit)
    return m


def _grouped(x, captions_per_image):
    """The same batch grouped by image: ``captions_per_image`` consecutive captions share one image row."""
    b = len(x["tokens"])
    index = np.arange(b) // captions_per_image
    images = -(-(b - 1) // captions_per_image) + 1  # CaptionBatches' padded image count
    rows = np.minimum(np.arange(images), index[-1])
    return {"features": x["features"][rows], "image_index": index.astype("int32"), "tokens": x["tokens"]}, images


def bench_attention(args):
    """Attention vs none: step time side by side, and the MAC ratio of the forms.

    Three forms per cell: no attention; attention with one feature row per caption (the step
    before issue 19); attention on batches grouped by image (``--captions-per-image``
    captions share one row, as ``CaptionBatches`` now batches).
    """
    b, t, grid, dim, vocab = args.batch_size, args.max_length + 1, args.grid, args.feature_dim, args.vocab
    x, y = _batch(b, t, grid, dim, vocab)
    xg, images = _grouped(x, args.captions_per_image)
    forms = {"none": (False, x, b), "per caption": (True, x, b), "grouped": (True, xg, images)}
    rows = []
    for cell in args.cells.split(","):
        models = {}
        for name, (attention, inputs, _) in forms.items():
            models[name] = _compiled(cell, attention, args)
            models[name].train_on_batch(inputs, y)  # trace
        times = {name: [] for name in forms}
        for _ in range(args.blocks):
            for name, (_, inputs, _) in forms.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    models[name].train_on_batch(inputs, y)
                times[name].append((time.perf_counter() - start) / args.steps)
        macs = {name: decoder_macs(batch=b, steps=t, positions=grid * grid, feature_dim=dim, units=args.units,
                                   embed_dim=args.units // 2, attention_units=args.units // 2, vocab=vocab,
                                   attention=attention, cell=cell, images=n)
                for name, (attention, _, n) in forms.items()}
        base_t, base_m = median(times["none"]), macs["none"]
        for name, (attention, _, n) in forms.items():
            label = cell if not attention else f"{cell} + attention, {name}" + (
                f" ({args.captions_per_image} captions an image, {n} image rows)" if name == "grouped" else "")
            step = median(times[name])
            rows.append({"decoder": label, "step_ms": round(1000 * step, 1),
                         "time_vs_none": round(step / base_t, 2),
                         "forward_GMAC": round(macs[name] / 1e9, 3), "MACs_vs_none": round(macs[name] / base_m, 2),
                         "GFLOP_per_s": round(6 * macs[name] / step / 1e9, 1)})
        print(rows[-3:], flush=True)
    title = (f"Captioning decoder train step, attention vs none, TensorFlow on CPU (batch {b}, {t} steps, "
             f"{grid}x{grid}x{dim} features, {args.units} units, vocabulary {vocab})")
    return _report(title, rows)


def profile_step(*, attention=True, cell="gru", batch_size=32, max_length=20, grid=7, feature_dim=512, units=256,
                 vocab=2000, images=64, captions_per_image=5, blocks=3, keras_pydataset=False):
    """The app's real decoder step vs the bare ``train_on_batch``, timed side by side (alternating blocks).

    (a) ``app``: one epoch of ``model.fit`` over ``CaptionBatches.fit_input()`` (the app's
    input pipeline, as `Captioner.fit` passes it: per-epoch order, each caption's features
    gathered, on TensorFlow a ``tf.data`` pipeline without autotuning), per step;
    (b) ``bare``: ``train_on_batch`` on one batch already in memory. Both on the same model
    after a warm-up of each; the order of the forms alternates from block to block.
    ``keras_pydataset``: also time (p) ``fit`` on the ``CaptionBatches`` sequence itself, as
    Keras adapts a ``PyDataset`` (``prefetch(AUTOTUNE)``), the app's input before issue 19.

    Wall time is what a user waits; CPU time (``time.process_time``, all threads) is the work
    done, and less disturbed by other jobs on a shared machine.

    Returns:
        ``{"app_step_s", "bare_step_s", "overhead" (a / b), "app_cpu_s", "bare_cpu_s",
        "overhead_cpu", "forward_macs" (per step), "steps", "blocks", "wall_s"/"cpu_s"
        (per form, per block)}``, plus ``"pydataset_step_s"``, ``"pydataset_overhead"`` and
        ``"pydataset_overhead_cpu"`` with ``keras_pydataset``.
    """
    import types

    from apps.captioning.captioner import CaptionBatches

    args = types.SimpleNamespace(units=units, grid=grid, feature_dim=feature_dim, vocab=vocab, max_length=max_length)
    rng = np.random.default_rng(0)
    t = max_length + 1
    feats = rng.normal(size=(images, grid * grid, feature_dim)).astype("float32")
    index = np.repeat(np.arange(images), captions_per_image)
    tokens = rng.integers(2, vocab, (len(index), t + 1)).astype("int32")
    data = CaptionBatches(feats, index, tokens, batch_size=batch_size, seed=0)
    model = _compiled(cell, attention, args)
    x, y = data[0]
    steps = len(data)

    def bare():
        for _ in range(steps):
            model.train_on_batch(x, y)

    forms = {"app": lambda: model.fit(data.fit_input(), epochs=1, verbose=0, shuffle=False), "bare": bare}
    if keras_pydataset:
        forms["pydataset"] = lambda: model.fit(data, epochs=1, verbose=0, shuffle=False)
    model.train_on_batch(x, y)
    for name, form in forms.items():  # warm-up: tracing
        if name != "bare":
            form()
    wall = {name: [] for name in forms}
    cpu = {name: [] for name in forms}
    for block in range(blocks):
        for name in list(forms) if block % 2 == 0 else list(reversed(forms)):
            start, start_cpu = time.perf_counter(), time.process_time()
            forms[name]()
            wall[name].append((time.perf_counter() - start) / steps)
            cpu[name].append((time.process_time() - start_cpu) / steps)
    macs = decoder_macs(batch=batch_size, steps=t, positions=grid * grid, feature_dim=feature_dim, units=units,
                        embed_dim=units // 2, attention_units=units // 2, vocab=vocab, attention=attention, cell=cell,
                        images=data.images_per_batch)
    out = {"app_step_s": median(wall["app"]), "bare_step_s": median(wall["bare"]),
           "overhead": median(wall["app"]) / median(wall["bare"]), "app_cpu_s": median(cpu["app"]),
           "bare_cpu_s": median(cpu["bare"]), "overhead_cpu": median(cpu["app"]) / median(cpu["bare"]),
           "forward_macs": macs, "steps": steps, "blocks": blocks, "wall_s": wall, "cpu_s": cpu}
    if keras_pydataset:
        out.update(pydataset_step_s=median(wall["pydataset"]),
                   pydataset_overhead=median(wall["pydataset"]) / median(wall["bare"]),
                   pydataset_overhead_cpu=median(cpu["pydataset"]) / median(cpu["bare"]))
    return out


def bench_profile(args):
    rows = []
    for attention in (True, False):
        r = profile_step(attention=attention, batch_size=args.batch_size, max_length=args.max_length, grid=args.grid,
                         feature_dim=args.feature_dim, units=args.units, vocab=args.vocab, blocks=args.blocks,
                         keras_pydataset=True)
        rows.append({"decoder": "gru + attention" if attention else "gru",
                     "app_step_ms": round(1000 * r["app_step_s"], 1),
                     "pydataset_step_ms": round(1000 * r["pydataset_step_s"], 1),
                     "bare_step_ms": round(1000 * r["bare_step_s"], 1), "overhead_a_over_b": round(r["overhead"], 2),
                     "pydataset_over_b": round(r["pydataset_overhead"], 2),
                     "cpu_overhead_a_over_b": round(r["overhead_cpu"], 2),
                     "cpu_pydataset_over_b": round(r["pydataset_overhead_cpu"], 2),
                     "load": round(os.getloadavg()[0], 1)})
        print(rows[-1], flush=True)
    return _report(f"Captioning: the app's step (CaptionBatches.fit_input() through fit) and the PyDataset itself "
                   f"through fit vs bare train_on_batch (batch {args.batch_size}, {args.blocks} blocks)", rows)


def bench_xla(args):
    import keras

    rows = []
    rng = np.random.default_rng(0)
    b, t, grid, dim, vocab = args.batch_size, args.max_length + 1, args.grid, args.feature_dim, args.vocab
    x = {"features": rng.normal(size=(b, grid * grid, dim)).astype("float32"),
         "tokens": rng.integers(2, vocab, (b, t)).astype("int32")}
    y = rng.integers(0, vocab, (b, t)).astype("int32")
    for cell in args.cells.split(","):
        for attention in (True, False):
            models = {}
            for jit in (False, True):
                keras.utils.set_random_seed(0)
                m = _decoder(cell, attention, args.units, grid, dim, vocab, args.max_length)
                m.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=5.0),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
                          jit_compile=jit)
                start = time.perf_counter()
                m.train_on_batch(x, y)
                models[jit] = (m, time.perf_counter() - start)
            times = {False: [], True: []}
            for _ in range(args.blocks):
                for jit in (False, True):
                    m = models[jit][0]
                    start = time.perf_counter()
                    for _ in range(args.steps):
                        m.train_on_batch(x, y)
                    times[jit].append((time.perf_counter() - start) / args.steps)
            off, on = median(times[False]), median(times[True])
            rows.append({
                "decoder": f"{cell}{' + attention' if attention else ''}",
                "step_off_ms": round(1000 * off, 1), "step_on_ms": round(1000 * on, 1),
                "speedup_on_vs_off": round(off / on, 2),
                "first_step_off_s": round(models[False][1], 1), "first_step_on_s": round(models[True][1], 1),
            })
            print(rows[-1], flush=True)
    title = (f"Captioning decoder train step, XLA off/on, TensorFlow on CPU (batch {b}, {t} steps, "
             f"{grid}x{grid}x{dim} features, {args.units} units, vocabulary {vocab})")
    return _report(title, rows)


def bench_synthetic(args):
    import keras

    from apps.captioning.captioner import Captioner
    from apps.captioning.metrics import corpus_bleu_scores
    from apps.captioning.model import CaptionerConfig
    from kerasnets.data.synthetic_captions import make_captioned_scenes

    rows = []
    size = args.image_size
    train = make_captioned_scenes(args.scenes, image_size=size, seed=1)
    test = make_captioned_scenes(200, image_size=size, seed=2)
    captions = [c for cs in train.captions for c in cs]
    index = np.repeat(np.arange(len(train)), 2)
    modes = args.modes.split(",")
    for cell in args.cells.split(","):
        for mode in modes:
            keras.utils.set_random_seed(0)
            backbone = args.backbone
            cfg = CaptionerConfig(backbone=backbone, image_size=size, cell=cell, units=args.synth_units, embed_dim=32,
                                  attention_units=32, dropout=0.0, max_length=8)
            cap = Captioner.create(cfg, captions)
            cpu0 = time.process_time()
            start = time.perf_counter()
            if mode == "frozen":
                features = cap.features(train.images)
                cap.fit(features, index, captions, epochs=args.epochs, batch_size=32, learning_rate=args.lr, verbose=0)
            else:  # "finetune": encoder trained end to end with the decoder
                cap.fit_end_to_end(train.images, index, captions, epochs=args.epochs, batch_size=32,
                                   learning_rate=args.lr, verbose=0)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            for beam in (1, 3):
                s = corpus_bleu_scores(test.captions, cap.caption(test.images, beam_size=beam))
                rows.append({"encoder": f"{backbone} {mode}", "decoder": f"{cell} + attention",
                             "decoding": "greedy" if beam == 1 else f"beam {beam}",
                             **{k.upper(): round(100 * v, 1) for k, v in s.items()},
                             "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1)})
                print(rows[-1], flush=True)
    title = (f"Synthetic captioned scenes: {args.scenes} training / 200 test scenes ({size}x{size}), "
             f"{args.backbone} encoder ({', '.join(modes)}), {args.epochs} epochs")
    return _report(title, rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("attention", "profile", "xla", "synthetic", "all"), default="all",
                   help="which benchmark to run")
    p.add_argument("--batch-size", type=int, default=64, help="xla: captions per batch")
    p.add_argument("--max-length", type=int, default=20, help="xla: caption length (steps = this + 1)")
    p.add_argument("--grid", type=int, default=7, help="xla: feature map side (7 = a 224 ResNet/VGG)")
    p.add_argument("--feature-dim", type=int, default=512, help="xla: feature channels")
    p.add_argument("--units", type=int, default=256, help="xla: decoder units")
    p.add_argument("--vocab", type=int, default=2000, help="xla: vocabulary size")
    p.add_argument("--captions-per-image", type=int, default=5,
                   help="attention: captions sharing one image row in the grouped form (Flickr8k/COCO: 5)")
    p.add_argument("--steps", type=int, default=5, help="xla: steps per timed block")
    p.add_argument("--blocks", type=int, default=3, help="attention, profile, xla: timed blocks per setting (alternating)")
    p.add_argument("--scenes", type=int, default=1000, help="synthetic: training scenes")
    p.add_argument("--epochs", type=int, default=15, help="synthetic: epochs")
    p.add_argument("--backbone", default="lenet5", help="synthetic: encoder backbone")
    p.add_argument("--image-size", type=int, default=40, help="synthetic: scene and encoder image size")
    p.add_argument("--modes", default="frozen,finetune",
                   help="synthetic: comma-separated encoder modes, frozen (cached features) and/or finetune "
                   "(end to end)")
    p.add_argument("--synth-units", type=int, default=64, help="synthetic: decoder units")
    p.add_argument("--lr", type=float, default=3e-3, help="synthetic: Adam learning rate")
    p.add_argument("--cells", default="gru,lstm", help="comma-separated cells to run")
    p.add_argument("--json", default=None, help="write the raw rows here")
    args = p.parse_args(argv)
    out = {}
    if args.part in ("attention", "all"):
        out["attention"] = bench_attention(args)
    if args.part in ("profile", "all"):
        out["profile"] = bench_profile(args)
    if args.part in ("xla", "all"):
        out["xla"] = bench_xla(args)
    if args.part in ("synthetic", "all"):
        out["synthetic"] = bench_synthetic(args)
    with open("/proc/loadavg") if os.path.exists("/proc/loadavg") else open(os.devnull) as f:
        load = f.read().split()[:3]
    print(f"load average at the end: {' '.join(load)}")
    write_json(args.json, {**out, "loadavg": load})


if __name__ == "__main__":
    main()
