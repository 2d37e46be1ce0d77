"""Inception-v3 (Szegedy et al. 2015, "Rethinking the Inception architecture for computer vision").

The network of the paper's Table 1 at 299x299, built from the shared Inception blocks:

- stem: conv 3x3/2 32, 3x3 32, 3x3 64 (147x147), max-pool 3x3/2, conv 1x1 80, 3x3 192 (71x71),
  max-pool 3x3/2 (35x35x192);
- 3 x the 35x35 module (Fig. 5: the 5x5 factorised into two 3x3; one branch keeps the released
  model's 5x5): ``mixed_5b`` (256), ``mixed_5c``, ``mixed_5d`` (288);
- grid reduction ``mixed_6a`` (Fig. 10: stride-2 convolutions next to a stride-2 max-pool) to
  17x17x768;
- 4 x the 17x17 module (Fig. 6: 7x7 factorised into 1x7 and 7x1, n=7): ``mixed_6b..6e`` (768);
- grid reduction ``mixed_7a`` to 8x8x1280;
- 2 x the 8x8 expanded module (Fig. 7: the last 3x3s split into parallel 1x3 and 3x1):
  ``mixed_7b``, ``mixed_7c`` (2048);
- global average pooling, dropout, linear classifier.

``aux_logits=True`` adds the auxiliary classifier on the 17x17 grid (``mixed_6e``; sec. 4: the
single side head, with batch norm, acting as a regulariser): 5x5/3 average pool, 1x1 conv 128,
5x5 conv 768, FC classes (the released TF-slim head). [`kerasnets.training.inception.compile_inception_v3`][kerasnets.training.compile_inception_v3]
compiles it with the paper's label-smoothing regulariser (sec. 7, epsilon = 0.1).

The layer sequence, convolutions without biases and batch norm without a learned scale (epsilon
1e-3) are those of ``keras.applications.InceptionV3``: 23,851,784 parameters (23,817,352
trainable), and a weights file saved from ``keras.applications.InceptionV3`` loads into
``inception_v3`` and gives the same outputs. Module names follow TF-slim's end points
(Keras's ``mixed0..mixed10`` are ``mixed_5b..mixed_7c``).
"""

from __future__ import annotations

from kerasnets.models._variants import Option, define_variants, stages, variant
from kerasnets.models.inception.blocks import (
    BN_SCALE,
    V3_STEM,
    AuxHead,
    Branch,
    Conv,
    ConvStyle,
    InceptionNet,
    Module,
    Pool,
    build,
    moved_names,
)

__all__ = ["inception_v3", "INCEPTION_V3_LAYOUT", "INCEPTION_V3_AUX_HEAD"]


def _module_35(pool_proj: int) -> Module:
    """The 35x35 module (Fig. 5; the released model keeps one 5x5 branch)."""
    return Module(
        (
            Branch("b0", (Conv(64, 1),)),
            Branch("b1", (Conv(48, 1), Conv(64, 5))),
            Branch("b2", (Conv(64, 1), Conv(96, 3), Conv(96, 3))),
            Branch("bpool", (Pool("avg", 3, 1), Conv(pool_proj, 1))),
        )
    )


def _module_17(c7: int) -> Module:
    """The 17x17 module with n=7 (Fig. 6): 7x7 convolutions factorised into 1x7 and 7x1."""
    return Module(
        (
            Branch("b0", (Conv(192, 1),)),
            Branch("b1", (Conv(c7, 1), Conv(c7, (1, 7)), Conv(192, (7, 1)))),
            Branch("b2", (Conv(c7, 1), Conv(c7, (7, 1)), Conv(c7, (1, 7)), Conv(c7, (7, 1)), Conv(192, (1, 7)))),
            Branch("bpool", (Pool("avg", 3, 1), Conv(192, 1))),
        )
    )


# The 8x8 module with expanded filter bank outputs (Fig. 7).
_MODULE_8 = Module(
    (
        Branch("b0", (Conv(320, 1),)),
        Branch("b1", (Conv(384, 1),), split=(Conv(384, (1, 3)), Conv(384, (3, 1)))),
        Branch("b2", (Conv(448, 1), Conv(384, 3)), split=(Conv(384, (1, 3)), Conv(384, (3, 1)))),
        Branch("bpool", (Pool("avg", 3, 1), Conv(192, 1))),
    )
)

