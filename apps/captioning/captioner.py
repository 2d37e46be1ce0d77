"""The `Captioner`: encoder + decoder + vocabulary, trained, saved and loaded together.

A saved captioner is a directory::

    config.json           CaptionerConfig and training notes
    vocab.txt             the vocabulary, one token a line, in id order
    encoder.weights.h5    the encoder (backbone) weights (also when they are random:
                          cached features depend on them)
    decoder.weights.h5    the decoder weights

Example:
    >>> from kerasnets.data.synthetic_captions import make_captioned_scenes
    >>> from apps.captioning.captioner import Captioner, CaptionerConfig
    >>> s = make_captioned_scenes(8)
    >>> cfg = CaptionerConfig(backbone="nin_cifar", image_size=32, units=32, embed_dim=16)
    >>> cap = Captioner.create(cfg, [c for cs in s.captions for c in cs])
    >>> len(cap.caption(s.images[:2]))
    2
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np

from apps.captioning.decoding import beam_search, greedy_decode
from apps.captioning.model import (
    CaptionDecoder,
    CaptionerConfig,
    EndToEndCaptioner,
    TwoRateAdam,
    build_encoder,
    compute_features,
    encoder_fingerprint,
)
from apps.captioning.text import CaptionVocabulary
from kerasnets.checks import check_positive_int, check_positive_number
from kerasnets.checks import is_published_name

__all__ = ["Captioner", "CaptionerConfig", "CaptionBatches", "FitOptions"]


class CaptionBatches(keras.utils.PyDataset):
    """Teacher-forcing batches of ``batch_size`` captions: ``tokens[:-1]`` -> ``tokens[1:]``.

    By default each caption gets its own row of features (``{input_key: (B, ...), "tokens"}``)
    and the order of epoch ``e`` is ``numpy.random.default_rng([seed, e]).permutation``: a
    function of the seed and the epoch only, so a run resumed at epoch ``e`` sees the same
    batches as an uninterrupted one (`set_epoch` is called at the start of every epoch
    by `Captioner.fit`).

    With ``group_by_image=True`` the images are shuffled instead and each image's captions
    follow one another (as neuraltalk2 and ImageCaptioning.pytorch batch ``seq_per_img``
    captions); a batch then holds each of its images' features *once* plus
    ``"image_index": (B,) int32`` pointing every caption at its row, so the decoder projects
    an image's annotations once per batch instead of once per caption (measured in
    ``bench/captioning_bench.py --part attention``). The image rows are padded to a fixed
    count (repeating the last; padded rows are never pointed at) so every full batch has one
    shape. Use it with cached features: in end-to-end training the padded rows would enter
    the encoder's batch-norm statistics.

    Args:
        features: ``(n_images, L, d)`` features (or ``(n_images, S, S, 3)`` images).
        image_index: ``(n_captions,)`` row of ``features`` for each caption.
        token_ids: ``(n_captions, T + 1)`` encoded captions.
        batch_size: captions per batch.
        shuffle: reshuffle every epoch.
        seed: shuffling seed.
        input_key: the input name of the gathered rows (``"features"``, or ``"images"`` when
            ``features`` holds the images themselves, for end-to-end training).
        group_by_image: batch the captions of an image together, its features once.
    """

    def __init__(self, features, image_index, token_ids, *, batch_size=64, shuffle=True, seed=0,
                 input_key="features", group_by_image=False, **kwargs):
        super().__init__(**kwargs)
        self.group_by_image = bool(group_by_image)
        self.features = features
        self.input_key = input_key
        self.image_index = np.asarray(image_index)
        self.token_ids = np.asarray(token_ids)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = int(seed)
        self._fit_dataset = None
        self.images = np.unique(self.image_index)
        counts = np.bincount(self.image_index)[self.images] if len(self.images) else np.array([1])
        # A batch of B consecutive captions spans at most ceil((B - 1) / min_count) + 1 images.
        self.images_per_batch = int(min(batch_size, len(self.images),
                                        -(-(batch_size - 1) // int(counts.min())) + 1)) if len(self.images) else 1
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (0-based)."""
        self.epoch = int(epoch)
        if not self.group_by_image:
            n = len(self.image_index)
            rng = np.random.default_rng([self.seed, self.epoch])
            self.order = rng.permutation(n) if self.shuffle else np.arange(n)
        elif self.shuffle:
            perm = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))
            rank = np.empty(int(self.image_index.max()) + 1 if len(self.image_index) else 0, np.int64)
            rank[self.images[perm]] = np.arange(len(perm))
            self.order = np.argsort(rank[self.image_index], kind="stable")
        else:
            self.order = np.argsort(self.image_index, kind="stable")

    def __len__(self):
        return int(np.ceil(len(self.order) / self.batch_size))

    def __getitem__(self, i):
        rows = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        tokens = self.token_ids[rows]
        if not self.group_by_image:
            return {self.input_key: self.features[self.image_index[rows]], "tokens": tokens[:, :-1]}, tokens[:, 1:]
        uniq, inverse = np.unique(self.image_index[rows], return_inverse=True)
        pad = self.images_per_batch - len(uniq)
        if pad > 0:
            uniq = np.concatenate([uniq, np.repeat(uniq[-1:], pad)])
        inputs = {self.input_key: self.features[uniq], "image_index": inverse.astype(np.int32).reshape(-1),
                  "tokens": tokens[:, :-1]}
        return inputs, tokens[:, 1:]

    def tf_dataset(self, *, prefetch: int = 1):
        """These batches as a ``tf.data.Dataset`` (TensorFlow backend), with tf.data's autotuning off.

        The same batches in the same order as the sequence: each is read when the iterator
        reaches it (so `set_epoch` at the start of an epoch applies), ``prefetch`` of them made
        ahead while the model trains, the cardinality known (a progress bar gets its total).
        It replaces what ``model.fit`` makes of a ``PyDataset`` on TensorFlow
        (``Dataset.from_generator`` then ``prefetch(AUTOTUNE)``): deleting an autotuned iterator
        waits for its tuning thread, and ``fit`` deletes one when it returns, up to 2 s on a
        loaded 2-core CPU; and the generator costs more than twice the CPU time per batch of the
        one NumPy call here (docs/benchmarks.md, issue 19).

        Raises:
            ValueError: if there are no captions.
        """
        if len(self) == 0:
            raise ValueError(
                f"`token_ids` must hold at least one caption. Received: token_ids.shape={self.token_ids.shape}"
            )
        import tensorflow as tf

        x, y = self[0]
        keys = list(x)
        first = [np.asarray(x[k]) for k in keys] + [np.asarray(y)]

        def batch(i):
            x, y = self[int(i)]
            return tuple(x[k] for k in keys) + (y,)

        def structured(*arrays):
            for array, like in zip(arrays, first):  # the batch dimension is left open: the last batch may be short
                array.set_shape((None,) + like.shape[1:])
            return dict(zip(keys, arrays[:-1])), arrays[-1]

        dtypes = [tf.as_dtype(a.dtype) for a in first]
        # stateful: a batch depends on the epoch's order (set_epoch), read when the pass reaches it.
        ds = tf.data.Dataset.range(len(self)).map(
            lambda i: structured(*tf.numpy_function(batch, [i], dtypes, stateful=True))
        )
        options = tf.data.Options()
        options.autotune.enabled = False
        return (ds.prefetch(prefetch) if prefetch else ds).with_options(options)

    def fit_input(self):
        """What ``model.fit`` is given for these batches: `tf_dataset` on TensorFlow, else the sequence.

        The dataset is made once and kept (it reads the batches afresh on every pass): building
        it costs ~0.1 s, which a caller of ``fit`` per epoch (a benchmark) would pay every time.
        """
        if keras.backend.backend() != "tensorflow":
            return self
        if self._fit_dataset is None:
            self._fit_dataset = self.tf_dataset()
        return self._fit_dataset


