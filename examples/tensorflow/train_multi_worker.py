"""train.py's regression under tf.distribute.MultiWorkerMirroredStrategy (synchronous data parallelism).

Same flags, inputs and outputs as train.py. The cluster comes from the `TF_CONFIG` environment
variable, which the runtime sets for `sagemaker_multi_worker_mirrored_strategy_enabled` jobs:

    {"cluster": {"worker": ["algo-1:8890", "algo-2:8890"]}, "environment": "cloud",
     "task": {"index": 0, "type": "worker"}}

Every host runs this script; the workers exchange gradients with collective all-reduce. Without
`TF_CONFIG`, or with a one-worker cluster, it trains on this host's devices alone.

* `--batch_size` is per worker: each step consumes `batch_size * replicas` rows, split across the
  workers (`AutoShardPolicy.DATA`, since in-memory arrays have no files to shard by).
* Only the chief writes where it is read: worker 0 (or the `chief`/`master` task, where the
  cluster has one) saves the SavedModel to `<sm-model-dir>/1/` and checkpoints to `--model_dir`.
  Saving involves every worker (the variables are synchronised collectively), so the other workers
  save to a temporary directory that they then delete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from model_def import compile_model, get_model  # noqa: E402
from train import export_servable, is_local, load_split, parse_args  # noqa: E402


def is_chief(task_type: str | None, task_id: int | None, cluster: dict[str, list[str]]) -> bool:
    """The chief by TF's convention: the chief (SageMaker: master) task, else worker 0, else a lone process."""
    if task_type is None:
        return True
    if task_type in ("chief", "master"):
        return True
    return task_type == "worker" and (task_id or 0) == 0 and not ({"chief", "master"} & cluster.keys())


def distribute(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def main(argv: list[str] | None = None) -> None:
    # The strategy must exist before any other TensorFlow op runs.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    args = parse_args(argv)
    keras.utils.set_random_seed(0)

    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster = tf_config.get("cluster", {})
    resolver = strategy.cluster_resolver
    task_type, task_id = (resolver.task_type, resolver.task_id) if resolver is not None else (None, None)
    chief = is_chief(task_type, task_id, cluster)
    workers = len(cluster.get("worker", [])) or 1
    print(f"task {task_type}:{task_id} of {workers} worker(s), chief: {chief}, "
          f"replicas in sync: {strategy.num_replicas_in_sync}")

    x_train, y_train = load_split(args.train, "train")
    x_test, y_test = load_split(args.test, "test")
    global_batch = args.batch_size * strategy.num_replicas_in_sync
    print(f"batch_size = {args.batch_size} per replica ({global_batch} global), epochs = {args.epochs}, "
          f"learning rate = {args.learning_rate}")

    train_data = distribute(
        tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(x_train), seed=0).batch(global_batch)
    )
    test_data = distribute(tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(global_batch))

    with strategy.scope():
        model = compile_model(get_model(x_train.shape[1]), args.learning_rate)

    scratch = tempfile.mkdtemp(prefix="worker-save-") if not chief else None
    callbacks: list[keras.callbacks.Callback] = []
    if args.model_dir and is_local(args.model_dir):
        checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        directory = args.model_dir if chief else os.path.join(scratch or "", "checkpoints")
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2, checkpoint_name="model.ckpt")
        callbacks.append(keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: manager.save(checkpoint_number=epoch + 1)))
    elif args.model_dir:
        print(f"not writing checkpoints to {args.model_dir}: only local paths are supported")

    model.fit(train_data, epochs=args.epochs, validation_data=test_data, callbacks=callbacks,
              shuffle=False, verbose=2)  # shuffled by the dataset
    mse = model.evaluate(test_data, verbose=0)
    print(f"Test MSE : {mse}")

    export_servable(model, args.sm_model_dir if chief else scratch or "")
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
