"""GoogLeNet / Inception-v1 (Szegedy et al. 2014) and BN-Inception (Ioffe & Szegedy 2015).

Both networks are one layout each of the shared Inception blocks ([`kerasnets.models.inception.blocks`][kerasnets.models.inception.blocks]):
the papers' tables are the data below, one [`InceptionV1Module`][kerasnets.models.inception.googlenet.InceptionV1Module] record (the table's
``#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj`` columns) per module.

**GoogLeNet** ("Going deeper with convolutions", Table 1): conv 7x7/2 64, max-pool, LRN,
conv 1x1 64, conv 3x3 192, LRN, max-pool, inception 3a, 3b, max-pool, 4a..4e, max-pool, 5a, 5b,
7x7 average pool, dropout 0.4, linear, softmax. Convolutions have biases and ReLU, no batch norm;
LRN uses Caffe's constants (the authors' released model). ``aux_logits=True`` adds the two
auxiliary classifiers of section 5 on 4a and 4d (5x5/3 average pool, 1x1 conv 128, FC 1024,
dropout 0.7, FC classes, softmax): the model then outputs ``[main, aux1, aux2]``;
[`kerasnets.training.inception.compile_googlenet`][kerasnets.training.compile_googlenet] compiles ``loss + 0.3 aux1 + 0.3 aux2`` and
[`kerasnets.training.inception.inference_model`][kerasnets.training.inference_model] drops the auxiliary heads. ``naive=True`` builds
every module without its 1x1 reductions and pool projections (Fig. 2a);
[inception_module_model][kerasnets.models.inception.googlenet.inception_module_model] builds a single module for the cost
comparison (see docs/models/inception.md).

6,998,552 parameters (classes=1000; Caffe bvlc_googlenet's main branch: 6,990,272 weights and
8,280 biases). Table 1's "params" column is approximate (it sums to 6.8M); its "ops" column matches
the modules built here to the million except 5a (table: 54M; its filter numbers give 51.1M).

**BN-Inception** ("Batch normalization", Figure 5 / appendix table): batch norm after every
convolution, the 5x5 convolutions replaced by two 3x3 (the "double 3x3" branch), average pooling
in most pool branches, modules 3c and 4e reduce the grid with stride-2 convolutions and a
max-pool pass-through branch, no LRN. 11,295,240 trainable parameters.
"""

from __future__ import annotations

import dataclasses

import keras

from kerasnets.checks import check_activation, check_bool, check_choice, check_input_shape
from kerasnets.models._variants import IMAGENET_SIZES, Option, define_variants, stages, variant
from kerasnets.models.inception.blocks import (
    LRN,
    AuxHead,
    Branch,
    Conv,
    ConvStyle,
    InceptionNet,
    Module,
    Pool,
    apply_module,
    build,
    moved_names,
    naive_module,
)

__all__ = [
    "googlenet",
    "bn_inception",
    "InceptionV1Module",
    "BNInceptionModule",
    "GOOGLENET_MODULES",
    "BN_INCEPTION_MODULES",
    "GOOGLENET_AUX_HEAD",
    "inception_module_model",
]


@dataclasses.dataclass(frozen=True)
class InceptionV1Module:
    """One row of GoogLeNet's Table 1: the filter numbers of an inception module."""

    b1x1: int
    b3x3_reduce: int
    b3x3: int
    b5x5_reduce: int
    b5x5: int
    pool_proj: int

    def module(self, b5x5_kernel: int = 5) -> Module:
        """The module; torchvision's GoogLeNet has a 3x3 (``b5x5_kernel=3``) in the "5x5" branch."""
        return Module(
            (
                Branch("b1x1", (Conv(self.b1x1, 1),)),
                Branch("b3x3", (Conv(self.b3x3_reduce, 1), Conv(self.b3x3, 3))),
                Branch("b5x5", (Conv(self.b5x5_reduce, 1), Conv(self.b5x5, b5x5_kernel))),
                Branch("bpool", (Pool("max", 3, 1), Conv(self.pool_proj, 1))),
            )
        )


