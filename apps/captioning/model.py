"""The captioner: a kerasnets CNN encoder and a GRU/LSTM decoder with optional attention.

Encoder (Vinyals et al. 2015, "Show and Tell"; Xu et al. 2015, "Show, Attend and Tell"):
any registered kerasnets backbone built with ``include_top=False`` and no pooling, so its
last feature map ``(h, w, d)`` is kept and flattened into ``L = h * w`` annotation vectors.
The mean of those vectors initialises the decoder state (Xu et al. Sec. 3.1.2).

Decoder: word embedding -> dropout -> a GRU or LSTM cell -> a tanh "deep output" layer ->
dropout -> a Dense layer over the vocabulary. With ``attention=True`` each step first computes additive (Bahdanau et al. 2015)
attention over the ``L`` annotation vectors from the previous hidden state,

    e_ti = v^T tanh(W a_i + U h_{t-1}),  alpha_t = softmax(e_t),  z_t = sum_i alpha_ti a_i,

and feeds ``[embedding(y_{t-1}), z_t]`` to the cell; the output layer sees ``[h_t, z_t]``
(the "soft" attention of Show, Attend and Tell, without its doubly stochastic penalty).
Two additions, both needed when the encoder is not pretrained: the annotation vectors are
layer-normalised, and a learned position embedding is added to their projection so that the
decoder knows *where* it looked (an ImageNet-trained CNN encodes position in its features; a
random one hardly does, and "above"/"left of" need it).

Training is teacher forcing: the input is ``<start> w1 .. wn`` and the target ``w1 .. wn <end>``;
padding (id 0) is masked out of the loss (``ignore_class=0``). The attention loop is a
``keras.ops.scan`` over a generic ``GRUCell``/``LSTMCell``, so the whole train step compiles
with XLA (``jit_compile=True``); without attention the decoder is a ``keras.layers.GRU``/``LSTM``
whose ``use_cudnn`` option chooses between the cuDNN-fused kernel (GPU, not XLA-compilable)
and the generic loop. All model code is Keras 3 (``keras.ops``), so it runs under JAX too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import keras
import numpy as np
from keras import layers, ops

import kerasnets
from kerasnets.checks import check_choice, check_fraction, check_positive_int

__all__ = [
    "CaptionerConfig",
    "CaptionDecoder",
    "AttentionCell",
    "build_encoder",
    "encoder_fingerprint",
    "compute_features",
    "EndToEndCaptioner",
    "TwoRateAdam",
    "PREPROCESSING",
]

CELLS = ("gru", "lstm")
#: Pixel preprocessing applied inside the encoder: "symmetric" maps [0, 255] to [-1, 1];
#: "caffe" is keras.applications' VGG/ResNet50 (RGB->BGR, minus ImageNet mean);
#: "torch" divides by 255 and standardises with the ImageNet mean/std.
PREPROCESSING = ("symmetric", "caffe", "torch")


@dataclasses.dataclass
class CaptionerConfig:
    """Everything needed to rebuild a captioner (saved as ``config.json``).

    Attributes:
        backbone: a kerasnets model name (``kerasnets.list_models()``).
        backbone_options: extra keyword arguments of the backbone builder
            (e.g. ``{"form": "modern", "batch_norm": True}`` for ``lenet5``).
        image_size: encoder input side length (images are resized to it).
        preprocess: one of `PREPROCESSING`.
        cell: ``"gru"`` or ``"lstm"``.
        units: hidden size of the recurrent cell.
        embed_dim: word-embedding size.
        attention: additive attention over the feature map (Show, Attend and Tell).
        attention_units: size of the attention MLP.
        dropout: dropout rate on embeddings and on the cell output.
        use_cudnn: ``"auto"``, True or False, for the attention-free GRU/LSTM layer.
        max_length: maximum caption length in words (longer captions are truncated).
        vocab_size: vocabulary cap including the 4 special tokens.
        feature_shape: ``(h, w, d)`` of the encoder's output (filled in when built).
    """

    backbone: str = "vgg16"
    backbone_options: dict = dataclasses.field(default_factory=dict)
    image_size: int = 224
    preprocess: str = "symmetric"
    cell: str = "gru"
    units: int = 256
    embed_dim: int = 128
    attention: bool = True
    attention_units: int = 128
    dropout: float = 0.3
    use_cudnn: object = "auto"
    max_length: int = 20
    vocab_size: int = 5000
    feature_shape: tuple | None = None

    def validate(self) -> "CaptionerConfig":
        """Check every field (ValueError/TypeError naming the field and value)."""
        kerasnets.get_spec(self.backbone)
        if not isinstance(self.backbone_options, dict) or not all(isinstance(k, str) for k in self.backbone_options):
            raise TypeError("`backbone_options` must be a dict of builder keyword arguments. "
                            f"Received: backbone_options={self.backbone_options!r}")
        check_positive_int("image_size", self.image_size)
        check_choice("preprocess", self.preprocess, PREPROCESSING)
        check_choice("cell", self.cell, CELLS)
        check_positive_int("units", self.units)
        check_positive_int("embed_dim", self.embed_dim)
        check_positive_int("attention_units", self.attention_units)
        check_fraction("dropout", self.dropout)
        check_choice("use_cudnn", self.use_cudnn, ("auto", True, False))
        check_positive_int("max_length", self.max_length)
        check_positive_int("vocab_size", self.vocab_size, minimum=5)
        if not isinstance(self.attention, bool):
            raise TypeError(f"`attention` must be True or False. Received: attention={self.attention!r}")
        return self

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["feature_shape"] = None if self.feature_shape is None else list(self.feature_shape)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "CaptionerConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"Unknown captioner config keys {unknown}. Received: config={d!r}")
        d = dict(d)
        if d.get("feature_shape") is not None:
            d["feature_shape"] = tuple(d["feature_shape"])
        return cls(**d)


# ----------------------------------------------------------------------------------------
# Encoder
# ----------------------------------------------------------------------------------------


def _preprocess(x, mode):
    x = ops.cast(x, "float32")
    if mode == "symmetric":
        return x / 127.5 - 1.0
    if mode == "caffe":
        x = ops.flip(x, axis=-1)
        return x - ops.convert_to_tensor(np.array([103.939, 116.779, 123.68], "float32"))
    mean = ops.convert_to_tensor(np.array([0.485, 0.456, 0.406], "float32"))
    std = ops.convert_to_tensor(np.array([0.229, 0.224, 0.225], "float32"))
    return (x / 255.0 - mean) / std


def build_encoder(config: CaptionerConfig, *, weights: str | None = None) -> keras.Model:
    """The encoder: pixels (0..255) -> preprocessing -> backbone -> ``(L, d)`` annotation vectors.

    Args:
        config: the captioner config (``backbone``, ``image_size``, ``preprocess``).
        weights: optional path of a ``.weights.h5`` file for the backbone (e.g. ImageNet
            weights saved from the matching keras.applications model).

    Returns:
        A functional ``keras.Model`` named ``encoder`` mapping ``(batch, S, S, 3)`` float
        pixels to ``(batch, h * w, d)``; ``config.feature_shape`` is set to ``(h, w, d)``.

    Raises:
        ValueError: unknown backbone, too small an image size for it, or a bad weights file.
    """
    size = config.image_size
    backbone = kerasnets.get_model(
        config.backbone, include_top=False, weights=weights, input_shape=(size, size, 3), pooling=None,
        **config.backbone_options,
    )
    out_shape = tuple(backbone.output.shape[1:])
    if len(out_shape) != 3 or None in out_shape:
        raise ValueError(
            "The encoder backbone must output a (height, width, channels) feature map with "
            f"include_top=False. Received: backbone={config.backbone!r} (output shape {out_shape})"
        )
    config.feature_shape = tuple(int(d) for d in out_shape)
    h, w, d = config.feature_shape
    images = keras.Input((size, size, 3), name="images")
    x = layers.Lambda(lambda t: _preprocess(t, config.preprocess), name="preprocess")(images)
    x = backbone(x)
    x = layers.Reshape((h * w, d), name="annotations")(x)
    return keras.Model(images, x, name="encoder")


def encoder_fingerprint(encoder: keras.Model, config: CaptionerConfig) -> str:
    """A hash of the encoder's architecture settings and weight values (the feature-cache key)."""
    digest = hashlib.sha1()
    digest.update(json.dumps([config.backbone, config.image_size, config.preprocess]).encode())
    for w in encoder.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(w)).tobytes())
    return digest.hexdigest()[:16]


