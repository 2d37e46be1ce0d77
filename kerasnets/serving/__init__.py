"""SavedModel export for TensorFlow Serving (TensorFlow only), split by job.

TF Serving watches a *base directory* and serves its highest numbered
sub-directory (``BASE_DIR/1``, ``BASE_DIR/2``, ...). `export_saved_model`
writes one such version: it builds the SavedModel in a hidden temporary
directory inside ``BASE_DIR`` (a name TF Serving ignores) and renames it into
place, so a server polling the base directory never loads a half-written
version; concurrent exports get distinct versions.

The exported graph is self-contained: decoding, resizing to the model's input
size and the preprocessing run inside it, so clients send raw pixels or
encoded image files (signatures ``serving_default`` and ``serving_bytes``).

The modules, one job each (TensorFlow is imported only when a function needs it):

- `kerasnets.serving.versions`: version numbers and the atomic versioned
  write (`write_version`), also used by the apps' exports; standard library only;
- `kerasnets.serving.signatures`: the serving graph and its two signatures;
- `kerasnets.serving.saved_model`: `export_saved_model`;
- `kerasnets.serving.warmup`: ``assets.extra/tf_serving_warmup_requests``;
- `kerasnets.serving.models_config`: ``models.config`` for several models;
- `kerasnets.serving.emulator`: answering gRPC ``PredictRequest`` protos and
  REST bodies with a loaded export, as the server does (no server binary needed);
- `kerasnets.serving.cli`: the ``kerasnets export`` arguments.

Examples:
    >>> import kerasnets
    >>> from kerasnets.serving import export_saved_model
    >>> model = kerasnets.lenet5(classes=10)
    >>> path = export_saved_model(model, "/tmp/serving/lenet5", top_k=3)  # doctest: +SKIP
    >>> # tensorflow_model_server --model_base_path=/tmp/serving/lenet5 --model_name=lenet5
"""

from __future__ import annotations

import importlib

# name -> submodule; resolved on first access (PEP 562) so that `import kerasnets.serving`
# imports neither Keras nor TensorFlow.
_EXPORTS = {
    "TMP_PREFIX": "versions",
    "ExportError": "versions",
    "VersionExistsError": "versions",
    "next_version": "versions",
    "numeric_versions": "versions",
    "remove_stale_temporaries": "versions",
    "write_version": "versions",
    "SIGNATURE_IMAGES": "signatures",
    "SIGNATURE_BYTES": "signatures",
    "PREPROCESSING": "signatures",
    "METADATA_FILE": "saved_model",
    "export_saved_model": "saved_model",
    "WARMUP_FILE": "warmup",
    "write_models_config": "models_config",
    "predict_request": "emulator",
    "run_predict_request": "emulator",
    "run_rest_request": "emulator",
    "add_export_arguments": "cli",
    "run_export_command": "cli",
    "ModelFileError": "cli",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kerasnets.serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kerasnets.serving.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
