"""Framework adapters (Chainer, TensorFlow).

Each adapter is a function `run(job: container_runtime.training.TrainingJob) -> None` named by
`SAGEMAKER_TRAINING_MODULE=frameworks.<name>.training:run` in a framework image; it reuses the
job's building blocks (code, arguments, environment, supervised processes).
"""