# GoogLeNet, Table 1 (Szegedy et al. 2014): output sizes at 224x224 in the comments.
GOOGLENET_MODULES = {
    "inc3a": InceptionV1Module(64, 96, 128, 16, 32, 32),  # 28x28x256
    "inc3b": InceptionV1Module(128, 128, 192, 32, 96, 64),  # 28x28x480
    "inc4a": InceptionV1Module(192, 96, 208, 16, 48, 64),  # 14x14x512
    "inc4b": InceptionV1Module(160, 112, 224, 24, 64, 64),  # 14x14x512
    "inc4c": InceptionV1Module(128, 128, 256, 24, 64, 64),  # 14x14x512
    "inc4d": InceptionV1Module(112, 144, 288, 32, 64, 64),  # 14x14x528
    "inc4e": InceptionV1Module(256, 160, 320, 32, 128, 128),  # 14x14x832
    "inc5a": InceptionV1Module(256, 160, 320, 32, 128, 128),  # 7x7x832
    "inc5b": InceptionV1Module(384, 192, 384, 48, 128, 128),  # 7x7x1024
}


@dataclasses.dataclass(frozen=True)
class BNInceptionModule:
    """One row of BN-Inception's table (Ioffe & Szegedy 2015, Figure 5).

    ``b1x1 == 0`` means no 1x1 branch; ``pool_proj == 0`` a pass-through pool branch; ``strides=2``
    marks the grid-reducing modules 3c and 4e (stride on the last 3x3 of each branch and the pool).
    """

    b1x1: int
    b3x3_reduce: int
    b3x3: int
    dbl_reduce: int
    dbl: int
    pool: str
    pool_proj: int
    strides: int = 1

    def module(self) -> Module:
        s = self.strides
        branches = []
        if self.b1x1:
            branches.append(Branch("b1x1", (Conv(self.b1x1, 1),)))
        branches.append(Branch("b3x3", (Conv(self.b3x3_reduce, 1), Conv(self.b3x3, 3, s))))
        branches.append(Branch("bdbl", (Conv(self.dbl_reduce, 1), Conv(self.dbl, 3), Conv(self.dbl, 3, s))))
        pool = (Pool(self.pool, 3, s),) + ((Conv(self.pool_proj, 1),) if self.pool_proj else ())
        branches.append(Branch("bpool", pool))
        return Module(tuple(branches))


# BN-Inception (Ioffe & Szegedy 2015, Figure 5); output sizes at 224x224 in the comments.
BN_INCEPTION_MODULES = {
    "inc3a": BNInceptionModule(64, 64, 64, 64, 96, "avg", 32),  # 28x28x256
    "inc3b": BNInceptionModule(64, 64, 96, 64, 96, "avg", 64),  # 28x28x320
    "inc3c": BNInceptionModule(0, 128, 160, 64, 96, "max", 0, strides=2),  # 14x14x576
    "inc4a": BNInceptionModule(224, 64, 96, 96, 128, "avg", 128),  # 14x14x576
    "inc4b": BNInceptionModule(192, 96, 128, 96, 128, "avg", 128),  # 14x14x576
    "inc4c": BNInceptionModule(160, 128, 160, 128, 160, "avg", 128),  # 14x14x608
    "inc4d": BNInceptionModule(96, 128, 192, 160, 192, "avg", 128),  # 14x14x608
    "inc4e": BNInceptionModule(0, 128, 192, 192, 256, "max", 0, strides=2),  # 7x7x1056
    "inc5a": BNInceptionModule(352, 192, 320, 160, 224, "avg", 128),  # 7x7x1024
    "inc5b": BNInceptionModule(352, 192, 320, 192, 224, "max", 128),  # 7x7x1024
}

