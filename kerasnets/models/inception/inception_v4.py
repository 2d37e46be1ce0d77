"""Inception-v4, Inception-ResNet-v1 and Inception-ResNet-v2 (Szegedy, Ioffe, Vanhoucke & Alemi 2016,
"Inception-v4, Inception-ResNet and the impact of residual connections on learning").

The three networks share one skeleton (paper Figs. 9 and 15), here one layout driven by an
[InceptionV4Config][kerasnets.models.inception.inception_v4.InceptionV4Config] record, built by the
family's one builder ([`kerasnets.models.inception.blocks.build`][kerasnets.models.inception.blocks.build]):

    stem -> N_A x block A (35x35) -> Reduction-A (k, l, m, n) -> N_B x block B (17x17)
         -> Reduction-B -> N_C x block C (8x8) -> average pool -> dropout (keep 0.8) -> softmax

- **Inception-v4**: the stem of Fig. 3 (with its parallel conv/pool grid reductions ``mixed_3a``,
  ``mixed_4a``, ``mixed_5a``; 35x35x384), 4 x Inception-A (Fig. 4), Reduction-A with
  (k, l, m, n) = (192, 224, 256, 384) (Fig. 7, Table 1), 7 x Inception-B (Fig. 5), Reduction-B
  (Fig. 8), 3 x Inception-C (Fig. 6). 42,679,816 trainable parameters, as timm's and
  osmr/imgclsmob's ``inception_v4`` (convolutions without bias, batch norm with gamma, epsilon 1e-3).
- **Inception-ResNet-v1**: the stem of Fig. 14 (35x35x256), 5 x Inception-ResNet-A (Fig. 10),
  Reduction-A (192, 192, 256, 384), 10 x Inception-ResNet-B (Fig. 11), Reduction-B (Fig. 12),
  5 x Inception-ResNet-C (Fig. 13). No implementation is published by the authors; the count is
  that of the figures (22,742,808 trainable, see docs/models/inception.md).
- **Inception-ResNet-v2**: the released network (TF-slim ``inception_resnet_v2``, identical to
  ``keras.applications.InceptionResNetV2``): the Inception-v3-style stem plus ``mixed_5b``
  (35x35x320), 10 x block35, Reduction-A (256, 256, 384, 384), 20 x block17, Reduction-B (Fig. 18),
  10 x block8 (the last without scale or ReLU), a 1x1 conv to 1536. 55,873,736 parameters, equal
  to Keras's, and weights saved from ``keras.applications.InceptionResNetV2`` load and give the
  same outputs.

Inception-ResNet blocks compute ``act(x + scale * linear_1x1(concat(branches)))`` with
``scale`` 0.17 (35x35), 0.10 (17x17) and 0.20 (8x8), the residual scaling of sec. 3.3 ("between
0.1 and 0.3"), as in TF-slim and Keras; the linear 1x1 projection has a bias and no batch norm
(batch norm "only on top of the traditional layers, but not on top of the summations").
"""

from __future__ import annotations

import dataclasses

from kerasnets.models._variants import Option, define_variants, stages, variant
from kerasnets.models.inception.blocks import BN_SCALE, V3_STEM, Branch, Conv, ConvStyle, InceptionNet, Module, Pool, build

__all__ = [
    "inception_v4",
    "inception_resnet_v1",
    "inception_resnet_v2",
    "InceptionV4Config",
    "ReductionA",
    "CONFIGS",
]


@dataclasses.dataclass(frozen=True)
class ReductionA:
    """Reduction-A (Fig. 7) with the paper's per-network filter numbers (Table 1).

    Branches: 3x3/2 conv of ``n``; 1x1 ``k`` -> 3x3 ``l`` -> 3x3/2 ``m``; 3x3/2 max-pool.
    """

    k: int
    l: int  # noqa: E741 - the paper's name
    m: int
    n: int

    def module(self) -> Module:
        return Module(
            (
                Branch("b0", (Conv(self.n, 3, 2, "valid"),)),
                Branch("b1", (Conv(self.k, 1), Conv(self.l, 3), Conv(self.m, 3, 2, "valid"))),
                Branch("bpool", (Pool("max", 3, 2, "valid"),)),
            )
        )


