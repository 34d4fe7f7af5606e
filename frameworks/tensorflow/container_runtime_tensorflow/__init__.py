"""TensorFlow: training through `SAGEMAKER_TRAINING_MODULE=container_runtime_tensorflow.training:run`,
serving defaults through `SAGEMAKER_SERVING_FRAMEWORK=tensorflow`.

Nothing here imports TensorFlow at import time.
"""
