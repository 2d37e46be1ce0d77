"""The ``jit_compile`` policy every kerasnets training entry point uses.

``--jit-compile auto|on|off`` (added to a CLI by
``kerasnets.cliargs.add_jit_compile_argument``, re-exported here) is
resolved by ``resolve_jit_compile`` into the bool passed to
``model.compile(jit_compile=...)``. ``auto`` is chosen from measurements
(``bench/bench_xla.py``, figures in docs/benchmarks.md):

- **JAX backend: on.** JAX runs every step through XLA; Keras's
  ``jit_compile=False`` there means op-by-op eager dispatch, which is far slower.
  This is also the GPU path of this project (docs/scaling.md).
- **TensorFlow backend on CPU: off.** Measured on the project's 2-core CPU
  machine, XLA train steps were slower than TensorFlow's oneDNN kernels for the
  convolutional models measured (bench/bench_xla.py), and compiling each new
  input shape costs seconds. Note that Keras's own ``"auto"`` turns XLA *on*
  for TensorFlow on CPU; kerasnets deliberately differs.
- **TensorFlow backend on GPU/TPU: on.** TPUs need XLA; on GPUs XLA fuses the
  BN/activation/elementwise chains of these CNNs. Not measured in this project
  (no GPU was available to the session that wrote this policy; see
  docs/benchmarks.md), so this follows the TensorFlow/Keras default.
- **PyTorch backend: off** (Keras's ``jit_compile=True`` there means
  ``torch.compile``, which is an opt-in, as in Keras's own ``"auto"``).

``on``/``off`` (or True/False) force the setting.
"""

from __future__ import annotations

from typing import Any

# The one `--jit-compile {auto,on,off}` flag lives with the other shared CLI parts (stdlib only, so --help
# stays instant); re-exported here for existing callers.
from kerasnets.cliargs import JIT_COMPILE_CHOICES, add_jit_compile_argument

__all__ = ["JIT_COMPILE_CHOICES", "resolve_jit_compile", "detect_device", "add_jit_compile_argument"]

_BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")
_DEVICES = ("cpu", "gpu", "tpu")


def detect_device(backend: str | None = None) -> str:
    """The accelerator the given (default: current) Keras backend will use: "cpu", "gpu" or "tpu"."""
    import keras

    backend = backend or keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("TPU"):
            return "tpu"
        return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    if backend == "jax":
        import jax

        platform = jax.default_backend()
        return {"gpu": "gpu", "cuda": "gpu", "rocm": "gpu", "tpu": "tpu"}.get(platform, "cpu")
    if backend == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    return "cpu"


def resolve_jit_compile(value: Any = "auto", backend: str | None = None, device: str | None = None) -> bool:
    """Resolve a ``--jit-compile`` setting to the bool for ``model.compile``.

    Args:
        value: ``"auto"``, ``"on"``, ``"off"`` (case-insensitive) or a bool.
        backend: the Keras backend; default ``keras.backend.backend()``.
        device: ``"cpu"``, ``"gpu"`` or ``"tpu"``; default: detected for the backend.

    Returns:
        Whether to compile the train/predict steps with XLA.

    Raises:
        ValueError: an unknown setting, backend or device.

    Examples:
        >>> resolve_jit_compile("auto", backend="jax", device="cpu")
        True
        >>> resolve_jit_compile("auto", backend="tensorflow", device="cpu")
        False
        >>> resolve_jit_compile("on", backend="tensorflow", device="cpu")
        True
    """
    from kerasnets.checks import check_choice

    if isinstance(value, bool):
        setting = "on" if value else "off"
    elif isinstance(value, str):
        setting = check_choice("jit_compile", value.strip().lower(), JIT_COMPILE_CHOICES)
    else:
        raise ValueError(
            f"`jit_compile` must be one of 'auto', 'on', 'off' or a bool. Received: jit_compile={value!r}"
        )
    if backend is None:
        import keras

        backend = keras.backend.backend()
    check_choice("backend", backend, _BACKENDS)
    if device is not None:
        device = check_choice("device", str(device).lower(), _DEVICES)
    if setting != "auto":
        return setting == "on"
    if backend == "jax":
        return True
    if backend != "tensorflow":
        return False
    device = device or detect_device(backend)
    return device in ("gpu", "tpu")
