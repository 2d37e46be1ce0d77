"""SavedModel export for TensorFlow Serving (TensorFlow only).

TF Serving watches a *base directory* and serves its highest numbered
sub-directory (``BASE_DIR/1``, ``BASE_DIR/2``, ...). :func:`export_saved_model`
writes one such version: it builds the SavedModel in a hidden temporary
directory inside ``BASE_DIR`` (a name TF Serving ignores) and renames it into
place, so a server polling the base directory never loads a half-written
version.

The exported graph is self-contained: decoding, resizing to the model's input
size and the preprocessing run inside it, so clients send raw pixels or
encoded image files. Two signatures:

``serving_default``
    input ``images``: ``[batch, height, width, channels]`` pixel values in
    ``[0, 255]`` (``float32`` by default, ``uint8`` with ``image_dtype="uint8"``),
    any batch and any height/width (resized in-graph, bilinear).
``serving_bytes``
    input ``image_bytes``: ``[batch]`` strings, each an encoded JPEG, PNG, BMP
    or GIF file (what REST clients send as ``{"b64": ...}``).

Both return ``probabilities`` ``[batch, classes]`` (float32), ``classes``
``[batch, k]`` (int32, best first) and ``scores`` ``[batch, k]`` (their
probabilities), with ``k = min(top_k, classes)``.

Optional extras: ``assets.extra/tf_serving_warmup_requests`` (one
``PredictionLog`` per signature, built with the ``tensorflow-serving-api``
protos; TF Serving replays them at load so the first real request is not
slow) and a ``models.config`` for serving several models from one server
(:func:`write_models_config`).

No model server binary is needed to check an export: :func:`run_predict_request`
and :func:`run_rest_request` map a ``PredictRequest`` proto or a REST JSON
body onto a loaded signature the way TF Serving does.

Examples:
    >>> import kerasnets
    >>> from kerasnets.export import export_saved_model
    >>> model = kerasnets.lenet5(classes=10)
    >>> path = export_saved_model(model, "/tmp/serving/lenet5", top_k=3)  # doctest: +SKIP
    >>> # tensorflow_model_server --model_base_path=/tmp/serving/lenet5 --model_name=lenet5
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from kerasnets._validation import check_bool, check_choice, check_positive_int

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

SIGNATURE_IMAGES = "serving_default"
SIGNATURE_BYTES = "serving_bytes"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
METADATA_FILE = os.path.join("assets.extra", "kerasnets_export.json")

# Preprocessing modes, named as in keras.applications.imagenet_utils.preprocess_input.
# Each maps float32 pixels in [0, 255] to what the network was trained on.
PREPROCESSING = {
    None: "none: the network takes pixels in [0, 255] (e.g. models that normalise inside, like apps.mnist)",
    "scale": "x / 255, to [0, 1]",
    "tf": "x / 127.5 - 1, to [-1, 1]",
    "torch": "x / 255, then per-channel (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] (RGB)",
    "caffe": "RGB -> BGR, then subtract the ImageNet BGR mean [103.939, 116.779, 123.68]",
}
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _tf():
    import tensorflow as tf

    return tf


# --------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------


def _numeric_versions(base_dir: str) -> list[int]:
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(d) for d in os.listdir(base_dir) if d.isdigit() and os.path.isdir(os.path.join(base_dir, d)))


def next_version(base_dir: str | os.PathLike) -> int:
    """The next free TF Serving version number in ``base_dir`` (1 if there is none).

    Examples:
        >>> next_version("/nonexistent/dir")
        1
    """
    versions = _numeric_versions(os.fspath(base_dir))
    return versions[-1] + 1 if versions else 1


# --------------------------------------------------------------------------------------------
# The serving graph
# --------------------------------------------------------------------------------------------


def _check_model(model) -> tuple[int | None, int | None, int, int]:
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Received: model={model!r}")
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "SavedModel export runs on the TensorFlow backend (the serving graph is TensorFlow); "
            "run the export with KERAS_BACKEND=tensorflow (weights saved under another backend "
            f"load unchanged). Received: backend={keras.backend.backend()!r}"
        )
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        shapes = [tuple(t.shape) for t in model.inputs]
        raise ValueError(
            "`model` must take one image input of shape (batch, height, width, channels). "
            f"Received: model input shapes={shapes!r}"
        )
    if len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
        shapes = [tuple(t.shape) for t in model.outputs]
        raise ValueError(
            "`model` must be a classifier with one (batch, classes) output; for a feature "
            "extractor (include_top=False) add a head, e.g. keras.layers.Dense(classes, "
            f"activation='softmax', name='predictions'). Received: model output shapes={shapes!r}"
        )
    _, height, width, channels = model.inputs[0].shape
    if channels is None:
        raise ValueError(
            f"`model` must have a known channel count. Received: model input shape={tuple(model.inputs[0].shape)!r}"
        )
    classes = model.outputs[0].shape[-1]
    if classes is None:
        raise ValueError(
            f"`model` must have a known number of classes. Received: model output shape={tuple(model.outputs[0].shape)!r}"
        )
    return height, width, int(channels), int(classes)


def _output_is_probability(model) -> bool:
    """True when the model's last layer already applies softmax."""
    import keras

    tensor = model.outputs[0]
    for _ in range(8):  # look through identity layers (e.g. a float32 "linear" output cast)
        layer = tensor._keras_history.operation
        activation = getattr(layer, "activation", None)
        if activation is keras.activations.softmax or isinstance(layer, keras.layers.Softmax):
            return True
        identity = isinstance(layer, keras.layers.Activation) and activation is keras.activations.linear
        inputs = layer._inbound_nodes[0].input_tensors if identity and layer._inbound_nodes else []
        if len(inputs) != 1:
            return False
        tensor = inputs[0]
    return False