class _EpochOrder(keras.callbacks.Callback):
    """Sets the data order of each epoch (``CaptionBatches.set_epoch``) when it begins."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def on_epoch_begin(self, epoch, logs=None):
        self.data.set_epoch(epoch)


@dataclasses.dataclass(frozen=True)
class FitOptions:
    """The training settings of `Captioner.fit` and `Captioner.fit_end_to_end` (checked on creation).

    Attributes:
        epochs: training epochs.
        batch_size: captions per batch.
        learning_rate: Adam learning rate (the decoder's; the encoder's may differ end to end).
        clipnorm: clip the global norm of all gradients to this.
        jit_compile: compile the training step with XLA.
        callbacks: Keras callbacks.
        verbose: Keras verbosity.
        seed: shuffling seed (the order of epoch ``e`` depends on ``seed`` and ``e`` only).
        run: optional `apps.captioning.run.RunFolder`: resume from its newest checkpoint and
            write one after every epoch.
    """

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    clipnorm: float = 5.0
    jit_compile: bool = False
    callbacks: tuple = ()
    verbose: int = 1
    seed: int = 0
    run: object = None

    def __post_init__(self):
        for name, check in (("epochs", check_positive_int), ("batch_size", check_positive_int),
                            ("learning_rate", check_positive_number), ("clipnorm", check_positive_number)):  # fmt: skip
            object.__setattr__(self, name, check(name, getattr(self, name)))

    @classmethod
    def from_kwargs(cls, method: str, options: dict) -> "FitOptions":
        """The options of a call to ``Captioner.<method>``; an unknown keyword is a ``TypeError`` naming it."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(f"Captioner.{method}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                            f"its training options are {', '.join(known)}")  # fmt: skip
        return cls(**options)


