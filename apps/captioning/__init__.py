"""Image captioning on kerasnets: a CNN encoder and a GRU/LSTM decoder.

After Vinyals et al. 2015 ("Show and Tell") and, with attention, Xu et al. 2015 ("Show,
Attend and Tell"). Run ``python -m apps.captioning --help``; the pieces:

* :mod:`apps.captioning.model` — encoder (any kerasnets backbone, ``include_top=False``),
  feature caching, the decoder (GRU/LSTM, additive attention, XLA-compilable);
* :mod:`apps.captioning.text` — vocabulary (Keras ``TextVectorization``, start/end tokens);
* :mod:`apps.captioning.decoding` — greedy and beam search with length normalisation;
* :mod:`apps.captioning.captioner` — train/save/load/caption as one object;
* :mod:`apps.captioning.metrics` — corpus BLEU-1..4 (NLTK);
* :mod:`apps.captioning.plots` — captions and attention maps (matplotlib);
* :mod:`apps.captioning.export` — SavedModel for TF Serving (TensorFlow only);
* :mod:`apps.captioning.data` — caption files or synthetic scenes, split by image.
"""