@dataclasses.dataclass(frozen=True)
class InceptionV4Config:
    """One network of the Inception-v4 paper.

    Attributes:
        stem: ``(name, Conv | Pool | Module)`` items from the image to the 35x35 grid.
        block_a, block_b, block_c: the 35x35, 17x17 and 8x8 blocks (``Module.scale`` set for the
            Inception-ResNet blocks).
        repeats: how many of each block (``(N_A, N_B, N_C)``).
        reduction_a: Reduction-A's (k, l, m, n).
        reduction_b: the Reduction-B module.
        last_block_linear: the last C block has scale 1 and no activation (released Inception-ResNet-v2).
        head_conv: filters of a final 1x1 convolution before pooling (Inception-ResNet-v2: 1536), or 0.
        style: the convolution unit (bias, batch-norm constants).
    """

    stem: tuple
    block_a: Module
    block_b: Module
    block_c: Module
    repeats: tuple[int, int, int]
    reduction_a: ReductionA
    reduction_b: Module
    style: ConvStyle
    last_block_linear: bool = False
    head_conv: int = 0

    def net(self) -> InceptionNet:
        """The network as the builder's record."""
        return InceptionNet(layout=self.layout(), style=self.style, head_conv=self.head_conv)

    @property
    def residual(self) -> bool:
        return self.block_a.scale is not None

    def layout(self) -> tuple:
        """The network as ``(name, item)`` pairs (TF-slim end-point names)."""
        n_a, n_b, n_c = self.repeats
        if self.residual:
            names = (
                [f"block35_{i}" for i in range(1, n_a + 1)],
                [f"block17_{i}" for i in range(1, n_b + 1)],
                [f"block8_{i}" for i in range(1, n_c + 1)],
            )
        else:
            names = tuple([f"mixed_{g}{chr(ord('b') + i)}" for i in range(n)] for g, n in zip((5, 6, 7), self.repeats))
        block_c = [(name, self.block_c) for name in names[2]]
        if self.last_block_linear:
            block_c[-1] = (names[2][-1], dataclasses.replace(self.block_c, scale=1.0, activation=False))
        return (
            tuple(self.stem)
            + tuple((name, self.block_a) for name in names[0])
            + (("mixed_6a", self.reduction_a.module()),)
            + tuple((name, self.block_b) for name in names[1])
            + (("mixed_7a", self.reduction_b),)
            + tuple(block_c)
        )


_V4_STEM = (  # Fig. 3
    ("conv1a", Conv(32, 3, 2, "valid")),  # 149x149x32
    ("conv2a", Conv(32, 3, 1, "valid")),  # 147x147x32
    ("conv2b", Conv(64, 3)),  # 147x147x64
    ("mixed_3a", Module((Branch("b0", (Pool("max", 3, 2, "valid"),)), Branch("b1", (Conv(96, 3, 2, "valid"),))))),  # 73x73x160
    (
        "mixed_4a",  # 71x71x192
        Module(
            (
                Branch("b0", (Conv(64, 1), Conv(96, 3, 1, "valid"))),
                Branch("b1", (Conv(64, 1), Conv(64, (1, 7)), Conv(64, (7, 1)), Conv(96, 3, 1, "valid"))),
            )
        ),
    ),
    ("mixed_5a", Module((Branch("b0", (Conv(192, 3, 2, "valid"),)), Branch("bpool", (Pool("max", 3, 2, "valid"),))))),  # 35x35x384
)

_IR_V1_STEM = V3_STEM + (("conv4b", Conv(256, 3, 2, "valid")),)  # Fig. 14: 35x35x256

_IR_V2_STEM = V3_STEM + (  # TF-slim / Keras: 35x35x320
    ("pool5a", Pool("max", 3, 2, "valid")),  # 35x35x192
    (
        "mixed_5b",
        Module(
            (
                Branch("b0", (Conv(96, 1),)),
                Branch("b1", (Conv(48, 1), Conv(64, 5))),
                Branch("b2", (Conv(64, 1), Conv(96, 3), Conv(96, 3))),
                Branch("bpool", (Pool("avg", 3, 1), Conv(64, 1))),
            )
        ),
    ),
)


# The Inception-ResNet blocks: v1 and v2 differ only in their filter numbers.
def _residual_35(b0: int, b1: tuple, b2: tuple) -> Module:
    """Inception-ResNet-A: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3; residual scale 0.17."""
    return Module(
        (
            Branch("b0", (Conv(b0, 1),)),
            Branch("b1", (Conv(b1[0], 1), Conv(b1[1], 3))),
            Branch("b2", (Conv(b2[0], 1), Conv(b2[1], 3), Conv(b2[2], 3))),
        ),
        scale=0.17,
    )


def _residual_factorised(b0: int, b1: tuple, n: int, scale: float) -> Module:
    """Inception-ResNet-B (n=7) and -C (n=3): 1x1; 1x1 -> 1xn -> nx1."""
    return Module((Branch("b0", (Conv(b0, 1),)), Branch("b1", (Conv(b1[0], 1), Conv(b1[1], (1, n)), Conv(b1[2], (n, 1))))), scale=scale)


