"""LRN implementations and AlexNet's grouped convolutions, forward + backward, side by side (TF backend).

Times, in alternating blocks in one process (so load changes hit every variant alike):

1. ``LocalResponseNormalization`` at AlexNet@64's ``lrn1``/``lrn2`` shapes (batch 128, the R-CNN
   fine-tuning step): the previous ``keras.ops`` form (``size`` shifted slices added one by one),
   the new ``keras.ops`` form (one average pooling along channels, ``rsqrt`` for beta = 0.75;
   JAX/Torch), and
   ``tf.nn.local_response_normalization`` (the new TensorFlow path);
2. the bare AlexNet@64 train step (``include_top=False`` + fc 512-512-4, AdamW, ``train_on_batch``
   on a batch in memory): with the old LRN and the ``groups=2`` layers as ``Conv2D(groups=2)`` (how
   kerasnets built it before), with the new LRN and ``Conv2D(groups=2)``, as ``kerasnets.alexnet``
   builds it now (new LRN, ``kerasnets.layers.GroupedConv2D``), and with one tower;
3. AlexNet's ``groups=2`` convolutions (conv2, conv4, conv5 at their AlexNet@64 input shapes):
   ``Conv2D(groups=2)``, two ``Conv2D`` on the channel halves + concatenation, and one-tower
   ``Conv2D`` (twice the MACs).

Every figure is the median of the blocks' per-call times; ratios are against the first variant of
each group. Usage: ``python bench/bench_layers.py [--blocks 5] [--reps 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_ROOT, "tests"))  # plain_conv_form: the Conv2D(groups=2) form

from _bench_utils import header, markdown_table, median, write_json  # noqa: E402

BATCH = 128
SIZE = 64


def _old_lrn_call(self, inputs):
    """The previous LocalResponseNormalization.call: keras.ops, shifted slices added one by one."""
    from keras import ops

    half = self.size // 2
    squared = ops.square(inputs)
    padded = ops.pad(squared, [[0, 0]] * (len(inputs.shape) - 1) + [[half, half]])
    channels = ops.shape(inputs)[-1]
    total = padded[..., 0:channels]
    for offset in range(1, self.size):
        total = total + padded[..., offset : offset + channels]
    alpha = self.alpha / self.size if self.alpha_mode == "mean" else self.alpha
    return inputs / ops.power(self.k + alpha * total, self.beta)


def _alternate(variants: dict, blocks: int, reps: int) -> dict[str, float]:
    """Median seconds per call of each variant, timed in alternating blocks of ``reps`` calls."""
    for fn in variants.values():  # trace / warm up
        fn()
        fn()
    times = {name: [] for name in variants}
    for block in range(blocks):
        order = list(variants) if block % 2 == 0 else list(variants)[::-1]
        for name in order:
            start = time.perf_counter()
            for _ in range(reps):
                variants[name]()
            times[name].append((time.perf_counter() - start) / reps)
    return {name: median(values) for name, values in times.items()}


def _grad_fn(tf, forward, x, variables=()):
    @tf.function(jit_compile=False)
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = forward(x)
            loss = tf.reduce_sum(y * y)
        grads = tape.gradient(loss, [x, *variables])
        return loss, grads

    return lambda: [g.numpy() for g in step()[1][:1]]


def bench_lrn(tf, keras, blocks, reps):
    import kerasnets
    from kerasnets.layers import LocalResponseNormalization, lrn_ops

    model = kerasnets.alexnet(include_top=False, input_shape=(SIZE, SIZE, 3))
    rows = []
    rng = tf.random.Generator.from_seed(0)
    for name in ("lrn1", "lrn2"):
        layer = model.get_layer(name)
        shape = (BATCH,) + tuple(layer.input.shape[1:])
        x = tf.Variable(rng.normal(shape) * 20.0)
        alpha = layer.alpha / layer.size if layer.alpha_mode == "mean" else layer.alpha
        variants = {
            "slices (old keras.ops)": _grad_fn(tf, lambda t: _old_lrn_call(layer, t), x),
            "avg-pool + rsqrt keras.ops (new, JAX/Torch)": _grad_fn(tf, lambda t: lrn_ops(t, layer.size, layer.k, alpha, layer.beta), x),
            "tf.nn fused (new, TF)": _grad_fn(tf, lambda t: LocalResponseNormalization.call(layer, t), x),
        }
        result = _alternate(variants, blocks, reps)
        base = result["slices (old keras.ops)"]
        for variant, seconds in result.items():
            rows.append({"what": f"{name} {shape}", "variant": variant, "ms": f"{seconds * 1e3:.1f}",
                         "ratio to old": f"{seconds / base:.2f}"})
    return rows


def _bare_step(keras, tf, lrn_call, towers=2, conv2d_groups=False):
    """AlexNet@64 + fc 512-512-4, AdamW; the LRN layers traced with ``lrn_call``.

    ``conv2d_groups=True``: the ``GroupedConv2D`` layers as plain ``Conv2D(groups=2)`` (the same
    configuration and kernel), the form kerasnets built before.
    """
    import kerasnets
    from kerasnets.layers import LocalResponseNormalization
    from plain_conv_form import plain_conv_form  # tests/: the Conv2D(groups=2) form, weights kept

    original = LocalResponseNormalization.call
    LocalResponseNormalization.call = lrn_call
    try:
        keras.utils.set_random_seed(0)
        base = kerasnets.alexnet(include_top=False, input_shape=(SIZE, SIZE, 3), towers=towers)
        if conv2d_groups:
            base = plain_conv_form(base)
        x = keras.layers.Flatten()(base.output)
        x = keras.layers.Dense(512, activation="relu")(x)
        x = keras.layers.Dense(512, activation="relu")(x)
        out = keras.layers.Dense(4)(x)
        model = keras.Model(base.input, out)
        model.compile(optimizer=keras.optimizers.AdamW(1e-4),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
        rng = tf.random.Generator.from_seed(1)
        images = rng.uniform((BATCH, SIZE, SIZE, 3), 0, 255)
        labels = tf.cast(rng.uniform((BATCH,), 0, 4, dtype=tf.int32), tf.int64)
        model.train_on_batch(images, labels)  # traces with lrn_call
    finally:
        LocalResponseNormalization.call = original
    return lambda: model.train_on_batch(images, labels)


def bench_train_step(tf, keras, blocks, reps):
    from kerasnets.layers import LocalResponseNormalization

    new = LocalResponseNormalization.call
    old = "old LRN (keras.ops slices), Conv2D(groups=2)"
    variants = {
        old: _bare_step(keras, tf, _old_lrn_call, conv2d_groups=True),
        "new LRN (tf.nn fused), Conv2D(groups=2)": _bare_step(keras, tf, new, conv2d_groups=True),
        "as built now: new LRN, GroupedConv2D (split + concat)": _bare_step(keras, tf, new),
        "new LRN, towers=1 (2x MACs in conv2/4/5)": _bare_step(keras, tf, new, towers=1),
    }
    result = _alternate(variants, blocks, reps)
    base = result[old]
    return [{"what": f"bare AlexNet@{SIZE} train step, batch {BATCH}", "variant": v, "ms": f"{s * 1e3:.0f}",
             "ratio to old": f"{s / base:.2f}"} for v, s in result.items()]


def bench_grouped_conv(tf, keras, blocks, reps):
    import kerasnets

    model = kerasnets.alexnet(include_top=False, input_shape=(SIZE, SIZE, 3))
    rows = []
    for name in ("conv2", "conv4", "conv5"):
        conv = model.get_layer(name)
        shape = (BATCH,) + tuple(conv.input.shape[1:])
        cin, cout, k = shape[-1], conv.filters, conv.kernel_size[0]
        x = tf.Variable(tf.random.stateless_normal(shape, seed=(0, 1)))

        grouped = keras.layers.Conv2D(cout, k, padding="same", groups=2)
        halves = [keras.layers.Conv2D(cout // 2, k, padding="same") for _ in range(2)]
        single = keras.layers.Conv2D(cout, k, padding="same")
        for layer in (grouped, *halves, single):
            layer.build(shape if layer is not halves[0] and layer is not halves[1] else shape[:-1] + (cin // 2,))

        def split(t):
            a, b = tf.split(t, 2, axis=-1)
            return tf.concat([halves[0](a), halves[1](b)], axis=-1)

        variants = {
            "Conv2D(groups=2)": _grad_fn(tf, grouped, x, grouped.trainable_variables),
            "2 x Conv2D on halves + concat": _grad_fn(tf, split, x, [v for h in halves for v in h.trainable_variables]),
            "one tower Conv2D (2x MACs)": _grad_fn(tf, single, x, single.trainable_variables),
        }
        result = _alternate(variants, blocks, reps)
        base = result["Conv2D(groups=2)"]
        for variant, seconds in result.items():
            rows.append({"what": f"{name} {shape} -> {cout}, {k}x{k}", "variant": variant,
                         "ms": f"{seconds * 1e3:.1f}", "ratio to old": f"{seconds / base:.2f}"})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=5, help="alternating blocks per group (default: 5)")
    parser.add_argument("--reps", type=int, default=5, help="calls per block (default: 5)")
    parser.add_argument("--only", choices=("lrn", "step", "conv"), action="append",
                        help="run only these groups (repeatable; default: all)")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    import keras
    import tensorflow as tf

    groups = args.only or ["lrn", "step", "conv"]
    rows = []
    if "lrn" in groups:
        rows += bench_lrn(tf, keras, args.blocks, args.reps)
    if "step" in groups:
        rows += bench_train_step(tf, keras, args.blocks, max(1, args.reps // 2))
    if "conv" in groups:
        rows += bench_grouped_conv(tf, keras, args.blocks, args.reps)
    print(header("LRN and grouped convolutions, forward + backward (TensorFlow backend)"))
    print(markdown_table(rows, ["what", "variant", "ms", "ratio to old"]))
    print("\n(ratio: to the first variant of each group: old LRN, Conv2D(groups=2))")
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