def compute_features(
    encoder: keras.Model,
    load_batch,
    count: int,
    *,
    batch_size: int = 32,
    cache_path: str | None = None,
    progress: bool = True,
    description: str = "encoding images",
) -> np.ndarray:
    """Run the encoder over ``count`` images in batches, with a progress bar and an on-disk cache.

    Args:
        encoder: from `build_encoder`.
        load_batch: ``load_batch(start, stop) -> uint8 array (n, S, S, 3)``.
        count: number of images.
        batch_size: images per encoder call.
        cache_path: optional ``.npy`` path; if it exists with the right shape it is loaded
            instead of recomputed, otherwise it is written (float16) after computing, and the
            float16-rounded features are returned either way.
        progress: report progress on stderr (a rich bar on a terminal, else one plain line).
        description: progress-bar label.

    Returns:
        ``(count, L, d)`` float32 features.
    """
    expected = (count,) + tuple(encoder.output.shape[1:])
    if cache_path and os.path.isfile(cache_path):
        cached = np.load(cache_path, mmap_mode="r")
        if cached.shape == expected:
            return np.asarray(cached, dtype=np.float32)
    out = np.empty(expected, np.float32)
    starts = range(0, count, batch_size)
    if progress and _stderr_is_tty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task(description, total=count)
            for start in starts:
                stop = min(start + batch_size, count)
                out[start:stop] = keras.ops.convert_to_numpy(encoder(load_batch(start, stop).astype("float32")))
                bar.update(task, advance=stop - start)
    else:
        for start in starts:
            stop = min(start + batch_size, count)
            out[start:stop] = keras.ops.convert_to_numpy(encoder(load_batch(start, stop).astype("float32")))
    if progress:
        import sys

        print(f"{description}: {count} images", file=sys.stderr, flush=True)
    if cache_path:
        os.makedirs(os.path.dirname(os.path.abspath(cache_path)), exist_ok=True)
        tmp = cache_path + ".tmp.npy"
        half = out.astype(np.float16)
        np.save(tmp, half)
        os.replace(tmp, cache_path)
        # The features a later run reads from the cache: returning the same ones now keeps a
        # run that computes them and one that reads them (e.g. after a resume) bit-identical.
        out = half.astype(np.float32)
    return out