def _residual_reduction_b(b0: tuple, b1: tuple, b2: tuple) -> Module:
    """Inception-ResNet Reduction-B: 1x1 -> 3x3/2 (twice), 1x1 -> 3x3 -> 3x3/2, 3x3/2 max-pool."""
    return Module(
        (
            Branch("b0", (Conv(b0[0], 1), Conv(b0[1], 3, 2, "valid"))),
            Branch("b1", (Conv(b1[0], 1), Conv(b1[1], 3, 2, "valid"))),
            Branch("b2", (Conv(b2[0], 1), Conv(b2[1], 3), Conv(b2[2], 3, 2, "valid"))),
            Branch("bpool", (Pool("max", 3, 2, "valid"),)),
        )
    )


_BN_GAMMA = ConvStyle(batch_norm=True, use_bias=False, bn_scale=True, bn_epsilon=1e-3, bn_momentum=0.99)
_BN_NO_GAMMA = ConvStyle(batch_norm=True, use_bias=False, bn_scale=False, bn_epsilon=1e-3, bn_momentum=0.99)

CONFIGS = {
    "inception_v4": InceptionV4Config(
        stem=_V4_STEM,
        block_a=Module(  # Fig. 4, 35x35x384
            (
                Branch("b0", (Conv(96, 1),)),
                Branch("b1", (Conv(64, 1), Conv(96, 3))),
                Branch("b2", (Conv(64, 1), Conv(96, 3), Conv(96, 3))),
                Branch("bpool", (Pool("avg", 3, 1), Conv(96, 1))),
            )
        ),
        block_b=Module(  # Fig. 5, 17x17x1024
            (
                Branch("b0", (Conv(384, 1),)),
                Branch("b1", (Conv(192, 1), Conv(224, (1, 7)), Conv(256, (7, 1)))),
                Branch("b2", (Conv(192, 1), Conv(192, (7, 1)), Conv(224, (1, 7)), Conv(224, (7, 1)), Conv(256, (1, 7)))),
                Branch("bpool", (Pool("avg", 3, 1), Conv(128, 1))),
            )
        ),
        block_c=Module(  # Fig. 6, 8x8x1536
            (
                Branch("b0", (Conv(256, 1),)),
                Branch("b1", (Conv(384, 1),), split=(Conv(256, (1, 3)), Conv(256, (3, 1)))),
                Branch("b2", (Conv(384, 1), Conv(448, (3, 1)), Conv(512, (1, 3))), split=(Conv(256, (1, 3)), Conv(256, (3, 1)))),
                Branch("bpool", (Pool("avg", 3, 1), Conv(256, 1))),
            )
        ),
        repeats=(4, 7, 3),
        reduction_a=ReductionA(192, 224, 256, 384),
        reduction_b=Module(  # Fig. 8, 8x8x1536
            (
                Branch("b0", (Conv(192, 1), Conv(192, 3, 2, "valid"))),
                Branch("b1", (Conv(256, 1), Conv(256, (1, 7)), Conv(320, (7, 1)), Conv(320, 3, 2, "valid"))),
                Branch("bpool", (Pool("max", 3, 2, "valid"),)),
            )
        ),
        style=_BN_GAMMA,
    ),
    "inception_resnet_v1": InceptionV4Config(
        stem=_IR_V1_STEM,
        block_a=_residual_35(32, (32, 32), (32, 32, 32)),  # Fig. 10, 35x35x256
        block_b=_residual_factorised(128, (128, 128, 128), 7, 0.10),  # Fig. 11, 17x17x896
        block_c=_residual_factorised(192, (192, 192, 192), 3, 0.20),  # Fig. 13, 8x8x1792
        repeats=(5, 10, 5),
        reduction_a=ReductionA(192, 192, 256, 384),
        reduction_b=_residual_reduction_b((256, 384), (256, 256), (256, 256, 256)),  # Fig. 12, 8x8x1792
        style=_BN_NO_GAMMA,
    ),
    "inception_resnet_v2": InceptionV4Config(
        stem=_IR_V2_STEM,
        block_a=_residual_35(32, (32, 32), (32, 48, 64)),  # block35 (Fig. 16), 35x35x320
        block_b=_residual_factorised(192, (128, 160, 192), 7, 0.10),  # block17 (Fig. 17), 17x17x1088
        block_c=_residual_factorised(192, (192, 224, 256), 3, 0.20),  # block8 (Fig. 19), 8x8x2080
        repeats=(10, 20, 10),
        reduction_a=ReductionA(256, 256, 384, 384),
        reduction_b=_residual_reduction_b((256, 384), (256, 288), (256, 288, 320)),  # Fig. 18, 8x8x2080
        style=_BN_NO_GAMMA,
        last_block_linear=True,
        head_conv=1536,
    ),
}

_PAPER = "Szegedy, Ioffe, Vanhoucke & Alemi 2016, Inception-v4, Inception-ResNet and the impact of residual connections on learning"


