"""TF Serving ``models.config``: several models from one server."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from kerasnets.serving._deps import serving_module
from kerasnets.serving.versions import ExportError

__all__ = ["write_models_config"]


def write_models_config(
    path: str | os.PathLike,
    models: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    model_platform: str = "tensorflow",
) -> str:
    """Write a TF Serving ``models.config`` (a text ``ModelServerConfig`` proto).

    Start the server with ``tensorflow_model_server --model_config_file=PATH``;
    each model is served from the highest version in its base directory.

    Args:
        path: the file to write.
        models: ``{name: base_dir}`` or ``[(name, base_dir), ...]``; base
            directories are made absolute (TF Serving resolves paths from its own
            working directory).
        model_platform: the platform of every model (``"tensorflow"``).

    Returns:
        The text written.

    Raises:
        ValueError: no models, an empty or duplicated name.
        ExportError: ``path`` cannot be written (a folder, a missing or read-only parent), naming it.

    Examples:
        >>> text = write_models_config("/tmp/models.config", {"lenet5": "/srv/lenet5"})  # doctest: +SKIP
    """
    from google.protobuf import text_format

    model_server_config_pb2 = serving_module("config.model_server_config_pb2")

    items = list(models.items()) if isinstance(models, Mapping) else [tuple(m) for m in models]
    if not items:
        raise ValueError(f"`models` must name at least one (name, base_dir) pair. Received: models={models!r}")
    config = model_server_config_pb2.ModelServerConfig()
    seen = set()
    for item in items:
        if len(item) != 2 or not isinstance(item[0], str) or not item[0]:
            raise ValueError(f"`models` entries must be (name, base_dir) pairs. Received: models={models!r}")
        name, base = item
        if name in seen:
            raise ValueError(f"`models` names must be unique; {name!r} appears twice. Received: models={models!r}")
        seen.add(name)
        entry = config.model_config_list.config.add()
        entry.name = name
        entry.base_path = os.path.abspath(os.fspath(base))
        entry.model_platform = model_platform
    text = text_format.MessageToString(config)
    target = os.fspath(path)
    try:
        with open(target, "w") as f:
            f.write(text)
    except OSError as err:
        raise ExportError.from_os_error(
            err, f"Cannot write the models.config file {target!r}", path=target, received=f"path={target!r}"
        ) from None
    return text
