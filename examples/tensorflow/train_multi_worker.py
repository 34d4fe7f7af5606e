"""train.py's regression under tf.distribute.MultiWorkerMirroredStrategy (synchronous data parallelism).

Same flags, inputs and outputs as train.py. The cluster comes from the `TF_CONFIG` environment
variable, which the runtime sets for `sagemaker_multi_worker_mirrored_strategy_enabled` jobs:

    {"cluster": {"worker": ["algo-1:8890", "algo-2:8890"]}, "environment": "cloud",
     "task": {"index": 0, "type": "worker"}}

Every host runs this script; the workers average their gradients with collective all-reduce
after each step. Without `TF_CONFIG`, or with a one-worker cluster, it trains on this host alone.

* A custom training loop rather than `model.fit`: Keras 3's `fit` fails as soon as a cluster has
  two workers (it reduces the first input batch and the per-replica loss in ways the collective
  strategy rejects; keras-team/keras#20585). The loop is the usual `strategy.run` step in a
  `tf.function`; the Keras model supplies the layers and the Keras optimizer all-reduces gradients.
* Each epoch prints `epoch <k>/<n> - loss: <v> - val_loss: <v>` (the training MSE over the
  epoch's rows and the test MSE, summed across workers), which the public tuning regexes
  ` loss: ([0-9\\.]+)` and ` val_loss: ([0-9\\.]+)` read, and finally `Test MSE : <v>`.
* `--batch_size` is per replica: each step consumes `batch_size * replicas` rows, split across
  the workers (`AutoShardPolicy.DATA`: in-memory arrays have no files to shard by).
* Only the chief writes where it is read: worker 0 (or the `chief`/`master` task, where the
  cluster has one) saves the SavedModel to `<sm-model-dir>/1/` and checkpoints to `--model_dir`.
  The other workers take part in saving too (the strategy expects every worker to), but into a
  temporary directory that they delete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from model_def import get_model  # noqa: E402
from train import export_servable, is_local, load_split, parse_args  # noqa: E402


def read_tf_config() -> dict:
    return json.loads(os.environ.get("TF_CONFIG") or "{}")


def is_chief(task_type: str | None, task_id: int | None, cluster: dict[str, list[str]]) -> bool:
    """TF's convention: the chief (SageMaker: master) task, else worker 0, else a process without a cluster."""
    if task_type is None or task_type in ("chief", "master"):
        return True
    return task_type == "worker" and (task_id or 0) == 0 and not ({"chief", "master"} & cluster.keys())


def check_own_address(tf_config: dict) -> None:
    """Fail fast where the strategy would hang: it waits forever if this task's host name does not resolve."""
    task = tf_config.get("task", {})
    addresses = tf_config.get("cluster", {}).get(task.get("type", ""), [])
    if not addresses:
        return
    host = addresses[int(task.get("index", 0))].rsplit(":", 1)[0]
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror as error:
        sys.exit(f"TF_CONFIG names this task's host {host!r}, which does not resolve ({error})")


def sharded(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def main(argv: list[str] | None = None) -> None:
    tf_config = read_tf_config()
    check_own_address(tf_config)
    # The strategy must exist before any other TensorFlow op runs.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    args = parse_args(argv)
    keras.utils.set_random_seed(0)

    cluster = tf_config.get("cluster", {})
    resolver = strategy.cluster_resolver
    task_type, task_id = (resolver.task_type, resolver.task_id) if resolver is not None else (None, None)
    chief = is_chief(task_type, task_id, cluster)
    print(
        f"task {task_type}:{task_id} of {len(cluster.get('worker', [])) or 1} worker(s), chief: {chief}, "
        f"replicas in sync: {strategy.num_replicas_in_sync}"
    )

    x_train, y_train = load_split(args.train, "train")
    x_test, y_test = load_split(args.test, "test")
    global_batch = args.batch_size * strategy.num_replicas_in_sync
    steps_per_epoch = math.ceil(len(x_train) / global_batch)
    print(
        f"batch_size = {args.batch_size} per replica ({global_batch} global), epochs = {args.epochs}, "
        f"learning rate = {args.learning_rate}"
    )

    # Repeated, so that every step (the last of an epoch included) has a full batch on every worker.
    train_data = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(x_train), seed=0)
    train_data = sharded(train_data.repeat().batch(global_batch))
    test_data = sharded(tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(global_batch))
    train_iterator = iter(strategy.experimental_distribute_dataset(train_data))
    test_batches = strategy.experimental_distribute_dataset(test_data)

    with strategy.scope():
        model = get_model(x_train.shape[1])
        optimizer = keras.optimizers.Adam(learning_rate=args.learning_rate)
        optimizer.build(model.trainable_variables)

    def squared_errors(x: tf.Tensor, y: tf.Tensor, training: bool) -> tf.Tensor:
        return tf.square(tf.squeeze(model(x, training=training), axis=-1) - y)

    @tf.function
    def train_step(iterator: tf.distribute.DistributedIterator) -> tuple[tf.Tensor, tf.Tensor]:
        def step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            with tf.GradientTape() as tape:
                errors = squared_errors(x, y, training=True)
                # Divided by the global batch: the optimizer sums the replicas' gradients.
                loss = tf.reduce_sum(errors) / global_batch
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return tf.reduce_sum(errors), tf.cast(tf.size(errors), tf.float32)

        total, count = strategy.run(step, args=next(iterator))
        return (
            strategy.reduce(tf.distribute.ReduceOp.SUM, total, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None),
        )

    @tf.function
    def test_step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        def step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            errors = squared_errors(x, y, training=False)
            return tf.reduce_sum(errors), tf.cast(tf.size(errors), tf.float32)

        total, count = strategy.run(step, args=(x, y))
        return (
            strategy.reduce(tf.distribute.ReduceOp.SUM, total, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None),
        )

    def test_mse() -> float:
        total = count = 0.0
        for x, y in test_batches:
            batch_total, batch_count = test_step(x, y)
            total, count = total + float(batch_total), count + float(batch_count)
        return total / max(count, 1.0)

    scratch = None if chief else tempfile.mkdtemp(prefix="worker-save-")
    manager = None
    if args.model_dir and is_local(args.model_dir):
        directory = args.model_dir if chief else os.path.join(scratch or "", "checkpoints")
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2, checkpoint_name="model.ckpt")
    elif args.model_dir:
        print(f"not writing checkpoints to {args.model_dir}: only local paths are supported")

    for epoch in range(1, args.epochs + 1):
        total = count = 0.0
        for _ in range(steps_per_epoch):
            step_total, step_count = train_step(train_iterator)
            total, count = total + float(step_total), count + float(step_count)
        print(f"epoch {epoch}/{args.epochs} - loss: {total / count:.4f} - val_loss: {test_mse():.4f}", flush=True)
        if manager is not None:
            manager.save(checkpoint_number=epoch)

    print(f"Test MSE : {test_mse()}")
    export_servable(model, args.sm_model_dir if chief else scratch or "")
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
