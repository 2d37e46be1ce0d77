"""TF Serving warm-up records (``assets.extra/tf_serving_warmup_requests``).

TF Serving replays the ``PredictionLog`` records of this file when it loads a
version, so the first real request does not pay for graph initialisation
(https://www.tensorflow.org/tfx/serving/saved_model_warmup). The records are built
with the ``tensorflow-serving-api`` protos: one request per signature, a black image
at the model's size.
"""

from __future__ import annotations

import os

import numpy as np

from kerasnets.serving._deps import serving_module, tensorflow
from kerasnets.serving.signatures import SIGNATURE_BYTES, SIGNATURE_IMAGES

__all__ = ["WARMUP_FILE", "warmup_records", "write_warmup"]

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def warmup_records(model_name: str, *, height: int, width: int, channels: int, image_dtype: str) -> list[bytes]:
    """Serialized ``PredictionLog`` records, one per signature (a black image)."""
    tf = tensorflow()
    model_pb2 = serving_module("apis.model_pb2")
    predict_pb2 = serving_module("apis.predict_pb2")
    prediction_log_pb2 = serving_module("apis.prediction_log_pb2")

    pixels = np.zeros((1, height, width, channels), dtype=image_dtype)
    png = tf.io.encode_png(np.zeros((height, width, channels), np.uint8)).numpy()
    records = []
    for signature, name, value in (
        (SIGNATURE_IMAGES, "images", tf.make_tensor_proto(pixels)),
        (SIGNATURE_BYTES, "image_bytes", tf.make_tensor_proto([png], dtype=tf.string)),
    ):
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
        request.inputs[name].CopyFrom(value)
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        records.append(log.SerializeToString())
    return records


def write_warmup(version_dir: str, records: list[bytes]) -> str:
    """Write ``records`` to ``version_dir/assets.extra/tf_serving_warmup_requests``; returns the file's path."""
    tf = tensorflow()
    path = os.path.join(version_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path