class Captioner:
    """A CNN encoder, a GRU/LSTM decoder and their vocabulary.

    Build with `create` (new) or `load` (saved directory).
    """

    def __init__(self, config: CaptionerConfig, vocab: CaptionVocabulary, encoder, decoder, notes=None):
        self.config = config
        self.vocab = vocab
        self.encoder = encoder
        self.decoder = decoder
        self.notes = dict(notes or {})

    # -- construction --------------------------------------------------------------------
    @classmethod
    def create(cls, config: CaptionerConfig, train_captions, *, encoder_weights: str | None = None, seed: int = 0):
        """A new captioner whose vocabulary is adapted on ``train_captions``.

        Args:
            config: a `CaptionerConfig` (validated here).
            train_captions: training caption strings (the vocabulary source).
            encoder_weights: optional backbone weights: a published name (``timm/...``), a
                ``.safetensors``/``.pth`` file or a ``.weights.h5`` file.
            seed: seed of the random initialisation.
        """
        config.validate()
        keras.utils.set_random_seed(seed)
        vocab = CaptionVocabulary.adapt(train_captions, max_tokens=config.vocab_size)
        encoder = build_encoder(config, weights=encoder_weights)
        decoder = CaptionDecoder(config, len(vocab))
        published = is_published_name(encoder_weights)
        where = encoder_weights if published or not encoder_weights else os.path.abspath(encoder_weights)
        notes = {"encoder_weights": where, "seed": seed}
        return cls(config, vocab, encoder, decoder, notes)

    @classmethod
    def load(cls, path: str) -> "Captioner":
        """Load a directory written by `save`.

        Raises:
            FileNotFoundError: if ``path`` is not a saved captioner (names the missing file).
        """
        for name in ("config.json", "vocab.txt", "encoder.weights.h5", "decoder.weights.h5"):
            if not os.path.isfile(os.path.join(path, name)):
                raise FileNotFoundError(
                    f"`model` must be a directory written by `python -m apps.captioning train` "
                    f"(missing {name}). Received: model={path!r}"
                )
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            saved = json.load(f)
        config = CaptionerConfig.from_json(saved["config"]).validate()
        vocab = CaptionVocabulary.load(os.path.join(path, "vocab.txt"))
        encoder = build_encoder(config)
        encoder.load_weights(os.path.join(path, "encoder.weights.h5"))
        decoder = CaptionDecoder(config, len(vocab))
        decoder.load_weights(os.path.join(path, "decoder.weights.h5"))
        return cls(config, vocab, encoder, decoder, saved.get("notes"))

    def save(self, path: str, *, keep=()) -> None:
        """Write the captioner to directory ``path`` (atomically: a temporary directory, then rename).

        Args:
            path: the directory; an existing one is replaced as a whole.
            keep: names of files of the existing directory to carry over (the run folder's
                ``run.json``); everything else in it is replaced.
        """
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".captioner-", dir=parent)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would make the saved model private to its owner
        try:
            for name in keep:
                if os.path.isfile(os.path.join(path, name)):
                    shutil.copy2(os.path.join(path, name), os.path.join(tmp, name))
            with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
                json.dump({"config": self.config.to_json(), "notes": self.notes}, f, indent=2)
            self.vocab.save(os.path.join(tmp, "vocab.txt"))
            self.encoder.save_weights(os.path.join(tmp, "encoder.weights.h5"))
            self.decoder.save_weights(os.path.join(tmp, "decoder.weights.h5"))
            if os.path.isdir(path):
                old = path + ".old"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    # -- features ------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """The encoder's cache key (architecture settings + weight values)."""
        return encoder_fingerprint(self.encoder, self.config)

    def features(self, images=None, *, load_batch=None, count=None, batch_size=32, cache_path=None, progress=False):
        """Encoder features ``(n, L, d)`` of uint8 images (an array, or ``load_batch``/``count``)."""
        if images is not None:
            images = self._check_images(images)
            count = len(images)

            def load_batch(start, stop):
                return images[start:stop]

        return compute_features(
            self.encoder, load_batch, count, batch_size=batch_size, cache_path=cache_path, progress=progress
        )

    # -- training ------------------------------------------------------------------------
    def compile(self, *, learning_rate=1e-3, clipnorm=5.0, jit_compile=False):
        """Adam with gradient clipping by global norm, masked cross-entropy (padding ignored).

        Recurrent nets can have exploding gradients (Pascanu et al. 2013); clipping the global
        norm of all gradients to ``clipnorm`` keeps one bad batch from wrecking the weights.
        """
        learning_rate = check_positive_number("learning_rate", learning_rate)
        clipnorm = check_positive_number("clipnorm", clipnorm)
        self.decoder.compile(
            optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=clipnorm),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
            jit_compile=jit_compile,
        )

    def fit(self, features, image_index, captions, *, val=None, group_by_image=False, **options):
        """Train the decoder on cached features with teacher forcing.

        Args:
            features: ``(n_images, L, d)`` features of the training images.
            image_index: for every caption, its row in ``features``.
            captions: caption strings (one per ``image_index`` entry).
            val: optional ``(features, image_index, captions)`` for validation loss.
            group_by_image: batch each image's captions together, its features once per
                batch (see `CaptionBatches`).
            **options: the training settings of `FitOptions` (``epochs=10``,
                ``batch_size=64``, ``learning_rate=1e-3``, ``clipnorm=5.0``,
                ``jit_compile=False``, ``callbacks=()``, ``verbose=1``, ``seed=0``, ``run=None``).

        Returns:
            The Keras ``History`` (with a resumed run: all epochs, the earlier ones from the
            checkpoint); ``self.notes["train_seconds"]`` gets the wall time.
        """
        options = FitOptions.from_kwargs("fit", options)
        self.compile(learning_rate=options.learning_rate, clipnorm=options.clipnorm, jit_compile=options.jit_compile)
        return self._fit(self.decoder, features, image_index, captions, val, input_key="features", options=options,
                         group_by_image=group_by_image)

    def _fit(self, model, inputs, image_index, captions, val, *, input_key, options, group_by_image=False):
        """``model.fit`` on caption batches of ``inputs`` (features or images); records the time."""
        max_length, batch_size, run = self.config.max_length, options.batch_size, options.run
        data = CaptionBatches(inputs, image_index, self.vocab.encode(captions, max_length=max_length),
                              batch_size=batch_size, seed=options.seed, input_key=input_key,
                              group_by_image=group_by_image)  # fmt: skip
        val_data = None
        if val is not None:
            v_inputs, v_index, v_captions = val
            val_data = CaptionBatches(v_inputs, v_index, self.vocab.encode(v_captions, max_length=max_length),
                                      batch_size=batch_size, shuffle=False, input_key=input_key).fit_input()
        callbacks = [_EpochOrder(data)] + list(options.callbacks)
        initial_epoch, past = 0, {}
        if run is not None:
            from apps.captioning.run import checkpoint_callback

            meta = run.restore_checkpoint(model)
            if meta is not None:
                initial_epoch, past = min(int(meta["epoch"]), options.epochs), meta.get("history", {})
                self.notes["resumed_at_epoch"] = initial_epoch
            callbacks.insert(1, checkpoint_callback(run, history=past, position=run.position))
        start = time.perf_counter()
        # shuffle=False: the order is CaptionBatches' own, a function of (seed, epoch). Keras'
        # shuffle of a PyDataset's batch order draws from the global NumPy RNG, which a resumed
        # run cannot replay. fit_input: on TensorFlow a tf.data pipeline without autotuning.
        history = model.fit(data.fit_input(), validation_data=val_data, epochs=options.epochs,
                            initial_epoch=initial_epoch, callbacks=callbacks, verbose=options.verbose, shuffle=False)
        if past:
            history.history = {k: list(past.get(k, [])) + list(v) for k, v in history.history.items()} or past
        self.notes["train_seconds"] = round(time.perf_counter() - start, 1)
        self.notes["epochs"] = options.epochs
        return history

    def fit_end_to_end(self, images, image_index, captions, *, val=None, encoder_learning_rate=None, **options):
        """Train encoder and decoder together from pixels (fine-tuning the CNN; no feature cache).

        The caption loss is back-propagated into the encoder, so a randomly initialised
        backbone learns the visual distinctions the captions need (the frozen path of
        `fit` only trains the decoder). Use a small backbone and image size on a CPU
        (e.g. ``resnet20`` at 32 pixels); for a pretrained encoder pass a smaller
        ``encoder_learning_rate``.

        Args:
            images: ``(n_images, S, S, 3)`` uint8 training images.
            image_index: for every caption, its row in ``images``.
            captions: caption strings (one per ``image_index`` entry).
            val: optional ``(images, image_index, captions)`` for validation loss.
            encoder_learning_rate: the encoder's Adam learning rate (default: ``learning_rate``);
                0 is not allowed (use `fit` to keep the encoder frozen).
            **options: the training settings of `FitOptions`, as in `fit` (the callbacks see
                the joint model; ``run`` resumes and checkpoints it).

        Returns:
            The Keras ``History``; ``self.notes`` records the training time and settings.

        Raises:
            ValueError: for images of the wrong shape or a non-positive learning rate.
        """
        options = FitOptions.from_kwargs("fit_end_to_end", options)
        learning_rate = options.learning_rate
        enc_lr = learning_rate if encoder_learning_rate is None else encoder_learning_rate
        enc_lr = check_positive_number("encoder_learning_rate", enc_lr)
        images = self._check_images(images)
        model = EndToEndCaptioner(self.encoder, self.decoder)
        model.compile(
            optimizer=TwoRateAdam(
                learning_rate, scaled_variables=self.encoder.trainable_variables, scale=enc_lr / learning_rate,
                global_clipnorm=options.clipnorm,
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
            jit_compile=options.jit_compile,
        )
        if val is not None:
            val = (self._check_images(val[0]), val[1], val[2])
        history = self._fit(model, images, image_index, captions, val, input_key="images", options=options)
        self.notes["train_encoder"] = True
        self.notes["encoder_learning_rate"] = enc_lr
        return history

    def _check_images(self, images):
        images = np.asarray(images)
        size = self.config.image_size
        if images.ndim != 4 or images.shape[1:] != (size, size, 3):
            raise ValueError(
                f"`images` must be an array of shape (n, {size}, {size}, 3). Received: images.shape={images.shape}"
            )
        return images

    # -- inference -----------------------------------------------------------------------
    def decode(self, features, *, beam_size=1, max_length=None, length_penalty=0.7, batch_size=64):
        """Decode features: greedy for ``beam_size=1``, else beam search. Returns a ``Decoded``."""
        max_length = self.config.max_length if max_length is None else max_length
        beam_size = check_positive_int("beam_size", beam_size)
        parts = []
        for start in range(0, len(features), batch_size):
            chunk = features[start : start + batch_size]
            if beam_size == 1:
                parts.append(greedy_decode(self.decoder, chunk, max_length=max_length))
            else:
                parts.append(
                    beam_search(
                        self.decoder, chunk, beam_size=beam_size, max_length=max_length, length_penalty=length_penalty
                    )
                )
        tokens = [t for p in parts for t in p.tokens]
        scores = [s for p in parts for s in p.scores]
        attention = None if parts[0].attention is None else [a for p in parts for a in p.attention]
        from apps.captioning.decoding import Decoded

        return Decoded(tokens=tokens, scores=scores, attention=attention)

    def caption(self, images, **kwargs) -> list[str]:
        """Caption uint8 images ``(n, S, S, 3)``; keyword arguments as in `decode`."""
        decoded = self.decode(self.features(images), **kwargs)
        return [self.vocab.decode(t) for t in decoded.tokens]
