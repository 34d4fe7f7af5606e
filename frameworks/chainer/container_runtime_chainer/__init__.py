"""Chainer: training through `SAGEMAKER_TRAINING_MODULE=container_runtime_chainer.training:run`, and
serving defaults through `SAGEMAKER_SERVING_FRAMEWORK=chainer`.

Nothing here imports chainer at import time; serving imports it when a request is predicted.
"""