_GOOGLENET_STYLE = ConvStyle(batch_norm=False, use_bias=True)
# torchvision's GoogLeNet: conv (no bias) -> BN (epsilon 1e-3, PyTorch momentum 0.1) -> ReLU.
_TORCHVISION_STYLE = ConvStyle(batch_norm=True, use_bias=False, bn_scale=True, bn_epsilon=1e-3, bn_momentum=0.9)
# BN-Inception's released (Caffe) model keeps the convolution biases next to BN's beta; that is
# the 11,295,240-parameter reference count. BN constants as in the Caffe/PyTorch ports.
_BN_INCEPTION_STYLE = ConvStyle(batch_norm=True, use_bias=True, bn_scale=True, bn_epsilon=1e-5, bn_momentum=0.9)


def _googlenet_layout(form: str = "paper"):
    """Table 1's layers; ``form="torchvision"``: torchvision's GoogLeNet (no LRN, a 3x3 in the
    "5x5" branch, ceil-mode max pools, the last one 2x2)."""
    paper = form == "paper"

    def mod(name):
        return (name, GOOGLENET_MODULES[name].module(b5x5_kernel=5 if paper else 3))

    def pool(name, size=3):
        return (name, Pool("max", 3, 2) if paper else Pool("max", size, 2, "valid", ceil_mode=True))

    lrn = (lambda name: ((name, LRN()),)) if paper else (lambda name: ())
    return (
        (("conv1", Conv(64, 7, 2)), pool("pool1"))  # 112x112x64, 56x56x64
        + lrn("lrn1")
        + (("conv2_reduce", Conv(64, 1)), ("conv2", Conv(192, 3)))  # 56x56x192
        + lrn("lrn2")
        + (pool("pool2"), mod("inc3a"), mod("inc3b"), pool("pool3"))  # 28x28x192 ... 14x14x480
        + tuple(mod(f"inc4{m}") for m in "abcde")
        + (pool("pool4", size=2), mod("inc5a"), mod("inc5b"))  # 7x7x832, 7x7x1024
    )


_BN_INCEPTION_LAYOUT = (
    ("conv1", Conv(64, 7, 2)),  # 112x112x64
    ("pool1", Pool("max", 3, 2)),  # 56x56x64
    ("conv2_reduce", Conv(64, 1)),
    ("conv2", Conv(192, 3)),  # 56x56x192
    ("pool2", Pool("max", 3, 2)),  # 28x28x192
) + tuple((name, row.module()) for name, row in BN_INCEPTION_MODULES.items())

# GoogLeNet section 5: "An average pooling layer with 5x5 filter size and stride 3 ... A 1x1
# convolution with 128 filters ... A fully connected layer with 1024 units ... A dropout layer
# with 70% ratio of dropped outputs. A linear layer with softmax loss as the classifier".
GOOGLENET_AUX_HEAD = AuxHead(pool=Pool("avg", 5, 3, "valid"), convs=(Conv(128, 1),), fcs=(1024,), dropout=0.7)
_PAPER_V1 = "Szegedy et al. 2014, Going deeper with convolutions"
_PAPER_BN = "Ioffe & Szegedy 2015, Batch normalization: accelerating deep network training by reducing internal covariate shift"

_GOOGLENET = InceptionNet(
    layout=_googlenet_layout(),
    style=_GOOGLENET_STYLE,
    aux_head=GOOGLENET_AUX_HEAD,
    aux_taps=(("aux1", "inc4a"), ("aux2", "inc4d")),
    aux_min_size=65,  # the 4a/4d map (input / 16) must hold the 5x5 pool window
)
# The forms of the ``form`` option. torchvision's auxiliary heads pool adaptively to 4x4; here
# they keep the paper's 5x5/3 pool (4x4 too at 224; torchvision publishes them untrained).
_GOOGLENET_FORMS = {
    "paper": _GOOGLENET,
    "torchvision": dataclasses.replace(_GOOGLENET, layout=_googlenet_layout("torchvision"), style=_TORCHVISION_STYLE),
}


def _build_googlenet(spec, forms, common, *, form, **options):
    """``build`` with the network of the chosen ``form``."""
    return build(spec, forms[check_choice("form", form, tuple(forms))], common, **options)


