"""Image captioning on kerasnets: a CNN encoder and a GRU/LSTM decoder.

After Vinyals et al. 2015 ("Show and Tell") and, with attention, Xu et al. 2015 ("Show,
Attend and Tell"). Run ``python -m apps.captioning --help``; the pieces:

* `apps.captioning.model` — encoder (any kerasnets backbone, ``include_top=False``),
  feature caching, the decoder (GRU/LSTM, additive attention, XLA-compilable);
* `apps.captioning.text` — vocabulary (Keras ``TextVectorization``, start/end tokens);
* `apps.captioning.decoding` — greedy and beam search with length normalisation;
* `apps.captioning.captioner` — train/save/load/caption as one object;
* `apps.captioning.metrics` — corpus BLEU-1..4 (NLTK);
* `apps.captioning.plots` — captions and attention maps (matplotlib);
* `apps.captioning.export` — SavedModel for TF Serving (TensorFlow only);
* `apps.captioning.data` — caption files or synthetic scenes, split by image.
"""
