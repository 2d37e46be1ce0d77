"""SavedModel export for TF Serving (kerasnets/serving/, `kerasnets export`).

No model server binary is installable here, so the checks are what a server relies on:
the export loads in a fresh Python process where Keras cannot even be imported, its
signatures are listed by ``saved_model_cli``, and gRPC ``PredictRequest`` protos and REST
JSON bodies built as clients build them map onto the signatures and give the Keras model's
answer. One model per registered family is exported (tests/family_models.py).
"""

import base64
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasnets
from kerasnets import serving as E
from kerasnets.serving.signatures import output_is_probability
from family_models import CLASSES, small_classifier, smallest_per_family

TOP_K = 3

# Loads every export with TensorFlow alone: `keras` is made unimportable first.
TF_ONLY_SCRIPT = r"""
import json, sys
sys.modules["keras"] = None      # any `import keras` now raises ImportError
sys.modules["tf_keras"] = None
import numpy as np
import tensorflow as tf
manifest = json.load(open(sys.argv[1]))
for item in manifest:
    loaded = tf.saved_model.load(item["path"])
    data = np.load(item["inputs"], allow_pickle=True)
    out = {}
    for key in ("exact", "other"):
        res = loaded.signatures["serving_default"](images=tf.constant(data[key]))
        for k, v in res.items():
            out[f"{key}_{k}"] = v.numpy()
    pngs = [bytes(b) for b in data["png"]]
    res = loaded.signatures["serving_bytes"](image_bytes=tf.constant(pngs))
    for k, v in res.items():
        out[f"bytes_{k}"] = v.numpy()
    out["signatures"] = np.array(sorted(loaded.signatures))
    np.savez(item["outputs"], **out)
live = sorted(m for m, mod in sys.modules.items() if (m == "keras" or m.startswith(("keras.", "tf_keras"))) and mod is not None)
print("KERAS_MODULES=" + json.dumps(live))
"""


def _pixels(rng, n, h, w, c):
    return rng.integers(0, 256, (n, h, w, c)).astype("float32")


def _predict(model, x):
    # An eager call: no predict-function tracing (costly for the deep families).
    return keras.ops.convert_to_numpy(model(x, training=False))


def _reference(model, pixels, side, preprocess):
    """What the served graph should compute: resize to the model size, preprocess, predict."""
    resized = tf.image.resize(pixels, (side, side), method="bilinear").numpy()
    return _predict(model, preprocess(resized))


@pytest.fixture(scope="module")
def family_exports(tmp_path_factory):
    """Export the smallest model of each family (preprocessing='scale') and its reference outputs."""
    root = tmp_path_factory.mktemp("exports")
    rng = np.random.default_rng(0)
    items = []
    for family, name, side in smallest_per_family():
        keras.utils.set_random_seed(0)
        model = small_classifier(name, side)
        channels = model.input_shape[-1]
        path = E.export_saved_model(model, root / family, preprocessing="scale", top_k=TOP_K, warmup=False)
        exact = _pixels(rng, 2, side, side, channels)
        other = _pixels(rng, 2, side + 7, side + 3, channels)
        png = [tf.io.encode_png(x.astype(np.uint8)).numpy() for x in exact]
        inputs = root / f"{family}_in.npz"
        np.savez(inputs, exact=exact, other=other, png=np.array(png, dtype=object))
        items.append(
            {
                "family": family,
                "name": name,
                "path": path,
                "inputs": str(inputs),
                "outputs": str(root / f"{family}_out.npz"),
                "ref_exact": _predict(model, exact / 255.0),
                "ref_other": _reference(model, other, side, lambda x: x / 255.0),
            }
        )
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps([{k: v for k, v in i.items() if not k.startswith("ref")} for i in items]))
    return {"items": items, "manifest": str(manifest), "root": root}


