"""The few layers Keras lacks, written with ``keras.ops`` only (any backend).

- [`LocalResponseNormalization`][kerasnets.layers.LocalResponseNormalization] (AlexNet, GoogLeNet, VGG A-LRN).
- [`CReLU`][kerasnets.layers.CReLU] (concatenated ReLU; doubles the channels).
- [`Maxout`][kerasnets.layers.Maxout] (max over ``pieces`` groups of channels; divides the channels).
- [`ZeroPadChannels`][kerasnets.layers.ZeroPadChannels] (ResNet option-A shortcut: subsample and zero-pad).
- [`GroupedConv2D`][kerasnets.layers.GroupedConv2D] (``Conv2D(groups=g)`` computed group by group: faster on TF's CPU kernels).
- [`DynamicReLU`][kerasnets.layers.DynamicReLU] (DY-ReLU-B: per-channel piecewise-linear activation from global context).

Each is registered as serializable under the ``kerasnets`` package, so
``.keras`` files load without ``custom_objects``.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["LocalResponseNormalization", "LRN", "lrn_ops", "GroupedConv2D", "CReLU", "Maxout", "ZeroPadChannels", "DynamicReLU"]


@keras.saving.register_keras_serializable(package="kerasnets")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012, sec. 3.3).

    ``b[c] = a[c] / (k + alpha * sum_{j=c-n//2}^{c+n//2} a[j]^2) ** beta``

    The sum runs over ``size`` (n) adjacent channels, clipped at the edges. The
    paper's constants are k=2, n=5, alpha=1e-4, beta=0.75. Some write-ups print
    alpha as "10e-4" (which would be 1e-3); the paper's text says 10^-4, and
    cuda-convnet's layer file used the same value, so 1e-4 is the default.
    The paper multiplies alpha by the plain sum; Caffe divides alpha by n
    (``alpha_mode="mean"`` reproduces that).

    Args:
        size: n, the number of adjacent channels summed (odd, >= 1).
        k: the additive bias.
        alpha: the scale of the sum of squares.
        beta: the exponent.
        alpha_mode: "sum" (paper, TensorFlow) or "mean" (Caffe: alpha / n).

    On the TensorFlow backend a 4-D float16/float32 input runs TensorFlow's fused
    ``tf.nn.local_response_normalization`` (imported only there); every other case
    (JAX, Torch, other ranks or dtypes) runs `lrn_ops`, the vectorised ``keras.ops``
    form. Both give the same values and gradients (tests/test_layers.py).

    Examples:
        >>> import numpy as np
        >>> y = LocalResponseNormalization()(np.ones((1, 2, 2, 8), "float32"))
        >>> tuple(y.shape)
        (1, 2, 2, 8)
    """

    def __init__(self, size=5, k=2.0, alpha=1e-4, beta=0.75, alpha_mode="sum", **kwargs):
        super().__init__(**kwargs)
        from kerasnets.checks import check_choice, check_positive_int

        size = check_positive_int("size", size)
        if size % 2 == 0:
            raise ValueError(f"`size` must be an odd integer >= 1. Received: size={size!r}")
        self.size = size
        self.k = float(k)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.alpha_mode = check_choice("alpha_mode", alpha_mode, ("sum", "mean"))

    def call(self, inputs):
        alpha = self.alpha / self.size if self.alpha_mode == "mean" else self.alpha
        if _tf_lrn_applies(inputs):
            # TensorFlow's fused kernel (and its fused gradient, LRNGrad): on CPU about 3x faster
            # than the keras.ops form for forward + backward (bench/bench_layers.py). Its alpha
            # multiplies the plain sum, our "sum" convention; "mean" passes alpha / n.
            import tensorflow as tf

            return tf.nn.local_response_normalization(
                inputs, depth_radius=self.size // 2, bias=self.k, alpha=alpha, beta=self.beta
            )
        return lrn_ops(inputs, self.size, self.k, alpha, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            size=self.size, k=self.k, alpha=self.alpha, beta=self.beta, alpha_mode=self.alpha_mode
        )
        return config