def _stderr_is_tty() -> bool:
    import sys

    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# ----------------------------------------------------------------------------------------
# Decoder
# ----------------------------------------------------------------------------------------


class CaptionDecoder(keras.Model):
    """GRU/LSTM caption decoder over ``(L, d)`` annotation vectors, with optional attention.

    Inputs of `call`: ``{"features": (B, L, d) float, "tokens": (B, T) int}`` where
    ``tokens`` starts with ``<start>``, optionally with ``"image_index": (B,) int`` and then
    ``features`` of shape ``(U, L, d)``, one row per image (see `teacher_forcing`); output: ``(B, T, vocab_size)`` logits for the next word.
    `prepare` and `step` are the same computation one word at a time (used by
    greedy and beam decoding, and inside the exported SavedModel's ``tf.while_loop``).

    Args:
        config: a `CaptionerConfig` with ``feature_shape`` set.
        vocab_size: the actual vocabulary size (<= ``config.vocab_size``).
    """

    def __init__(self, config: CaptionerConfig, vocab_size: int, **kwargs):
        kwargs.setdefault("name", "decoder")
        super().__init__(**kwargs)
        self.config = config
        self.vocab_size = int(vocab_size)
        h, w, d = config.feature_shape
        self.num_positions, self.feature_dim = h * w, d
        units, cfg = config.units, config
        self.feature_norm = layers.LayerNormalization(name="feature_norm")
        self.init_h = layers.Dense(units, activation="tanh", name="init_h")
        self.init_c = layers.Dense(units, activation="tanh", name="init_c") if cfg.cell == "lstm" else None
        self.embedding = layers.Embedding(self.vocab_size, cfg.embed_dim, name="embedding")
        self.embed_dropout = layers.Dropout(cfg.dropout, name="embed_dropout")
        self.out_dropout = layers.Dropout(cfg.dropout, name="out_dropout")
        # Deep output layer (Xu et al. 2015, Eq. 7, with a tanh): [h_t, z_t] -> embed_dim -> words.
        self.deep_output = layers.Dense(cfg.embed_dim, activation="tanh", name="deep_output")
        self.logits_layer = layers.Dense(self.vocab_size, name="logits")
        cell_cls = layers.GRUCell if cfg.cell == "gru" else layers.LSTMCell
        if cfg.attention:
            self.feature_proj = layers.Dense(units, name="feature_proj")
            self.att_features = layers.Dense(cfg.attention_units, name="att_features")
            self.attention_cell = AttentionCell(
                cell_cls(units, name=f"{cfg.cell}_cell"), h * w, cfg.attention_units, name="attention_cell"
            )
            self.attention_rnn = layers.RNN(self.attention_cell, return_sequences=True, name="attention_rnn")
            self.rnn = None
        else:
            rnn_cls = layers.GRU if cfg.cell == "gru" else layers.LSTM
            self.rnn = rnn_cls(
                units, return_sequences=True, return_state=True, use_cudnn=cfg.use_cudnn, name=cfg.cell
            )
            self.attention_cell = None
        self._build_all()

    # All weights are created up front: the attention cell runs inside ops.scan /
    # tf.while_loop, where no variable may be created.
    def _build_all(self):
        cfg, L, d, units = self.config, self.num_positions, self.feature_dim, self.config.units
        self.feature_norm.build((None, L, d))
        self.init_h.build((None, d))
        if self.init_c is not None:
            self.init_c.build((None, d))
        self.embedding.build((None, None))
        if cfg.attention:
            self.feature_proj.build((None, L, d))
            self.position_embedding = self.add_weight(
                shape=(L, units), initializer=keras.initializers.RandomNormal(stddev=0.02), name="position_embedding"
            )
            self.att_features.build((None, L, units))
            self.attention_rnn.build((None, None, cfg.embed_dim))
            self.deep_output.build((None, 2 * units))
        else:
            self.rnn.build((None, None, cfg.embed_dim))
            self.deep_output.build((None, units))
        self.logits_layer.build((None, cfg.embed_dim))
        self.built = True

    def prepare(self, features):
        """Annotation memory and initial state from ``(B, L, d)`` features.

        Returns:
            ``(memory, states)``: memory is ``(values, keys)`` for attention (``()`` without),
            states is a list ``[h]`` (GRU) or ``[h, c]`` (LSTM).
        """
        f = self.feature_norm(ops.cast(features, self.compute_dtype))
        pooled = ops.mean(f, axis=1)
        states = [self.init_h(pooled)]
        if self.init_c is not None:
            states.append(self.init_c(pooled))
        if not self.config.attention:
            return (), states
        values = self.feature_proj(f) + self.position_embedding
        keys = self.att_features(values)
        return (values, keys), states

    def _cell_step(self, x, states, memory):
        if self.config.attention:
            return self.attention_cell.step(x, states, memory)
        h, new_states = self.rnn.cell(x, states)
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        return h, list(new_states), None, None

    def _logits(self, h, context, training=False):
        z = h if context is None else ops.concatenate([h, context], axis=-1)
        return self.logits_layer(self.out_dropout(self.deep_output(z), training=training))

    def step(self, tokens, states, memory):
        """One decoding step (inference): ``(logits (B, V), new_states, alpha (B, L) or None)``."""
        x = self.embedding(tokens)
        h, new_states, context, alpha = self._cell_step(x, states, memory)
        return self._logits(h, context), new_states, alpha

    def teacher_forcing(self, features, tokens, training=False, image_index=None):
        """Logits ``(B, T, V)`` and attention ``(B, T, L)`` (None without attention).

        Args:
            features: ``(B, L, d)``, one row per caption; or, with ``image_index``, ``(U, L, d)``
                one row per *image* of the batch.
            tokens: ``(B, T)`` decoder inputs.
            training: dropout on.
            image_index: optional ``(B,)`` row of ``features`` for each caption. The annotation
                projections and the initial state are then computed once per image and
                gathered per caption (the captions of an image share them), instead of once
                per caption: with 5 captions an image that is most of the attention form's
                extra arithmetic.
        """
        memory, states = self.prepare(features)
        if image_index is not None:
            memory = tuple(ops.take(m, image_index, axis=0) for m in memory)
            states = [ops.take(s, image_index, axis=0) for s in states]
        emb = self.embed_dropout(self.embedding(tokens), training=training)
        if not self.config.attention:
            out = self.rnn(emb, initial_state=states, training=training)
            return self._logits(out[0], None, training=training), None

        out = self.attention_rnn(emb, initial_state=states + [ops.reshape(m, (ops.shape(m)[0], -1)) for m in memory])
        units, L = self.config.units, self.num_positions
        hs, contexts, alphas = out[..., :units], out[..., units : 2 * units], out[..., 2 * units : 2 * units + L]
        return self._logits(hs, contexts, training=training), alphas

    def call(self, inputs, training=False):
        logits, _ = self.teacher_forcing(inputs["features"], inputs["tokens"], training=training,
                                         image_index=inputs.get("image_index"))
        return logits