_BN_INCEPTION = InceptionNet(layout=_BN_INCEPTION_LAYOUT, style=_BN_INCEPTION_STYLE)
# Registry fields GoogLeNet and BN-Inception share (Caffe models, BGR mean subtraction).
_V1_DEFAULTS = dict(IMAGENET_SIZES, preprocessing="caffe")

(googlenet,) = define_variants(
    "inception",
    _build_googlenet,
    (
        variant(
            "googlenet",
            _GOOGLENET_FORMS,
            doc="""GoogLeNet (Inception-v1; Szegedy et al. 2014, Table 1).

            The paper gives 6.8M weights. With ``aux_logits=True``: 13,378,280 parameters (each
            auxiliary head 3.19M).
            """,
            example="""
            >>> model = kerasnets.googlenet(aux_logits=True)
            >>> [tuple(o.shape) for o in model.outputs]
            [(None, 1000), (None, 1000), (None, 1000)]
            """,
            paper=_PAPER_V1,
            ref_params=6_998_552,
            ref_params_source=(
                "Caffe bvlc_googlenet main branch (6,990,272 weights + 8,280 biases); paper Table 1: "
                "6.8M (its params column, weights only, rounded per layer)"
            ),
            # conv2_act, not the LRN after it: the layer exists in both forms.
            features=stages(("conv1_act", 64), ("conv2_act", 192), ("inc3b", 480), ("inc4e", 832), ("inc5b", 1024)),
        ),
    ),
    options=(
        Option(
            "form",
            "paper",
            '``"paper"`` (Table 1: convolutions with biases, LRN, 5x5 convolutions) or ``"torchvision"``, '
            "torchvision's GoogLeNet, which ``weights=\"torchvision/googlenet\"`` selects: batch norm "
            "(epsilon 1e-3) after every convolution and no biases, no LRN, a 3x3 convolution in the \"5x5\" "
            "branch (``b5x5``, torchvision's known deviation), ceil-mode max pools (the last one 2x2; they "
            "need a static input size); 6,624,904 parameters. Its weights expect inputs in [-1, 1] "
            "(``preprocess_input`` mode ``\"tf\"``; torchvision's ``transform_input`` maps to it).",
        ),
        Option(
            "aux_logits",
            False,
            "add the auxiliary classifiers on inception 4a and 4d (section 5); the model then has three "
            "outputs ``[predictions, aux1_predictions, aux2_predictions]``. Needs ``include_top=True`` and "
            "a static input of at least 65x65. Compile it with [`kerasnets.training.inception.compile_googlenet`][kerasnets.training.compile_googlenet] "
            "(``loss + 0.3 aux1 + 0.3 aux2``); deploy [`kerasnets.training.inception.inference_model(model)`][kerasnets.training.inference_model].",
        ),
        Option(
            "naive",
            False,
            "the naive inception modules of Fig. 2a (no 1x1 reductions, no pool projections); for the "
            "paper's cost argument, not for training.",
        ),
        Option("dropout", 0.4, "dropout before the classifier (paper: 0.4)."),
        Option("aux_dropout", 0.7, "dropout in the auxiliary heads (paper: 0.7)."),
    ),
    returns="""A ``keras.Model``; layers ``conv1, pool1, lrn1, conv2_reduce, conv2, lrn2, pool2, inc3a, ...
    inc5b, avg_pool, dropout, predictions``; module ``inc4a``'s 3x3 branch is
    ``inc4a_b3x3_1`` (reduction) and ``inc4a_b3x3_2``.""",
    raises="ValueError: ``aux_logits`` without the top or on a small or dynamic input size; ``form`` not one of the two.",
    defaults=_V1_DEFAULTS,
)

