"""Evaluation of a trained MNIST-app model: accuracy, per-class accuracy and pictures.

Writes into the output folder (default ``<run_dir>/evaluation``):
``learning_curves.png`` (loss and accuracy per epoch from ``history.csv``),
``confusion_matrix.png``, ``misclassified.png`` (a grid of wrong predictions
with predicted / true labels) and ``evaluation.json`` (all numbers).
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["load_run_model", "evaluate", "plot_learning_curves", "plot_confusion_matrix", "plot_misclassified"]


def load_run_model(path: str):
    """Load ``model.keras`` from a run directory (or a ``.keras`` file) for inference."""
    import keras

    import kerasnets.layers  # noqa: F401 - registers the custom layers some models use

    model_path = os.path.join(path, "model.keras") if os.path.isdir(path) else path
    if not os.path.isfile(model_path):
        raise FileNotFoundError(
            f"`run_dir` must be a training run folder holding model.keras (python -m apps.mnist train "
            f"--run-dir ...) or a .keras file. Received: run_dir={path!r}"
        )
    return keras.saving.load_model(model_path, compile=False)


def _run_config(run_dir: str | None) -> dict:
    if run_dir and os.path.isfile(os.path.join(run_dir, "config.json")):
        with open(os.path.join(run_dir, "config.json")) as f:
            return json.load(f)
    return {}


def plot_learning_curves(history: list, path: str) -> str | None:
    """Loss and accuracy per epoch (train and, if recorded, validation); None without history."""
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(h["epoch"]) + 1 for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, [h.get(key) for h in history], "o-", label=f"train {key}")
        if any(h.get(f"val_{key}") is not None for h in history):
            ax.plot(epochs, [h.get(f"val_{key}") for h in history], "s-", label=f"test {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_title("loss (train: label-smoothed, augmented)")
    axes[1].set_title("accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion_matrix(matrix: np.ndarray, class_names, path: str) -> str:
    """The confusion matrix (rows: true class, columns: predicted) with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(8, 7))
    ConfusionMatrixDisplay(matrix, display_labels=list(class_names)).plot(
        ax=ax, cmap="Blues", colorbar=False, xticks_rotation=45, values_format="d"
    )
    ax.set_title("confusion matrix (rows: true, columns: predicted)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_misclassified(images, y_true, y_pred, probabilities, class_names, path: str, *, limit: int = 36) -> str:
    """A grid of up to ``limit`` misclassified images titled "pred (p) / true"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wrong = np.flatnonzero(y_true != y_pred)[:limit]
    cols = 6
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.9, rows * 2.1), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        if images.shape[-1] == 1 or images.ndim == 3:
            ax.imshow(images[i].reshape(images.shape[1:3]), cmap="gray_r" if class_names[0] == "0" else "gray",
                      vmin=0, vmax=255)
        else:
            ax.imshow(images[i])
        ax.set_title(f"{class_names[y_pred[i]]} ({probabilities[i, y_pred[i]]:.2f})\ntrue {class_names[y_true[i]]}",
                     fontsize=8, color="firebrick")
    if not len(wrong):
        axes[0, 0].set_title("no misclassified images")
    fig.suptitle(f"misclassified: {int((y_true != y_pred).sum())} of {len(y_true)} (predicted (prob.) / true)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def evaluate(
    run_dir: str,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    out_dir: str | None = None,
    download: bool = True,
    test_limit: int | None = None,
    batch_size: int = 500,
) -> dict:
    """Evaluate the model of a training run on its dataset's test split.

    Args:
        run_dir: the run folder (``model.keras``, ``config.json``, ``history.csv``).
        dataset: override the run's dataset (e.g. a model trained on ``mnist-5k``
            evaluated on full ``mnist``).
        data_dir: folder with the IDX files (default: the run's).
        out_dir: where to write the PNGs and ``evaluation.json`` (default ``run_dir/evaluation``).
        download: allow the Keras downloader when the data is missing.
        test_limit: evaluate on the first N test images only (default: the run's own limit,
            if it trained with one and ``dataset`` is not overridden).
        batch_size: inference batch size.

    Returns:
        A dict: ``accuracy``, ``per_class_accuracy`` (name -> accuracy),
        ``confusion_matrix`` (list of lists), ``errors``, ``files`` (the PNGs).

    Raises:
        FileNotFoundError: no ``model.keras`` in ``run_dir``.
        kerasnets.data.DatasetNotFoundError: the dataset is missing.
    """
    from sklearn.metrics import confusion_matrix

    from apps.mnist.data import load_app_data
    from apps.mnist.train import read_history

    config = _run_config(run_dir)
    model = load_run_model(run_dir)
    data = load_app_data(dataset or config.get("dataset", "mnist-5k"), data_dir=data_dir or config.get("data_dir"),
                         download=download, folder_limit=config.get("folder_limit"))
    x, y = data.x_test, data.y_test.astype(np.int64)
    test_limit = test_limit or (config.get("test_limit") if dataset is None else None)
    if test_limit:
        x, y = x[:test_limit], y[:test_limit]
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise ValueError(f"the model of {run_dir!r} takes images of shape {expected}; the {data.name} test images "
                         f"are {tuple(x.shape[1:])}. Received: dataset={dataset!r}")
    probabilities = model.predict(x.astype(np.float32), batch_size=batch_size, verbose=0)
    y_pred = probabilities.argmax(axis=1)
    matrix = confusion_matrix(y, y_pred, labels=list(range(data.num_classes)))
    per_class = {
        name: float(matrix[i, i] / matrix[i].sum()) if matrix[i].sum() else None
        for i, name in enumerate(data.class_names)
    }
    out_dir = out_dir or os.path.join(run_dir if os.path.isdir(run_dir) else os.path.dirname(run_dir), "evaluation")
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "confusion_matrix": plot_confusion_matrix(matrix, data.class_names, os.path.join(out_dir, "confusion_matrix.png")),
        "misclassified": plot_misclassified(x, y, y_pred, probabilities, data.class_names,
                                            os.path.join(out_dir, "misclassified.png")),
    }
    curves = plot_learning_curves(read_history(run_dir) if os.path.isdir(run_dir) else [],
                                  os.path.join(out_dir, "learning_curves.png"))
    if curves:
        files["learning_curves"] = curves
    result = {
        "dataset": data.name,
        "test_examples": int(len(y)),
        "accuracy": float((y_pred == y).mean()),
        "errors": int((y_pred != y).sum()),
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
        "files": files,
    }
    with open(os.path.join(out_dir, "evaluation.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result