@pytest.fixture(scope="module")
def tf_only_and_cli(family_exports):
    """Run the TF-only loader and saved_model_cli in parallel subprocesses."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    first = family_exports["items"][0]["path"]
    loader = subprocess.Popen(
        [sys.executable, "-c", TF_ONLY_SCRIPT, family_exports["manifest"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    cli = subprocess.Popen(
        ["saved_model_cli", "show", "--all", "--dir", first],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out, err = loader.communicate(timeout=300)
        cli_out, cli_err = cli.communicate(timeout=300)
    finally:
        for proc in (loader, cli):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert loader.returncode == 0, err[-3000:]
    assert cli.returncode == 0, cli_err[-3000:]
    return {"stdout": out, "cli": cli_out}


def test_every_family_is_exported(family_exports):
    exported = sorted(i["family"] for i in family_exports["items"])
    assert exported == kerasnets.list_families()
    for item in family_exports["items"]:
        assert os.path.basename(item["path"]) == "1"
        assert sorted(os.listdir(os.path.dirname(item["path"]))) == ["1"]  # no temporary dir left


def test_tf_only_process_matches_keras(family_exports, tf_only_and_cli):
    line = [ln for ln in tf_only_and_cli["stdout"].splitlines() if ln.startswith("KERAS_MODULES=")][-1]
    assert json.loads(line.split("=", 1)[1]) == []  # Keras was never imported
    for item in family_exports["items"]:
        out = np.load(item["outputs"])
        assert sorted(out["signatures"]) == ["serving_bytes", "serving_default"]
        for key, ref in (("exact", item["ref_exact"]), ("other", item["ref_other"]), ("bytes", item["ref_exact"])):
            probs = out[f"{key}_probabilities"]
            np.testing.assert_allclose(probs, ref, atol=2e-5, err_msg=f"{item['name']} {key}")
            np.testing.assert_array_equal(out[f"{key}_classes"], np.argsort(-probs, axis=1)[:, :TOP_K])
            np.testing.assert_allclose(out[f"{key}_scores"], np.sort(probs, axis=1)[:, ::-1][:, :TOP_K], rtol=1e-6)
            assert out[f"{key}_classes"].dtype == np.int32


def test_saved_model_cli_lists_named_signatures(family_exports, tf_only_and_cli):
    text = tf_only_and_cli["cli"]
    channels = 1 if family_exports["items"][0]["family"] == "lenet" else 3
    default = text.split("signature_def['serving_default']")[1]
    assert "inputs['images'] tensor_info" in default
    assert f"shape: (-1, -1, -1, {channels})" in default.split("outputs[")[0]
    for name, shape in (("probabilities", f"(-1, {CLASSES})"), ("classes", f"(-1, {TOP_K})"), ("scores", f"(-1, {TOP_K})")):
        block = default.split(f"outputs['{name}'] tensor_info:")[1].split("name:")[0]
        assert f"shape: {shape}" in block
    assert "DT_INT32" in default.split("outputs['classes']")[1].split("name:")[0]
    bytes_sig = text.split("signature_def['serving_bytes']")[1].split("signature_def[")[0]
    assert "inputs['image_bytes'] tensor_info" in bytes_sig
    assert "dtype: DT_STRING" in bytes_sig and "shape: (-1)" in bytes_sig
    assert "Method name is: tensorflow/serving/predict" in default


# ---------------------------------------------------------------------------- one small model


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    keras.utils.set_random_seed(1)
    model = kerasnets.lenet5(classes=CLASSES)
    base = tmp_path_factory.mktemp("lenet")
    path = E.export_saved_model(model, base, top_k=TOP_K)
    return {"model": model, "base": base, "path": path, "loaded": tf.saved_model.load(path)}


def test_predict_request_proto_as_a_client_builds_it(lenet):
    from tensorflow_serving.apis import predict_pb2

    x = _pixels(np.random.default_rng(1), 3, 32, 32, 1)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "lenet5"
    request.model_spec.signature_name = "serving_default"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(x, shape=list(x.shape)))
    request.output_filter.extend(["classes", "probabilities"])
    response = E.run_predict_request(lenet["loaded"], predict_pb2.PredictRequest.FromString(request.SerializeToString()))
    assert sorted(response.outputs) == ["classes", "probabilities"]
    probs = tf.make_ndarray(response.outputs["probabilities"])
    np.testing.assert_allclose(probs, lenet["model"].predict(x, verbose=0), atol=1e-6)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["classes"]), np.argsort(-probs, 1)[:, :TOP_K])
    # the helper builds the same request
    assert E.predict_request(x, model_name="lenet5").inputs["images"] == request.inputs["images"]


def test_rest_bodies_as_a_client_builds_them(lenet):
    x = _pixels(np.random.default_rng(2), 2, 40, 36, 1)  # any size: resized in the graph
    ref = _reference(lenet["model"], x, 32, lambda v: v)
    row = E.run_rest_request(lenet["loaded"], json.dumps({"instances": x.tolist()}))
    assert len(row["predictions"]) == 2 and set(row["predictions"][0]) == {"probabilities", "classes", "scores"}
    np.testing.assert_allclose([p["probabilities"] for p in row["predictions"]], ref, atol=1e-5)
    col = E.run_rest_request(lenet["loaded"], json.dumps({"signature_name": "serving_default", "inputs": x.tolist()}))
    np.testing.assert_allclose(col["outputs"]["probabilities"], ref, atol=1e-5)
    # encoded images as REST clients send them: {"b64": ...}
    exact = _pixels(np.random.default_rng(3), 2, 32, 32, 1)
    encoded = [base64.b64encode(tf.io.encode_png(img.astype(np.uint8)).numpy()).decode() for img in exact]
    body = {"signature_name": "serving_bytes", "instances": [{"b64": e} for e in encoded]}
    res = E.run_rest_request(lenet["loaded"], json.dumps(body))
    np.testing.assert_allclose(
        [p["probabilities"] for p in res["predictions"]], lenet["model"].predict(exact, verbose=0), atol=1e-6
    )
    jpeg = tf.io.encode_jpeg(exact[0].astype(np.uint8), quality=100).numpy()
    res = E.run_rest_request(lenet["loaded"], {"signature_name": "serving_bytes",
                                               "instances": [{"image_bytes": {"b64": base64.b64encode(jpeg).decode()}}]})
    assert len(res["predictions"][0]["classes"]) == TOP_K


def test_rest_body_errors_name_the_problem(lenet):
    with pytest.raises(ValueError, match="exactly one of"):
        E.run_rest_request(lenet["loaded"], {"instances": [1], "inputs": [1]})
    with pytest.raises(ValueError, match="signature_name"):
        E.run_rest_request(lenet["loaded"], {"signature_name": "nope", "instances": [[0]]})
    with pytest.raises(ValueError, match="must have shape"):
        E.run_rest_request(lenet["loaded"], {"instances": [[[0.0, 1.0]]]})


def test_warmup_requests_replay(lenet):
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(lenet["path"], "assets.extra", "tf_serving_warmup_requests")
    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]
    assert [log.predict_log.request.model_spec.signature_name for log in logs] == ["serving_default", "serving_bytes"]
    assert {log.predict_log.request.model_spec.name for log in logs} == {"lenet5"}
    for log in logs:  # what TF Serving does at load: run each request
        response = E.run_predict_request(lenet["loaded"], log.predict_log.request)
        assert tf.make_ndarray(response.outputs["probabilities"]).shape == (1, CLASSES)
    meta = json.loads(open(os.path.join(lenet["path"], "assets.extra", "kerasnets_export.json")).read())
    assert meta["input_size"] == [32, 32, 1] and meta["top_k"] == TOP_K


def test_versions_are_numbered_and_never_overwritten(lenet):
    base = lenet["base"]
    assert E.next_version(base) == 2
    second = E.export_saved_model(lenet["model"], base, warmup=False)
    assert second == os.path.join(str(base), "2")
    with pytest.raises(FileExistsError, match=r"Version 1 already exists.*Received: version=1"):
        E.export_saved_model(lenet["model"], base, 1)

    def broken(x):
        raise RuntimeError("preprocessing failed while tracing")

    with pytest.raises(RuntimeError, match="while tracing"):
        E.export_saved_model(lenet["model"], base, preprocessing=broken)
    assert sorted(os.listdir(base)) == ["1", "2"]  # the failed export left nothing behind


def test_uint8_input_and_logits_model(tmp_path):
    keras.utils.set_random_seed(2)
    model = kerasnets.nin_cifar(classes=4, input_shape=(16, 16, 3), classifier_activation=None)
    path = E.export_saved_model(model, tmp_path, preprocessing="tf", image_dtype="uint8", top_k=10, warmup=False)
    sig = tf.saved_model.load(path).signatures["serving_default"]
    assert sig.structured_input_signature[1]["images"].dtype == tf.uint8
    x = np.random.default_rng(4).integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    out = sig(images=tf.constant(x))
    logits = model.predict(x.astype("float32") / 127.5 - 1, verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), tf.nn.softmax(logits).numpy(), atol=1e-6)
    assert out["classes"].shape == (2, 4)  # top_k capped at the number of classes


def test_models_config_round_trips(tmp_path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = tmp_path / "models.config"
    E.write_models_config(path, {"lenet5": "serving/lenet5", "nin": str(tmp_path / "nin")})
    config = text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())
    entries = config.model_config_list.config
    assert [e.name for e in entries] == ["lenet5", "nin"]
    assert entries[0].base_path == os.path.abspath("serving/lenet5")
    assert {e.model_platform for e in entries} == {"tensorflow"}
    with pytest.raises(ValueError, match="unique"):
        E.write_models_config(path, [("a", "x"), ("a", "y")])
    with pytest.raises(E.ExportError, match=r"Cannot write the models.config file '.*': Is a directory"):
        E.write_models_config(tmp_path, {"lenet5": "serving/lenet5"})


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"top_k": 0}, ValueError, r"`top_k` must be an integer >= 1. Received: top_k=0"),
        ({"preprocessing": "imagenet"}, ValueError, r"`preprocessing` must be one of .* Received: preprocessing='imagenet'"),
        ({"preprocessing": "torch"}, ValueError, r"normalises RGB images.*Received: preprocessing='torch'"),
        ({"image_dtype": "int16"}, ValueError, r"Received: image_dtype='int16'"),
        ({"version": -1}, ValueError, r"Received: version=-1"),
        ({"input_size": (10, 10)}, ValueError, r"must match the model's fixed input size"),
    ],
)
def test_bad_arguments(lenet, tmp_path, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        E.export_saved_model(lenet["model"], tmp_path, **kwargs)
    assert os.listdir(tmp_path) == []


def test_non_classifier_is_refused(tmp_path):
    features = kerasnets.nin_cifar(include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"must be a classifier with one \(batch, classes\) output"):
        E.export_saved_model(features, tmp_path)
    free = kerasnets.nin_cifar(input_shape=(None, None, 3))
    with pytest.raises(ValueError, match=r"pass `input_size=\(height, width\)`"):
        E.export_saved_model(free, tmp_path)
    path = E.export_saved_model(free, tmp_path, input_size=(16, 16), warmup=False)
    assert os.path.basename(path) == "1"


def test_cli_export(tmp_path, capsys):
    from kerasnets.cli import main

    base = tmp_path / "served"
    assert main(["export", "lenet5", "--out", str(base), "--classes", "3", "--top-k", "2", "--no-warmup"]) == 0
    assert capsys.readouterr().out.strip() == str(base / "1")
    sig = tf.saved_model.load(str(base / "1")).signatures["serving_default"]
    assert sig(images=tf.zeros([1, 28, 28, 1]))["classes"].shape == (1, 2)
    assert main(["export", "lenet5", "--out", str(base), "--version", "1"]) == 2
    assert "Version 1 already exists" in capsys.readouterr().err
    assert main(["export", "lenet5", "--out", str(base), "--weights", "imagenet"]) == 2
    assert "timm/resnet50.tv_in1k" in capsys.readouterr().err  # names the published choices instead


def test_softmax_is_detected_through_an_identity_output_layer():
    # Mixed-precision models end with a float32 "linear" cast after the softmax (apps.mnist does):
    # the export must not apply a second softmax; logits models get one.
    base = kerasnets.lenet5()
    cast = keras.layers.Activation("linear", dtype="float32", name="probabilities")(base.output)
    assert output_is_probability(keras.Model(base.input, cast))
    assert not output_is_probability(kerasnets.lenet5(classifier_activation=None))


# ---------------------------------------------------------------------------- preprocessing, GIF, ranges

# The hand-written modes the export used before kerasnets.preprocessing (kept here as the reference).
_OLD_MODES = {
    None: lambda x: x,
    "scale": lambda x: x / 255.0,
    "tf": lambda x: x / 127.5 - 1.0,
    "torch": lambda x: (x / 255.0 - tf.constant((0.485, 0.456, 0.406))) / tf.constant((0.229, 0.224, 0.225)),
    "caffe": lambda x: x[..., ::-1] - tf.constant((103.939, 116.779, 123.68)),
}


@pytest.mark.parametrize("mode", list(_OLD_MODES))
def test_graph_preprocessing_is_keras_preprocess_input_and_unchanged(mode):
    from kerasnets.serving.signatures import preprocess_fn

    pixels = tf.constant(np.random.default_rng(5).uniform(0, 255, (2, 9, 7, 3)).astype("float32"))
    spec = [tf.TensorSpec([None, 9, 7, 3], tf.float32)]
    new = tf.function(preprocess_fn(mode, 3), input_signature=spec)(pixels).numpy()
    old = tf.function(_OLD_MODES[mode], input_signature=spec)(pixels).numpy()
    assert np.abs(new - old).max() == 0.0
    if mode not in (None, "scale"):
        keras_fn = tf.function(lambda x: keras.applications.imagenet_utils.preprocess_input(x, mode=mode))
        keras_ref = keras_fn.get_concrete_function(*spec)(pixels).numpy()
        np.testing.assert_array_equal(new, keras_ref)


def test_torch_export_serves_the_preprocessed_model(tmp_path):
    model = kerasnets.nin_cifar(classes=4, input_shape=(16, 16, 3))
    path = E.export_saved_model(model, tmp_path, preprocessing="torch", warmup=False)
    x = np.random.default_rng(6).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    out = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(x))
    ref = _predict(model, _OLD_MODES["torch"](tf.constant(x)).numpy())
    np.testing.assert_allclose(out["probabilities"].numpy(), ref, atol=2e-6)
    meta = json.loads(open(os.path.join(path, "assets.extra", "kerasnets_export.json")).read())
    assert meta["preprocessing"] == "torch"


def test_gif_is_served_by_a_one_channel_export(lenet, tmp_path):
    from PIL import Image

    grey = np.random.default_rng(7).integers(0, 256, (2, 32, 32, 1)).astype(np.uint8)
    gifs = []
    for i, img in enumerate(grey):
        Image.fromarray(img[..., 0], "L").save(tmp_path / f"{i}.gif")
        gifs.append((tmp_path / f"{i}.gif").read_bytes())
    assert all(g[:3] == b"GIF" for g in gifs)
    signatures = lenet["loaded"].signatures
    from_gif = signatures["serving_bytes"](image_bytes=tf.constant(gifs))["probabilities"].numpy()
    from_pixels = signatures["serving_default"](images=tf.constant(grey.astype("float32")))["probabilities"].numpy()
    np.testing.assert_allclose(from_gif, from_pixels, atol=1e-6)
    # A colour GIF becomes grey with tf.image.rgb_to_grayscale's ITU-R 601 weights.
    colour = np.random.default_rng(8).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    Image.fromarray(colour).save(tmp_path / "c.gif")
    decoded = tf.io.decode_gif((tmp_path / "c.gif").read_bytes())[0]
    expected = tf.cast(tf.image.rgb_to_grayscale(decoded), tf.float32)[tf.newaxis]
    got = signatures["serving_bytes"](image_bytes=tf.constant([(tmp_path / "c.gif").read_bytes()]))["probabilities"]
    ref = signatures["serving_default"](images=expected)["probabilities"]
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-6)


@pytest.fixture(scope="module")
def uint8_export(tmp_path_factory):
    model = kerasnets.lenet5(classes=CLASSES)
    path = E.export_saved_model(model, tmp_path_factory.mktemp("u8"), image_dtype="uint8", warmup=False)
    return {"model": model, "loaded": tf.saved_model.load(path)}


@pytest.mark.parametrize("value", [300, -1, 256, 12.5])
def test_rest_refuses_pixels_uint8_cannot_hold(uint8_export, value):
    body = {"instances": np.full((1, 32, 32, 1), value).tolist()}
    with pytest.raises(ValueError, match=rf"'images' must hold whole numbers in \[0, 255\] \(uint8\).*Received: images value {value}"):
        E.run_rest_request(uint8_export["loaded"], body)


def test_rest_uint8_edges_are_served_exactly(uint8_export):
    x = np.zeros((1, 32, 32, 1), np.uint8)
    x[0, :16] = 255
    res = E.run_rest_request(uint8_export["loaded"], {"instances": x.tolist()})
    ref = _predict(uint8_export["model"], x.astype("float32"))
    np.testing.assert_allclose(res["predictions"][0]["probabilities"], ref[0], atol=1e-6)


def test_rest_refuses_non_finite_floats(lenet):
    x = np.zeros((1, 32, 32, 1))
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"'images' must hold finite numbers"):
        E.run_rest_request(lenet["loaded"], {"inputs": x.tolist()})


def test_deprecated_kerasnets_export_shim_warns_and_re_exports():
    import importlib
    import warnings

    import kerasnets.export as old

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.reload(old)
    assert any(issubclass(w.category, DeprecationWarning) and "kerasnets.serving" in str(w.message) for w in caught)
    for name in old.__all__:
        assert getattr(old, name) is getattr(E, name), name
