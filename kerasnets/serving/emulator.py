"""Requests as a client sends them, mapped onto a loaded SavedModel as TF Serving does.

No model server binary is needed to check an export: `run_predict_request`
answers a gRPC ``PredictRequest`` proto and `run_rest_request` a REST
``:predict`` JSON body (https://www.tensorflow.org/tfx/serving/api_rest) with a
``tf.saved_model.load``-ed export. Values are checked as the server's parser
checks them: integer inputs must fit their dtype (``uint8`` pixels in
``[0, 255]``: 300 or -1 is an error, never wrapped round), float inputs must be
finite.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from kerasnets.serving._deps import serving_module, tensorflow
from kerasnets.serving.signatures import SIGNATURE_BYTES, SIGNATURE_IMAGES

__all__ = ["predict_request", "run_predict_request", "run_rest_request"]


def predict_request(
    inputs: Mapping[str, Any] | Any,
    *,
    model_name: str,
    signature_name: str = SIGNATURE_IMAGES,
    version: int | None = None,
):
    """A ``tensorflow_serving.apis.predict_pb2.PredictRequest`` for a gRPC client.

    Args:
        inputs: ``{input_name: array}``, or one array for the ``images`` input
            (a list of ``bytes`` for ``image_bytes`` with ``signature_name="serving_bytes"``).
        model_name: the served model's name.
        signature_name: the signature to call.
        version: optional version to pin.

    Returns:
        The request proto.
    """
    from kerasnets.checks import check_positive_int

    tf = tensorflow()
    predict_pb2 = serving_module("apis.predict_pb2")

    if not isinstance(inputs, Mapping):
        inputs = {"image_bytes" if signature_name == SIGNATURE_BYTES else "images": inputs}
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = check_positive_int("version", version, minimum=0)
    for name, value in inputs.items():
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], bytes):
            proto = tf.make_tensor_proto(list(value), dtype=tf.string)
        else:
            proto = tf.make_tensor_proto(np.asarray(value))
        request.inputs[name].CopyFrom(proto)
    return request


def _load(saved_model):
    if isinstance(saved_model, (str, os.PathLike)):
        return tensorflow().saved_model.load(os.fspath(saved_model))
    return saved_model


def _signature(loaded, name: str):
    if not isinstance(name, str) or name not in loaded.signatures:
        raise ValueError(
            f"`signature_name` must be one of the model's signatures {sorted(loaded.signatures)!r}. "
            f"Received: signature_name={name!r}"
        )
    return loaded.signatures[name]


def _check_values(name: str, value: Any, dtype) -> None:
    """Refuse numbers the input's dtype cannot hold (instead of wrapping them round) and non-finite floats."""
    if not (dtype.is_integer or dtype.is_floating):
        return
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return  # ragged or odd: the conversion below reports it
    if array.dtype == object or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        return
    if dtype.is_floating:
        bad = ~np.isfinite(array)
        if bad.any():
            raise ValueError(
                f"Input {name!r} must hold finite numbers. Received: {name} with {int(bad.sum())} "
                f"non-finite value(s), the first {float(array[bad].flat[0])!r}"
            )
        return
    low, high = int(dtype.min), int(dtype.max)
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array) & (array == np.round(array))):
        first = array[~(np.isfinite(array) & (array == np.round(array)))].flat[0]
        raise ValueError(
            f"Input {name!r} must hold whole numbers in [{low}, {high}] ({dtype.name}). Received: {name} value {float(first)!r}"
        )
    smallest, largest = array.min(), array.max()
    if smallest < low or largest > high:
        first = smallest if smallest < low else largest
        raise ValueError(
            f"Input {name!r} must hold whole numbers in [{low}, {high}] ({dtype.name}); out-of-range values "
            f"are not wrapped round. Received: {name} value {int(first)}"
        )


def _call_signature(fn, feeds: Mapping[str, Any]) -> dict:
    tf = tensorflow()
    specs = fn.structured_input_signature[1]
    if set(feeds) != set(specs):
        raise ValueError(
            f"The request's inputs must be exactly the signature's inputs {sorted(specs)!r}. "
            f"Received: inputs={sorted(feeds)!r}"
        )
    args = {}
    for name, value in feeds.items():
        spec = specs[name]
        _check_values(name, value, spec.dtype)
        try:
            args[name] = tf.convert_to_tensor(value, dtype=spec.dtype)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"Input {name!r} must convert to {spec.dtype.name}{list(spec.shape)}: {err}. "
                f"Received: {name}={type(value).__name__}"
            ) from None
        if not spec.shape.is_compatible_with(args[name].shape):
            raise ValueError(
                f"Input {name!r} must have shape {list(spec.shape)} (-1/None: any). "
                f"Received: {name} shape={list(args[name].shape)}"
            )
    try:
        outputs = fn(**args)
    except tf.errors.InvalidArgumentError as err:
        # e.g. bytes that are no image: the graph's decode op names the problem.
        message = (err.message or str(err)).strip().splitlines()[0]
        raise ValueError(f"The model refused the request: {message}. Received: inputs={sorted(feeds)!r}") from None
    return {k: v.numpy() for k, v in outputs.items()}