class EndToEndCaptioner(keras.Model):
    """Encoder and decoder trained together (fine-tuning the CNN): ``{"images", "tokens"}`` -> logits.

    The frozen path trains the decoder alone on cached features; this model back-propagates
    the caption loss into the encoder as well, as Show, Attend and Tell's fine-tuned runs and
    every from-scratch encoder need (a random frozen CNN hardly separates shapes). Batch
    normalisation in the encoder runs in training mode here.

    Args:
        encoder: from `build_encoder` (pixels -> ``(B, L, d)``).
        decoder: a `CaptionDecoder`.
    """

    def __init__(self, encoder, decoder, **kwargs):
        kwargs.setdefault("name", "captioner")
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.built = True  # both parts hold all their weights already (BackupAndRestore needs it)

    def call(self, inputs, training=False):
        features = self.encoder(inputs["images"], training=training)
        decoder_inputs = {"features": features, "tokens": inputs["tokens"]}
        if "image_index" in inputs:  # images given once per image, captions point at them
            decoder_inputs["image_index"] = inputs["image_index"]
        return self.decoder(decoder_inputs, training=training)


class TwoRateAdam(keras.optimizers.Adam):
    """Adam whose step for a chosen set of variables is scaled by ``scale``.

    Used to fine-tune an encoder with a smaller learning rate than the decoder (a pretrained
    CNN is easily wrecked by the decoder's rate). Keras 3 optimizers have no per-variable
    learning rate, so `update_step` scales it for the listed variables.

    Args:
        learning_rate: the decoder's (base) learning rate.
        scaled_variables: the variables whose learning rate is ``learning_rate * scale``.
        scale: the factor (e.g. ``encoder_learning_rate / learning_rate``).
        **kwargs: passed to ``keras.optimizers.Adam`` (e.g. ``global_clipnorm``).
    """

    def __init__(self, learning_rate=1e-3, *, scaled_variables=(), scale=1.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        # Keys from the optimizer's own ``_var_key`` (backend-aware: the TensorFlow backend
        # passes the underlying tf.Variable to update_step, not the Keras variable).
        self._scaled_keys = frozenset(self._var_key(v) for v in scaled_variables)
        self._scale = float(scale)

    def update_step(self, gradient, variable, learning_rate):
        if self._scale != 1.0 and self._var_key(variable) in self._scaled_keys:
            learning_rate = ops.cast(learning_rate, variable.dtype) * self._scale
        return super().update_step(gradient, variable, learning_rate)


class AttentionCell(layers.Layer):
    """One Show-Attend-and-Tell step as a Keras RNN cell, run by ``keras.layers.RNN``.

    From the previous hidden state it computes additive attention over the annotation memory,
    then runs the wrapped GRUCell/LSTMCell on ``[x_t, z_t]``. Keras 3 RNN cells get no
    "constants", so the memory (projected values ``(L, units)`` and keys ``(L, attention_units)``,
    flattened) rides along in the state, unchanged. The step output is ``[h_t, z_t, alpha_t]``.
    The generic RNN loop sets its maximum iteration count, which XLA needs to differentiate
    the loop (Keras' TensorFlow ``ops.scan`` does not, so it cannot be jit-compiled).

    Args:
        cell: a ``keras.layers.GRUCell`` or ``LSTMCell``.
        num_positions: ``L``, the number of annotation vectors.
        attention_units: size of the attention MLP.
    """

    def __init__(self, cell, num_positions, attention_units, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.units = cell.units
        self.L, self.att_units = int(num_positions), int(attention_units)
        self.att_state = layers.Dense(self.att_units, use_bias=False, name="att_state")
        self.att_score = layers.Dense(1, name="att_score")
        inner = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
        self.n_states = len(inner)
        self.state_size = list(inner) + [self.L * self.units, self.L * self.att_units]
        self.output_size = 2 * self.units + self.L

    def build(self, input_shape):
        self.att_state.build((None, self.units))
        self.att_score.build((None, self.L, self.att_units))
        self.cell.build((None, input_shape[-1] + self.units))
        self.built = True

    def attend(self, h, memory):
        """Additive attention: ``(context (B, units), alpha (B, L))`` for hidden state ``h``."""
        values, keys = memory
        hidden = ops.tanh(keys + ops.expand_dims(self.att_state(h), 1))
        # Dense on a 2-D tensor: a rank-3 Dense is a tensordot whose gradient XLA cannot
        # compile inside a while loop (its transpose permutation is not a constant).
        scores = self.att_score(ops.reshape(hidden, (-1, self.att_units)))
        alpha = ops.softmax(ops.reshape(scores, (-1, self.L)), axis=-1)
        context = ops.sum(values * ops.expand_dims(alpha, -1), axis=1)
        return context, alpha

    def step(self, x, states, memory):
        """``(h, new_states, context, alpha)`` for input ``x`` and the GRU/LSTM ``states``."""
        context, alpha = self.attend(states[0], memory)
        h, new_states = self.cell(ops.concatenate([x, context], axis=-1), states)
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        return h, list(new_states), context, alpha

    def call(self, inputs, states, training=False):
        states = list(states)
        values = ops.reshape(states[self.n_states], (-1, self.L, self.units))
        keys = ops.reshape(states[self.n_states + 1], (-1, self.L, self.att_units))
        h, new_states, context, alpha = self.step(inputs, states[: self.n_states], (values, keys))
        return ops.concatenate([h, context, alpha], axis=-1), new_states + states[self.n_states :]