def _entry(name, *, title, summary, channels, grids, **spec):
    """One variant record: the docstring's text, an example and the registry fields."""
    return variant(
        name,
        CONFIGS[name].net(),
        doc=f"""{title} (Szegedy et al. 2016).

            {summary}

            Grids 35x35 / 17x17 / 8x8 at 299x299: {" / ".join(f"``{g}``" for g in grids)}.
        """,
        example=f"""
            >>> kerasnets.{name}(include_top=False, input_shape=(75, 75, 3)).output.shape
            (None, 1, 1, {channels})
        """,
        **spec,
    )


(
    inception_v4,
    inception_resnet_v1,
    inception_resnet_v2,
) = define_variants(
    "inception",
    build,
    (
        _entry(
            "inception_v4",
            title="Inception-v4",
            summary=(
                "Stem (Fig. 3), 4 x Inception-A, Reduction-A (k, l, m, n) = (192, 224, 256, 384), 7 x Inception-B, "
                "Reduction-B, 3 x Inception-C. Parameters (classes=1000): 42,679,816 trainable (timm / imgclsmob "
                "``inception_v4``; the paper gives none) plus 29,184 BN moving statistics."
            ),
            channels=1536,
            grids=("mixed_5b..5e", "mixed_6b..6h", "mixed_7b..7d"),
            ref_params=42_679_816,
            ref_params_source=(
                "trainable parameters of timm / osmr-imgclsmob / Cadene pretrainedmodels inception_v4 with 1000 "
                "classes (42,679,816); count_params() adds 29,184 BN moving statistics"
            ),
            ref_macs=12_300_000_000,
            ref_macs_source="timm inception_v4.tf_in1k model card: 12.3 GMACs at 299 (exact conv + FC: 12,253,974,624)",
            features=stages(("conv2b_act", 64), ("mixed_3a", 160), ("mixed_5e", 384), ("mixed_6h", 1024), ("mixed_7d", 1536)),
        ),

        _entry(
            "inception_resnet_v1",
            title="Inception-ResNet-v1",
            summary=(
                "Stem (Fig. 14), 5 x Inception-ResNet-A, Reduction-A (192, 192, 256, 384), 10 x Inception-ResNet-B, "
                "Reduction-B (Fig. 12), 5 x Inception-ResNet-C; residual scales 0.17 / 0.10 / 0.20. Parameters "
                "(classes=1000): 22,742,808 trainable (hand count of the paper's figures; no reference implementation)."
            ),
            channels=1792,
            grids=("block35_1..5", "block17_1..10", "block8_1..5"),
            ref_params=22_742_808,
            ref_params_source=(
                "trainable parameters, hand count of the paper's Figs. 10-14 (the authors publish no total or code): "
                "convolutions without bias, BN without gamma as in TF-slim, linear 1x1 projections with bias; "
                "count_params() adds 27,040 BN moving statistics (22,769,848); see docs/models/inception.md"
            ),
            features=stages(("conv2b_act", 64), ("conv4a_act", 192), ("block35_5", 256), ("block17_10", 896), ("block8_5", 1792)),
        ),

        _entry(
            "inception_resnet_v2",
            title="Inception-ResNet-v2",
            summary=(
                "The released network (TF-slim, ``keras.applications.InceptionResNetV2``): v3 stem + mixed_5b, "
                "10 x block35, Reduction-A (256, 256, 384, 384), 20 x block17, Reduction-B, 10 x block8, 1x1 conv "
                "1536. Parameters (classes=1000): 55,873,736, 55,813,192 trainable (both as Keras). Weights saved from "
                "``keras.applications.InceptionResNetV2`` load with ``weights=path`` and give the same outputs."
            ),
            channels=1536,
            grids=("block35_1..10", "block17_1..20", "block8_1..10"),
            ref_params=55_813_192,
            ref_params_source=(
                "trainable parameters of keras.applications.InceptionResNetV2 (its count_params() is 55,873,736 with "
                "the BN moving statistics; both equal ours); timm / imgclsmob inception_resnet_v2: 55,843,464 "
                "(BN with gamma: +30,272)"
            ),
            ref_macs=13_200_000_000,
            ref_macs_source="timm inception_resnet_v2.tf_in1k: 13.2 GMACs at 299 (exact conv + FC: 13,155,794,016)",
            features=stages(("conv2b_act", 64), ("conv4a_act", 192), ("block35_10", 320), ("block17_20", 1088), ("conv7b_act", 1536)),
        ),
    ),
    options=(Option("dropout", 0.2, "dropout before the classifier (the paper: keep probability 0.8, i.e. 0.2)."), BN_SCALE),
    returns="A ``keras.Model``.",
    defaults=dict(paper=_PAPER, default_size=299, min_size=75, preprocessing="tf"),
)