def _preprocess_fn(preprocessing: Any, channels: int) -> Callable:
    tf = _tf()
    if callable(preprocessing):
        return preprocessing
    if not (preprocessing is None or isinstance(preprocessing, str)):
        raise TypeError(
            "`preprocessing` must be None, a mode name or a callable. "
            f"Allowed names: {', '.join(repr(k) for k in PREPROCESSING)}. Received: preprocessing={preprocessing!r}"
        )
    check_choice("preprocessing", preprocessing, tuple(PREPROCESSING))
    if preprocessing in ("torch", "caffe") and channels != 3:
        raise ValueError(
            f"`preprocessing={preprocessing!r}` normalises RGB images; the model takes {channels} "
            f"channel(s); use None, 'scale', 'tf' or a callable. Received: preprocessing={preprocessing!r}"
        )
    if preprocessing is None:
        return lambda x: x
    if preprocessing == "scale":
        return lambda x: x / 255.0
    if preprocessing == "tf":
        return lambda x: x / 127.5 - 1.0
    if preprocessing == "torch":
        return lambda x: (x / 255.0 - tf.constant(_TORCH_MEAN)) / tf.constant(_TORCH_STD)
    return lambda x: x[..., ::-1] - tf.constant(_CAFFE_MEAN_BGR)


