"""Stack (c): a ten-line framework serving module on sagemaker-containers 2.8.6.post2.

In the style of the Chainer container's `serving.py`: the user module (SAGEMAKER_PROGRAM, already
pip-installed by `serve` in the master process) supplies model_fn/predict_fn; NPY decode/encode are
the package's default input_fn/output_fn. Run with SAGEMAKER_SERVING_MODULE=legacy_app:app.
"""

import importlib

from sagemaker_containers.beta.framework import env, transformer, worker

serving_env = env.ServingEnv()
user_module = importlib.import_module(serving_env.module_name)
user_transformer = transformer.Transformer(model_fn=user_module.model_fn, predict_fn=user_module.predict_fn)
app = worker.Worker(
    transform_fn=user_transformer.transform,
    initialize_fn=user_transformer.initialize,
    module_name="legacy_app",
)