LRN = LocalResponseNormalization


def _tf_lrn_applies(inputs) -> bool:
    """True when TensorFlow's fused LRN kernel can compute this call."""
    if keras.backend.backend() != "tensorflow" or len(inputs.shape) != 4:
        return False
    return keras.backend.standardize_dtype(inputs.dtype) in ("float32", "float16")


def _window_sum_slices(squared, size: int):
    """Sum of ``size`` adjacent channels of ``squared`` (zero beyond the edges), slice by slice."""
    half = size // 2
    padded = ops.pad(squared, [[0, 0]] * (len(squared.shape) - 1) + [[half, half]])
    channels = ops.shape(squared)[-1]
    total = padded[..., 0:channels]
    for offset in range(1, size):
        total = total + padded[..., offset : offset + channels]
    return total


def lrn_ops(inputs, size: int, k: float, alpha: float, beta: float):
    """LRN across the last axis with ``keras.ops`` only: ``x / (k + alpha * window_sum(x^2)) ** beta``.

    The sum of squares over ``size`` adjacent channels (zero beyond the edges) is one
    average pooling of the zero-padded squares along the channel axis (times ``size``), a single
    fused op forward and backward, instead of ``size`` shifted slices added one by one; the
    power ``-beta`` avoids a general ``pow`` for the usual betas (see `_inverse_power`).
    ``alpha`` multiplies the plain sum (divide it by ``size`` beforehand for Caffe's convention).
    """
    half = size // 2
    shape = ops.shape(inputs)
    channels = inputs.shape[-1]
    squared = ops.square(inputs)
    if size == 1:
        total = squared
    elif channels is None:  # unknown channel count: add the shifted slices
        total = _window_sum_slices(squared, size)
    else:
        # Channels become a 1-D "spatial" axis: (everything else, channels + 2 * half, 1).
        flat = ops.reshape(squared, (-1, channels, 1))
        flat = ops.pad(flat, [[0, 0], [half, half], [0, 0]])
        pooled = ops.average_pool(flat, pool_size=size, strides=1, padding="valid", data_format="channels_last")
        total = ops.reshape(pooled * float(size), shape)
    return inputs * _inverse_power(k + alpha * total, beta)


def _inverse_power(base, beta: float):
    """``base ** -beta``; the papers' beta = 0.75 (and 0.5, 1) without a general power's exp/log.

    ``rsqrt(s) * sqrt(rsqrt(s)) = s^-0.5 * s^-0.25``: equal to ``s ** -0.75`` to float rounding,
    without a general power's exp/log (bench/bench_layers.py: the portable LRN went from 0.84x to
    0.55x of the old form's time on TF with it).
    """
    if beta == 0.75:
        inverse = ops.rsqrt(base)
        return inverse * ops.sqrt(inverse)
    if beta == 0.5:
        return ops.rsqrt(base)
    if beta == 1.0:
        return 1.0 / base
    return ops.power(base, -beta)


@keras.saving.register_keras_serializable(package="kerasnets")
class CReLU(keras.layers.Layer):
    """Concatenated ReLU (Shang et al. 2016): ``concat(relu(x), relu(-x))``.

    Doubles the channel count, so the next layer sees twice the inputs.
    """

    def call(self, inputs):
        return ops.concatenate([ops.relu(inputs), ops.relu(-inputs)], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if channels is None else 2 * channels,)