def _build_archive(model, *, height, width, channels, classes, preprocess, top_k, image_dtype, resize_method):
    import keras

    tf = _tf()
    k = min(top_k, classes)
    apply_softmax = not _output_is_probability(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    if isinstance(preprocess, keras.layers.Layer):
        archive.track(preprocess)

    def to_model_size(images):
        # float32 pixels [b, h, w, c] -> [b, height, width, c]
        if height is None or width is None:
            return images
        return tf.image.resize(images, (height, width), method=resize_method)

    # Traced once, at the model's size; both signatures call this one graph.
    @tf.function(input_signature=[tf.TensorSpec([None, height, width, channels], tf.float32)])
    def head(pixels):
        x = tf.cast(preprocess(pixels), model.inputs[0].dtype)
        out = tf.cast(model(x, training=False), tf.float32)
        probabilities = tf.nn.softmax(out, axis=-1) if apply_softmax else out
        scores, indices = tf.math.top_k(probabilities, k=k)
        return {"probabilities": probabilities, "classes": tf.cast(indices, tf.int32), "scores": scores}

    def serve_images(images):
        return head(to_model_size(tf.cast(images, tf.float32)))

    def serve_bytes(image_bytes):
        def decode(data):
            img = tf.io.decode_image(data, channels=channels, dtype=tf.uint8, expand_animations=False)
            img = tf.cast(img, tf.float32)[tf.newaxis]
            return to_model_size(img)[0]

        pixels = tf.map_fn(
            decode, image_bytes, fn_output_signature=tf.TensorSpec((height, width, channels), tf.float32)
        )
        return head(pixels)

    archive.add_endpoint(
        SIGNATURE_IMAGES,
        serve_images,
        input_signature=[tf.TensorSpec([None, None, None, channels], tf.as_dtype(image_dtype), name="images")],
    )
    archive.add_endpoint(
        SIGNATURE_BYTES,
        serve_bytes,
        input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")],
    )
    return archive


def _warmup_records(model_name: str, *, height: int, width: int, channels: int, image_dtype: str) -> list[bytes]:
    """Serialized ``PredictionLog`` records, one per signature (a black image)."""
    tf = _tf()
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    pixels = np.zeros((1, height, width, channels), dtype=image_dtype)
    png = tf.io.encode_png(np.zeros((height, width, channels), np.uint8)).numpy()
    records = []
    for signature, name, value in (
        (SIGNATURE_IMAGES, "images", tf.make_tensor_proto(pixels)),
        (SIGNATURE_BYTES, "image_bytes", tf.make_tensor_proto([png], dtype=tf.string)),
    ):
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
        )
        request.inputs[name].CopyFrom(value)
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        records.append(log.SerializeToString())
    return records


