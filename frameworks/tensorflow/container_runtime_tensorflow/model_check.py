"""Warning, after training, when `SM_MODEL_DIR` holds nothing TensorFlow Serving can load.

TF Serving (and SageMaker's TF serving containers) load `<model dir>/<number>/saved_model.pb`;
a SavedModel elsewhere, or a Keras file alone, trains fine but cannot be deployed as is.
"""

from __future__ import annotations

from pathlib import Path

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def servability_problem(model_dir: Path) -> str | None:
    """None when a numbered SavedModel exists; otherwise what is wrong, in one line."""
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        return f"nothing was written to {model_dir}: the job produced no model to deploy"
    saved_models = [path for name in SAVED_MODEL_FILES for path in model_dir.rglob(name)]
    if not saved_models:
        return f"{model_dir} holds no SavedModel (saved_model.pb): it will NOT be servable with TensorFlow Serving"
    if any(path.parent.name.isdigit() for path in saved_models):
        return None
    found = saved_models[0].relative_to(model_dir)
    return (
        f"the SavedModel {found} is not in a numeric version directory (such as {model_dir}/1/): "
        "it will NOT be servable with TensorFlow Serving"
    )