# Output shapes at 299x299 in the comments (the paper's Table 1 grid sizes).
INCEPTION_V3_LAYOUT = V3_STEM + (  # the stem ends at 71x71x192
    ("pool5a", Pool("max", 3, 2, "valid")),  # 35x35x192
    ("mixed_5b", _module_35(32)),  # 35x35x256
    ("mixed_5c", _module_35(64)),  # 35x35x288
    ("mixed_5d", _module_35(64)),  # 35x35x288
    (
        "mixed_6a",  # grid reduction (Fig. 10) -> 17x17x768
        Module(
            (
                Branch("b0", (Conv(384, 3, 2, "valid"),)),
                Branch("b1", (Conv(64, 1), Conv(96, 3), Conv(96, 3, 2, "valid"))),
                Branch("bpool", (Pool("max", 3, 2, "valid"),)),
            )
        ),
    ),
    ("mixed_6b", _module_17(128)),  # 17x17x768
    ("mixed_6c", _module_17(160)),
    ("mixed_6d", _module_17(160)),
    ("mixed_6e", _module_17(192)),  # 17x17x768 (the auxiliary head's input)
    (
        "mixed_7a",  # grid reduction -> 8x8x1280
        Module(
            (
                Branch("b0", (Conv(192, 1), Conv(320, 3, 2, "valid"))),
                Branch("b1", (Conv(192, 1), Conv(192, (1, 7)), Conv(192, (7, 1)), Conv(192, 3, 2, "valid"))),
                Branch("bpool", (Pool("max", 3, 2, "valid"),)),
            )
        ),
    ),
    ("mixed_7b", _MODULE_8),  # 8x8x2048
    ("mixed_7c", _MODULE_8),  # 8x8x2048
)

# keras.applications.InceptionV3's convolution unit: no bias, BN without gamma, epsilon 1e-3.
_STYLE = ConvStyle(batch_norm=True, use_bias=False, bn_scale=False, bn_epsilon=1e-3, bn_momentum=0.99)

# The auxiliary classifier of TF-slim's inception_v3 (the released model), on mixed_6e.
INCEPTION_V3_AUX_HEAD = AuxHead(pool=Pool("avg", 5, 3, "valid"), convs=(Conv(128, 1), Conv(768, 5, 1, "valid")))

_PAPER = "Szegedy et al. 2015, Rethinking the Inception architecture for computer vision"


(inception_v3,) = define_variants(
    "inception",
    build,
    (
        variant(
            "inception_v3",
            InceptionNet(
                layout=INCEPTION_V3_LAYOUT,
                style=_STYLE,
                aux_head=INCEPTION_V3_AUX_HEAD,
                aux_taps=(("aux", "mixed_6e"),),
                aux_min_size=75,
            ),
            doc="""Inception-v3 (Szegedy et al. 2015, Table 1), layer for layer ``keras.applications.InceptionV3``.

            ``count_params()`` is 23,851,784 (with the BN moving statistics), equal to
            ``keras.applications.InceptionV3``'s. Weights saved from
            ``keras.applications.InceptionV3(weights=None)`` (or its ImageNet file) load with
            ``weights=path`` (the model must be built with ``aux_logits=False``; ``dropout``
            changes nothing in the file). Inputs in [-1, 1]
            (``keras.applications.inception_v3.preprocess_input``).
            """,
            example="""
            >>> kerasnets.inception_v3().get_layer("mixed_6e").output.shape
            (None, 17, 17, 768)
            """,
            paper=_PAPER,
            default_size=299,
            min_size=75,
            ref_params=23_817_352,
            ref_params_source=(
                "trainable parameters of keras.applications.InceptionV3 (its count_params() is 23,851,784 with "
                "34,432 BN moving statistics; both equal ours); torchvision inception_v3 without aux: 23,834,568 "
                "(BN with gamma: +17,216)"
            ),
            ref_macs=5_710_000_000,
            ref_macs_source=(
                "torchvision Inception_V3_Weights metadata: 5.71 GFLOPS (multiply-adds) at 299; paper: ~5 billion"
            ),
            features=stages(("conv2b_act", 64), ("conv4a_act", 192), ("mixed_5d", 288), ("mixed_6e", 768), ("mixed_7c", 2048)),
            preprocessing="tf",
        ),
    ),
    options=(
        Option(
            "aux_logits",
            False,
            "add the auxiliary classifier on ``mixed_6e`` (17x17x768); outputs ``[predictions, "
            "aux_predictions]``. Needs ``include_top=True`` and a static input size; on inputs below 299 "
            "its kernels are clipped to the map as in TF-slim. Train with "
            "[`kerasnets.training.inception.compile_inception_v3`][kerasnets.training.compile_inception_v3].",
        ),
        Option("dropout", 0.0, "dropout before the classifier (TF-slim's training recipe: 0.2; Keras: none)."),
        BN_SCALE,
        Option(
            "count_include_pad",
            False,
            "the modules' 3x3 average pools divide by 9 at the border too, counting their zero padding "
            "(PyTorch's ``avg_pool2d`` default, torchvision's Inception-v3); False is TF-slim's and Keras' "
            "average over the real pixels. ``weights=\"torchvision/inception_v3\"`` (or "
            "``\"timm/inception_v3.tv_in1k\"``) selects it with ``bn_scale=True``: 23,834,568 trainable parameters.",
        ),
    ),
    returns="""A ``keras.Model``; grids 35x35 (``mixed_5b..5d``), 17x17 (``mixed_6a..6e``) and 8x8
    (``mixed_7a..7c``) at 299x299.""",
    raises="ValueError: ``aux_logits`` without the top or with a dynamic size.",
)

_MOVED = {"label_smoothing_loss": "kerasnets.training.losses", "compile_inception_v3": "kerasnets.training.inception"}


__getattr__ = moved_names("kerasnets.models.inception_v3", _MOVED)