def export_saved_model(
    model,
    base_dir: str | os.PathLike,
    version: int | None = None,
    *,
    preprocessing: Any = None,
    top_k: int = 5,
    image_dtype: str = "float32",
    input_size: tuple[int, int] | None = None,
    resize_method: str = "bilinear",
    warmup: bool = True,
    model_name: str | None = None,
) -> str:
    """Export a Keras classifier as a versioned SavedModel for TensorFlow Serving.

    The SavedModel is written to ``base_dir/<version>`` atomically: it is built
    in a temporary directory inside ``base_dir`` (``.tmp-...``, which TF Serving
    ignores) and renamed into place. The graph needs only TensorFlow to run
    (``tf.saved_model.load`` or ``tensorflow_model_server``; Keras is not
    imported). Serving in this layout follows the TF Serving guide
    (https://www.tensorflow.org/tfx/serving/serving_basic).

    Args:
        model: a ``keras.Model`` with one image input ``(batch, h, w, c)`` and one
            ``(batch, classes)`` output (softmax probabilities or logits; logits
            get a softmax in the graph). Built on the TensorFlow backend.
        base_dir: the model's base directory (created if missing).
        version: the version number; default: the next free number (1 for a new
            base directory). An existing version is never overwritten.
        preprocessing: what the graph applies to the ``[0, 255]`` float pixels
            after resizing: None (nothing), ``"scale"``, ``"tf"``, ``"torch"``,
            ``"caffe"`` (see :data:`PREPROCESSING`) or a callable of one tensor
            written with TensorFlow or ``keras.ops`` (a Keras layer works).
        top_k: how many classes ``classes``/``scores`` return (capped at ``classes``).
        image_dtype: dtype of the ``images`` input: ``"float32"`` or ``"uint8"``.
        input_size: ``(height, width)`` to resize to, for models built with a
            variable input size (``input_shape=(None, None, c)``); defaults to the
            model's input size.
        resize_method: a ``tf.image.resize`` method: ``"bilinear"`` (default),
            ``"nearest"``, ``"bicubic"``, ``"area"``, ``"lanczos3"``.
        warmup: write ``assets.extra/tf_serving_warmup_requests`` (one
            ``PredictionLog`` per signature) so the server warms up at load.
        model_name: the model's name in the warm-up requests; default ``model.name``.

    Returns:
        The path of the written version directory.

    Raises:
        TypeError / ValueError: bad arguments (each names the value), a model that is
            not a single-input image classifier, or a non-TensorFlow backend.
        FileExistsError: ``version`` already exists in ``base_dir``.

    Examples:
        >>> import kerasnets
        >>> from kerasnets.export import export_saved_model
        >>> path = export_saved_model(kerasnets.lenet5(), "/tmp/lenet5", top_k=3)  # doctest: +SKIP
        >>> path  # doctest: +SKIP
        '/tmp/lenet5/1'
    """
    height, width, channels, classes = _check_model(model)
    if not isinstance(base_dir, (str, os.PathLike)):
        raise TypeError(f"`base_dir` must be a directory path. Received: base_dir={base_dir!r}")
    base_dir = os.path.abspath(os.fspath(base_dir))
    if os.path.exists(base_dir) and not os.path.isdir(base_dir):
        raise ValueError(f"`base_dir` must be a directory, not a file. Received: base_dir={base_dir!r}")
    top_k = check_positive_int("top_k", top_k)
    check_choice("image_dtype", image_dtype, ("float32", "uint8"))
    check_choice("resize_method", resize_method, ("bilinear", "nearest", "bicubic", "area", "lanczos3"))
    check_bool("warmup", warmup)
    if input_size is not None:
        if not isinstance(input_size, (tuple, list)) or len(input_size) != 2:
            raise ValueError(f"`input_size` must be a (height, width) pair. Received: input_size={input_size!r}")
        size = tuple(check_positive_int("input_size", s) for s in input_size)
        if (height, width) != (None, None) and size != (height, width):
            raise ValueError(
                f"`input_size` must match the model's fixed input size {(height, width)} (or be None). "
                f"Received: input_size={tuple(input_size)!r}"
            )
        height, width = size
    if height is None or width is None:
        raise ValueError(
            "The model accepts any input size; pass `input_size=(height, width)` so serving can "
            "resize and batch images of different sizes. Received: input_size=None"
        )
    preprocess = _preprocess_fn(preprocessing, channels)
    model_name = model_name or model.name
    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"`model_name` must be a non-empty string. Received: model_name={model_name!r}")
    if version is None:
        version = next_version(base_dir)
    else:
        version = check_positive_int("version", version, minimum=0)
    final = os.path.join(base_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(
            f"Version {version} already exists in {base_dir}; TF Serving versions are immutable: "
            f"omit `version` to write the next free one ({next_version(base_dir)}). Received: version={version}"
        )

    os.makedirs(base_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base_dir)
    try:
        archive = _build_archive(
            model,
            height=height,
            width=width,
            channels=channels,
            classes=classes,
            preprocess=preprocess,
            top_k=top_k,
            image_dtype=image_dtype,
            resize_method=resize_method,
        )
        archive.write_out(tmp, verbose=False)
        extra = os.path.join(tmp, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        if warmup:
            tf = _tf()
            with tf.io.TFRecordWriter(os.path.join(tmp, WARMUP_FILE)) as writer:
                for record in _warmup_records(
                    model_name, height=height, width=width, channels=channels, image_dtype=image_dtype
                ):
                    writer.write(record)
        metadata = {
            "model_name": model_name,
            "input_size": [height, width, channels],
            "classes": classes,
            "top_k": min(top_k, classes),
            "image_dtype": image_dtype,
            "preprocessing": preprocessing if not callable(preprocessing) else getattr(
                preprocessing, "__name__", type(preprocessing).__name__
            ),
            "resize_method": resize_method,
            "signatures": {
                SIGNATURE_IMAGES: {"inputs": ["images"], "outputs": ["probabilities", "classes", "scores"]},
                SIGNATURE_BYTES: {"inputs": ["image_bytes"], "outputs": ["probabilities", "classes", "scores"]},
            },
        }
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(metadata, f, indent=2)
        # mkdtemp creates a 0700 directory; a server running as another user must read it.
        for root, dirs, _ in os.walk(tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        os.chmod(tmp, 0o755)
        os.rename(tmp, final)  # atomic on one filesystem; fails if `final` appeared meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


# --------------------------------------------------------------------------------------------
# models.config
# --------------------------------------------------------------------------------------------


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

    Examples:
        >>> text = write_models_config("/tmp/models.config", {"lenet5": "/srv/lenet5"})  # doctest: +SKIP
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

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
    with open(os.fspath(path), "w") as f:
        f.write(text)
    return text


# --------------------------------------------------------------------------------------------
# Requests as a client sends them, mapped onto a loaded SavedModel as TF Serving does
# --------------------------------------------------------------------------------------------


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
    tf = _tf()
    from tensorflow_serving.apis import predict_pb2

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
        return _tf().saved_model.load(os.fspath(saved_model))
    return saved_model


def _signature(loaded, name: str):
    if name not in loaded.signatures:
        raise ValueError(
            f"`signature_name` must be one of the model's signatures {sorted(loaded.signatures)!r}. "
            f"Received: signature_name={name!r}"
        )
    return loaded.signatures[name]


def _call_signature(fn, feeds: Mapping[str, Any]) -> dict:
    tf = _tf()
    specs = fn.structured_input_signature[1]
    if set(feeds) != set(specs):
        raise ValueError(
            f"The request's inputs must be exactly the signature's inputs {sorted(specs)!r}. "
            f"Received: inputs={sorted(feeds)!r}"
        )
    args = {}
    for name, value in feeds.items():
        spec = specs[name]
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
    return {k: v.numpy() for k, v in fn(**args).items()}


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
    tf = _tf()
    from tensorflow_serving.apis import predict_pb2

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
        return base64.b64decode(value["b64"])
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
    ``{"b64": "<base64>"}``.

    Args:
        saved_model: the result of ``tf.saved_model.load`` or a version directory.
        body: the JSON body (text or already parsed).

    Returns:
        The JSON response as a Python dict.
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


# --------------------------------------------------------------------------------------------
# `kerasnets export` (wired into kerasnets.cli)
# --------------------------------------------------------------------------------------------


def add_export_arguments(parser) -> None:
    """Add the arguments of ``kerasnets export`` to an ``argparse`` parser."""
    parser.add_argument("model", help="a registered model name (see `kerasnets list`) or a saved .keras file")
    parser.add_argument("--out", required=True, metavar="BASE_DIR", help="the model's TF Serving base directory")
    parser.add_argument("--version", type=int, default=None, help="version number (default: the next free one)")
    parser.add_argument("--weights", default=None, help="a .weights.h5 file to load into the built model")
    parser.add_argument("--input-shape", nargs=3, type=int, metavar=("H", "W", "C"), default=None,
                        help="build the model for this input shape (default: the model's own)")
    parser.add_argument("--classes", type=int, default=None, help="classifier size (default: the model's)")
    parser.add_argument("--preprocessing", default="none", choices=["none"] + [k for k in PREPROCESSING if k],
                        help="in-graph preprocessing of the [0, 255] pixels (default: none)")
    parser.add_argument("--top-k", type=int, default=5, help="classes/scores per image (default: 5)")
    parser.add_argument("--image-dtype", default="float32", choices=["float32", "uint8"],
                        help="dtype of the serving_default `images` input (default: float32)")
    parser.add_argument("--name", default=None, help="model name in the warm-up requests (default: the model's)")
    parser.add_argument("--no-warmup", action="store_true", help="do not write assets.extra warm-up requests")


def run_export_command(args) -> str:
    """Build (or load) the model named by ``args.model`` and export it; returns the version directory."""
    import keras

    import kerasnets

    if args.model.endswith(".keras"):
        if not os.path.isfile(args.model):
            raise ValueError(f"MODEL must be a registered name or an existing .keras file. Received: model={args.model!r}")
        extra = [flag for flag, value in (("--weights", args.weights), ("--input-shape", args.input_shape),
                                          ("--classes", args.classes)) if value is not None]
        if extra:
            raise ValueError(
                f"{', '.join(extra)} build a registered model; a .keras file already holds its architecture "
                f"and weights. Received: model={args.model!r}"
            )
        model = keras.models.load_model(args.model)
    else:
        kwargs = {}
        if args.weights is not None:
            kwargs["weights"] = args.weights
        if args.input_shape is not None:
            kwargs["input_shape"] = tuple(args.input_shape)
        if args.classes is not None:
            kwargs["classes"] = args.classes
        model = kerasnets.get_model(args.model, **kwargs)
    return export_saved_model(
        model,
        args.out,
        args.version,
        preprocessing=None if args.preprocessing == "none" else args.preprocessing,
        top_k=args.top_k,
        image_dtype=args.image_dtype,
        warmup=not args.no_warmup,
        model_name=args.name,
    )