(bn_inception,) = define_variants(
    "inception",
    build,
    (
        variant(
            "bn_inception",
            _BN_INCEPTION,
            doc="""BN-Inception (Ioffe & Szegedy 2015, Figure 5): GoogLeNet with batch norm after every convolution.

            Changes from GoogLeNet (the paper's list): batch normalisation after every convolution
            (conv -> BN -> ReLU), each 5x5 convolution replaced by two stacked 3x3 ("double 3x3" branch
            ``bdbl``), average instead of max pooling in most pool branches, an extra module in stage 3
            (3c) with stride-2 grid reductions in 3c and 4e instead of separate max-pools, LRN and the
            auxiliary classifiers removed. The convolutions keep their biases, as in the released model;
            BN adds 20,224 moving statistics.
            """,
            example="""
            >>> kerasnets.bn_inception(include_top=False).get_layer("inc4e").output.shape
            (None, 7, 7, 1056)
            """,
            paper=_PAPER_BN,
            ref_params=11_295_240,
            ref_params_source=(
                "trainable parameters of the released BN-Inception (Caffe model by Y. Xiong, ported in Cadene's "
                "pretrainedmodels and osmr/imgclsmob 'bninception': 11,295,240)"
            ),
            features=stages(("conv1_act", 64), ("conv2_act", 192), ("inc3b", 320), ("inc4d", 608), ("inc5b", 1024)),
        ),
    ),
    options=(Option("dropout", 0.0, "dropout before the classifier (the paper removes it: 0)."),),
    returns="""A ``keras.Model``; layers ``conv1, pool1, conv2_reduce, conv2, pool2, inc3a ... inc5b,
    avg_pool, predictions``.""",
    defaults=_V1_DEFAULTS,
)


def inception_module_model(*, input_shape=(28, 28, 256), module="inc3b", naive=False, activation="relu"):
    """A model of one GoogLeNet inception module, for its cost (Szegedy et al. 2014, sec. 4).

    The default, inception 3b of Table 1 (1x1 128; 3x3 192 after a 1x1 128 reduction; 5x5 96
    after a 1x1 32 reduction; 3x3 max-pool with a 1x1 64 projection) on a 28x28x256 input, costs
    304,267,264 multiply-adds (Table 1: 304M). Its naive form (``naive=True``: 1x1 128, 3x3 192,
    5x5 96 and the pool, no reductions) costs 854,196,224 (the often-quoted 854M) and outputs
    28x28x672 instead of 28x28x480.

    Args:
        input_shape: ``(height, width, channels)`` of the module's input.
        module: a key of [`GOOGLENET_MODULES`][kerasnets.models.inception.googlenet.GOOGLENET_MODULES] (``"inc3a"`` ... ``"inc5b"``) or an
            [InceptionV1Module][kerasnets.models.inception.googlenet.InceptionV1Module].
        naive: build the naive module (Fig. 2a) instead of the one with reductions (Fig. 2b).
        activation: the nonlinearity.

    Returns:
        A ``keras.Model`` whose layers are the module's (named ``{module}_...``).

    Examples:
        >>> from kerasnets.models.googlenet import inception_module_model
        >>> inception_module_model(naive=True).output.shape
        (None, 28, 28, 672)
    """
    check_bool("naive", naive)
    check_activation(activation)
    if isinstance(module, InceptionV1Module):
        record, name = module, "inception"
    else:
        name = check_choice("module", module, tuple(GOOGLENET_MODULES))
        record = GOOGLENET_MODULES[name]
    shape = check_input_shape(
        input_shape,
        input_tensor=None,
        default_size=28,
        min_size=1,
        channels=256,
        include_top=False,
        fixed_size=False,
        model_name="inception_module_model",
    )
    spec = naive_module(record.module()) if naive else record.module()
    inputs = keras.Input(shape=shape, name="images")
    out = apply_module(inputs, spec, name=name, style=_GOOGLENET_STYLE, activation=activation)
    return keras.Model(inputs, out, name=f"{name}_naive" if naive else name)



_MOVED = {"compile_googlenet": "kerasnets.training.inception", "inference_model": "kerasnets.training.inception"}


__getattr__ = moved_names("kerasnets.models.googlenet", _MOVED)