@keras.saving.register_keras_serializable(package="kerasnets")
class Maxout(keras.layers.Layer):
    """Maxout (Goodfellow et al. 2013): the max over ``pieces`` linear pieces.

    The C input channels are read as C/pieces units of ``pieces`` adjacent
    channels; the output has C/pieces channels. The linear pieces themselves
    are the preceding convolution's outputs.

    Args:
        pieces: k, the number of pieces per unit (>= 2).
    """

    def __init__(self, pieces=2, **kwargs):
        super().__init__(**kwargs)
        from kerasnets.checks import check_positive_int

        self.pieces = check_positive_int("pieces", pieces, minimum=2)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels % self.pieces:
            raise ValueError(
                f"Maxout needs an input channel count divisible by pieces={self.pieces}. "
                f"Received: input channels={channels}"
            )

    def call(self, inputs):
        shape = ops.shape(inputs)
        channels = inputs.shape[-1]
        new_shape = tuple(shape[:-1]) + (channels // self.pieces, self.pieces)
        return ops.max(ops.reshape(inputs, new_shape), axis=-1)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if channels is None else channels // self.pieces,)

    def get_config(self):
        config = super().get_config()
        config.update(pieces=self.pieces)
        return config


@keras.saving.register_keras_serializable(package="kerasnets")
class GroupedConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` whose ``groups > 1`` convolution runs as one convolution per group.

    The same layer as ``Conv2D(groups=g)``: the same configuration, one kernel of shape
    ``(kh, kw, in_channels / g, filters)`` (group ``i`` maps input channels ``i*C/g ...`` to filters
    ``i*F/g ...``), the same outputs and gradients. Only the computation differs: the input and the
    kernel are split into ``g`` parts, convolved separately and concatenated, which on
    TensorFlow's CPU kernels is several times faster forward + backward than its grouped
    convolution (bench/bench_layers.py: AlexNet's conv2 0.07x, conv4 0.18x, conv5 0.14x).
    With ``groups=1`` it is exactly ``Conv2D``.

    Examples:
        >>> import numpy as np
        >>> layer = GroupedConv2D(8, 3, groups=2, padding="same")
        >>> tuple(layer(np.ones((1, 5, 5, 4), "float32")).shape), tuple(layer.kernel.shape)
        ((1, 5, 5, 8), (3, 3, 2, 8))
    """

    def convolution_op(self, inputs, kernel):
        if self.groups == 1 or self.data_format != "channels_last":
            return super().convolution_op(inputs, kernel)
        parts = zip(ops.split(inputs, self.groups, axis=-1), ops.split(kernel, self.groups, axis=-1))
        return ops.concatenate(
            [
                ops.conv(
                    x, k, strides=list(self.strides), padding=self.padding,
                    dilation_rate=self.dilation_rate, data_format=self.data_format,
                )
                for x, k in parts
            ],
            axis=-1,
        )


@keras.saving.register_keras_serializable(package="kerasnets")
class ZeroPadChannels(keras.layers.Layer):
    """ResNet shortcut option A (He et al. 2015): identity with zero-padded channels.

    Subsamples the map by ``stride`` (taking every stride-th pixel, as the
    CIFAR ResNets do) and appends zero channels up to ``channels``. It has no
    parameters.

    Args:
        channels: the output channel count (>= the input's).
        stride: spatial subsampling factor (1 or 2).
    """

    def __init__(self, channels, stride=1, **kwargs):
        super().__init__(**kwargs)
        from kerasnets.checks import check_positive_int

        self.channels = check_positive_int("channels", channels)
        self.stride = check_positive_int("stride", stride)

    def call(self, inputs):
        x = inputs
        if self.stride > 1:
            x = x[:, :: self.stride, :: self.stride, :]
        extra = self.channels - inputs.shape[-1]
        if extra < 0:
            raise ValueError(
                f"ZeroPadChannels can only add channels: input has {inputs.shape[-1]}. "
                f"Received: channels={self.channels}"
            )
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])
        return x

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        s = self.stride
        height = None if height is None else (height + s - 1) // s
        width = None if width is None else (width + s - 1) // s
        return (batch, height, width, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, stride=self.stride)
        return config


@keras.saving.register_keras_serializable(package="kerasnets")
class DynamicReLU(keras.layers.Layer):
    """Dynamic ReLU, the channel-wise DY-ReLU-B of Chen et al. 2020 ("Dynamic ReLU", ECCV).

    ``y_c = max_k (a_c^k(x) * x_c + b_c^k(x))`` for k = 1..``pieces``: a piecewise-linear
    activation whose slopes and intercepts depend on the input. A hyper function (as in a
    squeeze-and-excitation block) computes them from the global context of the input: the
    spatial mean, a Dense layer to ``channels // reduction`` units with ReLU, a Dense layer to
    ``2 * pieces * channels`` outputs, normalised to [-1, 1] by ``2 * sigmoid - 1``, then
    ``a^k = alpha^k + lambda_a * delta_a^k`` and ``b^k = beta^k + lambda_b * delta_b^k`` with
    the paper's alpha = (1, 0, ...), beta = 0, lambda_a = 1, lambda_b = 0.5, K = 2, R = 4.

    The second Dense layer starts at zero, so a freshly built layer is exactly a ReLU
    (delta = 0) and learns to depart from it. It keeps the channel count. Parameters:
    ``C * (C // R) + C // R + (C // R) * 2KC + 2KC``. For rank-2 inputs (after a Dense
    layer) the context is the input vector itself.

    Args:
        reduction: R, the hyper function's bottleneck ratio (>= 1).
        pieces: K, the number of linear pieces (>= 1).
        lambda_a: range of the slopes' residual.
        lambda_b: range of the intercepts' residual.

    Examples:
        >>> import numpy as np
        >>> layer = DynamicReLU()
        >>> x = np.array([[[[-1.0, 2.0, -3.0, 4.0]]]], "float32")
        >>> np.asarray(layer(x)).ravel().tolist()  # a ReLU at initialisation
        [0.0, 2.0, 0.0, 4.0]
    """

    def __init__(self, reduction=4, pieces=2, lambda_a=1.0, lambda_b=0.5, **kwargs):
        super().__init__(**kwargs)
        from kerasnets.checks import check_positive_int, check_positive_number

        self.reduction = check_positive_int("reduction", reduction)
        self.pieces = check_positive_int("pieces", pieces)
        self.lambda_a = check_positive_number("lambda_a", lambda_a, allow_zero=True)
        self.lambda_b = check_positive_number("lambda_b", lambda_b, allow_zero=True)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"DynamicReLU needs a known channel count (the last axis). Received: input_shape={tuple(input_shape)}"
            )
        hidden = max(channels // self.reduction, 1)
        coefficients = 2 * self.pieces * channels
        self.fc1_kernel = self.add_weight(shape=(channels, hidden), initializer="glorot_uniform", name="fc1_kernel")
        self.fc1_bias = self.add_weight(shape=(hidden,), initializer="zeros", name="fc1_bias")
        self.fc2_kernel = self.add_weight(shape=(hidden, coefficients), initializer="zeros", name="fc2_kernel")
        self.fc2_bias = self.add_weight(shape=(coefficients,), initializer="zeros", name="fc2_bias")

    def call(self, inputs):
        rank = len(inputs.shape)
        context = ops.mean(inputs, axis=tuple(range(1, rank - 1))) if rank > 2 else inputs
        hidden = ops.relu(ops.matmul(context, self.fc1_kernel) + self.fc1_bias)
        delta = 2.0 * ops.sigmoid(ops.matmul(hidden, self.fc2_kernel) + self.fc2_bias) - 1.0
        channels = inputs.shape[-1]
        delta = ops.reshape(delta, (-1,) + (1,) * (rank - 2) + (channels, 2 * self.pieces))
        init_a = [1.0] + [0.0] * (self.pieces - 1)
        slopes = ops.convert_to_tensor(init_a, dtype=inputs.dtype) + self.lambda_a * delta[..., : self.pieces]
        intercepts = self.lambda_b * delta[..., self.pieces :]
        pieces = ops.expand_dims(inputs, -1) * slopes + intercepts
        return ops.max(pieces, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(reduction=self.reduction, pieces=self.pieces, lambda_a=self.lambda_a, lambda_b=self.lambda_b)
        return config
