"""Deprecated: use `kerasnets.serving` (this shim goes away in the next release).

``kerasnets.export`` was split by job into the `kerasnets.serving` package
(versions and the atomic write, the serving graph, warm-up records,
``models.config``, the request emulator, the CLI glue). Every public name of
this module still works, from its new home, with a ``DeprecationWarning``
when the module is imported.
"""

from __future__ import annotations

import warnings

warnings.warn(
    "kerasnets.export is deprecated and will be removed in the next release; "
    "import from kerasnets.serving instead (same names)",
    DeprecationWarning,
    stacklevel=2,
)

from kerasnets.serving.cli import add_export_arguments, run_export_command  # noqa: E402
from kerasnets.serving.emulator import predict_request, run_predict_request, run_rest_request  # noqa: E402
from kerasnets.serving.models_config import write_models_config  # noqa: E402
from kerasnets.serving.saved_model import METADATA_FILE, export_saved_model  # noqa: E402
from kerasnets.serving.signatures import PREPROCESSING, SIGNATURE_BYTES, SIGNATURE_IMAGES  # noqa: E402
from kerasnets.serving.signatures import output_is_probability as _output_is_probability  # noqa: E402,F401
from kerasnets.serving.versions import next_version  # noqa: E402
from kerasnets.serving.warmup import WARMUP_FILE  # noqa: E402

__all__ = [
    "PREPROCESSING",
    "SIGNATURE_IMAGES",
    "SIGNATURE_BYTES",
    "WARMUP_FILE",
    "export_saved_model",
    "next_version",
    "write_models_config",
    "predict_request",
    "run_predict_request",
    "run_rest_request",
    "add_export_arguments",
    "run_export_command",
]