def run_predict_request(saved_model, request):
    """Answer a ``PredictRequest`` with a loaded SavedModel, as TF Serving's Predict does.

    Inputs are decoded with ``tf.make_ndarray``, checked against the named
    signature (``serving_default`` when the request names none) and the outputs
    returned as tensor protos, filtered by ``request.output_filter``.

    Args:
        saved_model: the result of ``tf.saved_model.load`` or a version directory.
        request: a ``predict_pb2.PredictRequest``.

    Returns:
        A ``predict_pb2.PredictResponse``.
    """
    tf = tensorflow()
    predict_pb2 = serving_module("apis.predict_pb2")

    loaded = _load(saved_model)
    signature_name = request.model_spec.signature_name or SIGNATURE_IMAGES
    fn = _signature(loaded, signature_name)
    feeds = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
    outputs = _call_signature(fn, feeds)
    wanted = list(request.output_filter) or sorted(outputs)
    unknown = [w for w in wanted if w not in outputs]
    if unknown:
        raise ValueError(
            f"`output_filter` must name outputs of the signature {sorted(outputs)!r}. Received: output_filter={unknown!r}"
        )
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    response.model_spec.signature_name = signature_name
    for name in wanted:
        response.outputs[name].CopyFrom(tf.make_tensor_proto(outputs[name]))
    return response


def _decode_b64(value):
    # TF Serving's REST API: {"b64": "..."} carries binary data.
    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            shown = value["b64"][:40] if isinstance(value["b64"], str) else value["b64"]
            raise ValueError(f'A "b64" value must be base64 text. Received: b64={shown!r}') from None
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    return value


def run_rest_request(saved_model, body: str | bytes | Mapping) -> dict:
    """Answer a TF Serving REST ``:predict`` body with a loaded SavedModel.

    Supports both formats of the REST API
    (https://www.tensorflow.org/tfx/serving/api_rest): the row format
    ``{"signature_name": ..., "instances": [...]}`` (each instance the value of
    the single input, or ``{input: value}``) answered with ``{"predictions": [...]}``
    (one ``{output: value}`` per instance), and the columnar format
    ``{"inputs": ...}`` answered with ``{"outputs": {...}}``. Binary values are
    ``{"b64": "<base64>"}``. Numbers an input's dtype cannot hold (``uint8``
    pixels outside ``[0, 255]``) and non-finite floats are errors.

    Args:
        saved_model: the result of ``tf.saved_model.load`` or a version directory.
        body: the JSON body (text or already parsed).

    Returns:
        The JSON response as a Python dict.

    Raises:
        ValueError: a body the server would refuse, naming the offending value.
    """
    loaded = _load(saved_model)
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as err:
            raise ValueError(f"The REST body must be JSON: {err}. Received: body={body[:80]!r}") from None
    if not isinstance(body, Mapping) or ("instances" in body) == ("inputs" in body):
        raise ValueError(
            'The REST body must be a JSON object with exactly one of "instances" (row format) '
            f'or "inputs" (columnar format). Received: body keys={sorted(body) if isinstance(body, Mapping) else body!r}'
        )
    signature_name = body.get("signature_name", SIGNATURE_IMAGES)
    fn = _signature(loaded, signature_name)
    input_names = sorted(fn.structured_input_signature[1])
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise ValueError(f'"instances" must be a non-empty list. Received: instances={instances!r}')
        if all(isinstance(i, Mapping) and set(i) != {"b64"} for i in instances):
            names = set(instances[0])
            for index, instance in enumerate(instances):
                if set(instance) != names:
                    raise ValueError(
                        f"Every instance must name the same inputs {sorted(names)!r}. "
                        f"Received: instances[{index}] keys={sorted(instance)!r}"
                    )
            feeds = {name: [_decode_b64(i[name]) for i in instances] for name in instances[0]}
        elif len(input_names) == 1:
            feeds = {input_names[0]: [_decode_b64(i) for i in instances]}
        else:
            raise ValueError(
                f"With several inputs {input_names!r}, each instance must be an object naming them. "
                f"Received: instances[0]={instances[0]!r}"
            )
        outputs = _call_signature(fn, feeds)
        rows = len(instances)
        return {"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(rows)]}
    inputs = body["inputs"]
    if isinstance(inputs, Mapping):
        feeds = {k: _decode_b64(v) for k, v in inputs.items()}
    elif len(input_names) == 1:
        feeds = {input_names[0]: _decode_b64(inputs)}
    else:
        raise ValueError(f'"inputs" must be an object naming the inputs {input_names!r}. Received: inputs={inputs!r}')
    outputs = _call_signature(fn, feeds)
    return {"outputs": {k: v.tolist() for k, v in outputs.items()}}
