"""What ``--weights`` / ``TrainConfig.weights`` means, and the preprocessing it implies.

``weights`` is one of:

- a published ImageNet weights name, the ones ``kerasnets.<builder>(weights=NAME)`` takes
  (``timm/resnet50.tv_in1k``, ``torchvision/vgg16``; `kerasnets.pretrained.list_pretrained`,
  docs/weights.md). The name selects the builder options the file was trained with (merged
  into the backbone options, so the model folder records them and `Detector` rebuilds the same
  architecture) and, with ``preprocess="auto"``, the preprocessing the file names (``"torch"``);
- a weights file of the backbone built with ``include_top=False``: ``.weights.h5`` (e.g. saved
  from ``keras.applications.VGG16(include_top=False)``; give ``preprocess="caffe"``), or a
  PyTorch-layout ``.safetensors`` / ``.pth`` file;
- None: random initialisation.

Without a published name, ``"auto"`` is ``"scale"`` (RGB in [-1, 1], for training from scratch).
Imports neither keras nor TensorFlow, so the CLI checks ``--weights`` before any work.
"""

from __future__ import annotations

from collections.abc import Mapping

from kerasnets.checks import is_published_name

__all__ = ["PREPROCESS", "resolve_weights", "close_names"]

#: The app's preprocessing names -> `kerasnets.preprocess_input` modes. ``"scale"`` is the app's
#: name (kept for its model folders) for what the library calls ``"tf"``: RGB in [-1, 1].
PREPROCESS = {"scale": "tf", "caffe": "caffe", "torch": "torch"}

def resolve_weights(backbone: str, weights, backbone_options: Mapping | None, preprocess: str = "auto"):
    """``(backbone_options, preprocess)`` for these weights.

    Args:
        backbone: the kerasnets model name.
        weights: a published name, a weights file path or None (see the module notes).
        backbone_options: the user's builder options.
        preprocess: ``"auto"`` or one of `PREPROCESS`.

    Returns:
        The builder options (with those a published name needs) and the preprocessing name.

    Raises:
        ValueError: an unknown published name (close matches listed), a name for another
            backbone, an option that contradicts the file's architecture, or an unknown
            ``preprocess``.
    """
    options = dict(backbone_options or {})
    if preprocess != "auto" and preprocess not in PREPROCESS:
        raise ValueError(f"`preprocess` must be 'auto' or one of {', '.join(map(repr, PREPROCESS))}. "
                         f"Received: preprocess={preprocess!r}")  # fmt: skip
    mode = "scale"
    if is_published_name(weights):
        from kerasnets import pretrained

        options = pretrained.builder_options(backbone, weights, options)  # checks the name and the backbone
        mode = {library: app for app, library in PREPROCESS.items()}[pretrained.get_pretrained(weights).preprocessing]
    return options, mode if preprocess == "auto" else preprocess


def close_names(text: str) -> list[str]:
    """Published names close to ``text`` (for a ``--weights`` that is neither a file nor a name)."""
    import difflib

    from kerasnets.pretrained import list_pretrained

    return difflib.get_close_matches(text, list_pretrained(), n=3, cutoff=0.6)
