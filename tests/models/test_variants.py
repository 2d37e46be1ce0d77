"""The one builder pipeline: generated signatures and docstrings, and the import layering."""

import ast
import inspect
import pathlib

import pytest

import kerasnets
from kerasnets.models._variants import COMMON_NAMES

ROOT = pathlib.Path(kerasnets.__file__).parent


@pytest.mark.parametrize("name", kerasnets.list_models())
def test_builder_signature_is_keyword_only_and_keras_applications_ordered(name):
    spec = kerasnets.get_spec(name)
    params = inspect.signature(spec.builder).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    names = list(params)
    assert names[:7] == ["include_top", "weights", "input_tensor", "input_shape", "pooling", "classes", "classifier_activation"]
    assert names[7] == "activation" and names[-1] == "name"
    assert params["classes"].default == spec.default_classes
    assert params["name"].default == name
    assert spec.builder.__name__ == name and spec.builder.__module__.startswith("kerasnets.models.")


@pytest.mark.parametrize("name", kerasnets.list_models())
def test_docstring_states_the_registry_figures(name):
    spec = kerasnets.get_spec(name)
    doc = spec.builder.__doc__
    assert f"{spec.ref_params:,}" in doc
    if spec.ref_macs is not None:
        assert f"{spec.ref_macs:,}" in doc
    assert f'mode="{spec.preprocessing}"' in doc
    for section in ("Args:", "Returns:", "Raises:", "Examples:"):
        assert section in doc
    assert doc.splitlines()[0].strip() and "{" not in doc.splitlines()[0]
    assert inspect.getdoc(spec.builder) == inspect.cleandoc(doc)


def test_preprocessing_modes_follow_keras_applications():
    modes = {name: kerasnets.get_spec(name).preprocessing for name in kerasnets.list_models()}
    assert {modes[n] for n in ("vgg16", "vgg19", "resnet50", "resnet101", "resnet152")} == {"caffe"}
    assert {modes[n] for n in ("resnet50_v2", "inception_v3", "inception_resnet_v2")} == {"tf"}
    assert {modes[n] for n in ("densenet121", "densenet169", "densenet201")} == {"torch"}
    assert set(modes.values()) <= {"caffe", "tf", "torch"}
    assert modes["lenet5"] == "tf"  # one grey channel: caffe and torch need three


def test_unknown_and_positional_arguments_name_the_builder():
    with pytest.raises(TypeError, match=r"vgg16\(\) got an unexpected keyword argument 'towers'.*fully_convolutional"):
        kerasnets.vgg16(towers=2)
    with pytest.raises(TypeError, match=r"resnet18\(\) too many positional arguments"):
        kerasnets.resnet18(True)


def test_help_shows_the_real_signature():
    text = str(inspect.signature(kerasnets.googlenet))
    assert text.startswith("(*, include_top=True, weights=None,")
    assert "aux_logits=False, naive=False, dropout=0.4, aux_dropout=0.7, name='googlenet')" in text
    assert set(COMMON_NAMES) <= set(inspect.signature(kerasnets.lenet5).parameters)


def _python_files(folder):
    return sorted(p for p in folder.rglob("*.py"))


def test_no_forwarding_blocks_or_templates_remain():
    for path in _python_files(ROOT / "models"):
        text = path.read_text()
        assert "include_top=include_top" not in text, path
        assert "def _variant(" not in text and "\n_DOC = " not in text, path


@pytest.mark.parametrize("module", ["kerasnets.models", "kerasnets._registry"])
def test_no_function_body_imports_the_registry_or_the_models(module):
    offenders = []
    for path in _python_files(ROOT):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                if any(n == module or n.startswith(module + ".") for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # kerasnets/cli.py, features.py and summary/ belong to other helpers (switched at merge time).
    mine = [o for o in offenders if not o.startswith(("cli.py", "summary/", "features.py", "export.py"))]
    assert not mine, mine
