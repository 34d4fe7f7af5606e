"""train.py's regression with TensorFlow 2 parameter-server training (asynchronous data parallelism).

Same flags, inputs and outputs as train.py. For `sagemaker_parameter_server_enabled` jobs on more
than one host, the runtime starts a parameter server on every host and then runs this script on
every host with a `TF_CONFIG` such as (on the first host):

    {"cluster": {"master": ["algo-1:2222"], "ps": ["algo-1:2223", "algo-2:2223"],
                 "worker": ["algo-2:2222"]},
     "environment": "cloud", "task": {"type": "master", "index": 0}}

and `{"type": "worker", "index": i}` on the others. That layout comes from TensorFlow 1's
`master`; TensorFlow 2's `tf.distribute.ParameterServerStrategy` calls the same task `chief`, so
the script renames `master` to `chief` before building the cluster. The roles then are:

* chief (master): the coordinator. It builds the model under the strategy (the variables live on
  the parameter servers), schedules training steps on the workers with a `ClusterCoordinator`,
  computes the test loss itself after every epoch, and writes the SavedModel to
  `<sm-model-dir>/1/` and checkpoints to a local `--model_dir`.
* worker (and ps, if this script is started for one): runs a TensorFlow server that executes the
  steps the coordinator sends, and exits when the chief has gone away (as the SageMaker toolkit
  does, since a TensorFlow server never stops by itself).

The cluster needs at least one worker and one parameter server. Each epoch prints
`epoch <k>/<n> - loss: <v> - val_loss: <v>` (the mean training loss of the epoch's steps and the
test MSE), which the public tuning regexes ` loss: ([0-9\\.]+)` and ` val_loss: ([0-9\\.]+)` read,
then `Test MSE : <v>`. Updates are asynchronous, so results vary from run to run.

Without `TF_CONFIG`, or with a cluster that has no `ps` job, it trains locally without a strategy:
exactly train.py.
"""

from __future__ import annotations

import copy
import json
import math
import os
import socket
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from model_def import get_model  # noqa: E402
from train import export_servable, is_local, load_split, parse_args  # noqa: E402
from train import main as train_locally  # noqa: E402

#: How often a worker looks for the chief to appear: often, since with little to train the chief
#: may listen for only a few seconds.
ARRIVAL_POLL_SECONDS = 0.5
#: How often a worker checks that the chief is still there.
DEPARTURE_POLL_SECONDS = 2.0


def to_tf2_config(tf_config: dict) -> dict:
    """Rename TensorFlow 1's `master` job and task type (what SageMaker writes) to TensorFlow 2's `chief`."""
    config = copy.deepcopy(tf_config)
    cluster = config.get("cluster", {})
    if "master" in cluster:
        cluster["chief"] = cluster.pop("master")
    task = config.get("task", {})
    if task.get("type") == "master":
        task["type"] = "chief"
    return config


def split_address(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def reachable(address: str) -> bool:
    try:
        with socket.create_connection(split_address(address), timeout=DEPARTURE_POLL_SECONDS):
            return True
    except OSError:
        return False


def serve_until_chief_exits(cluster: tf.train.ClusterSpec, task_type: str, task_index: int) -> None:
    """Run this task's TensorFlow server for the coordinator; return once the chief has come and gone."""
    tf.distribute.Server(cluster, job_name=task_type, task_index=task_index, protocol="grpc", start=True)
    chief = cluster.job_tasks("chief")[0]
    print(f"{task_type} {task_index}: serving; waiting for the chief at {chief}", flush=True)
    while not reachable(chief):
        time.sleep(ARRIVAL_POLL_SECONDS)
    while reachable(chief):
        time.sleep(DEPARTURE_POLL_SECONDS)
    print(f"{task_type} {task_index}: the chief has finished", flush=True)


def coordinate(args: object, resolver: tf.distribute.cluster_resolver.ClusterResolver) -> None:
    """The chief: train on the workers, evaluate here, save."""
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    keras.utils.set_random_seed(0)

    x_train, y_train = load_split(args.train, "train")
    x_test, y_test = load_split(args.test, "test")
    n_workers = len(resolver.cluster_spec().job_tasks("worker"))
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    print(
        f"{n_workers} worker(s), {len(resolver.cluster_spec().job_tasks('ps'))} parameter server(s); "
        f"batch_size = {args.batch_size} per step, epochs = {args.epochs}, learning rate = {args.learning_rate}"
    )

    with strategy.scope():
        model = get_model(x_train.shape[1])
        optimizer = keras.optimizers.Adam(learning_rate=args.learning_rate)
        optimizer.build(model.trainable_variables)

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        # Each worker shuffles the whole (small) training set with its own seed.
        batch = context.get_per_replica_batch_size(args.batch_size)
        data = tf.data.Dataset.from_tensor_slices((x_train, y_train))
        return data.shuffle(len(x_train), seed=context.input_pipeline_id).repeat().batch(batch)

    @tf.function
    def per_worker_dataset_fn() -> tf.distribute.DistributedDataset:
        return strategy.distribute_datasets_from_function(dataset_fn)

    iterator = iter(coordinator.create_per_worker_dataset(per_worker_dataset_fn))

    @tf.function
    def train_step(iterator: tf.distribute.DistributedIterator) -> tf.Tensor:
        def step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.squeeze(model(x, training=True), axis=-1) - y))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss

        return strategy.run(step, args=next(iterator))

    def test_mse() -> float:
        predictions = np.asarray(model(x_test, training=False)).reshape(-1)
        return float(np.mean((predictions - y_test) ** 2))

    manager = None
    # By default each parameter server writes its own variables' shard on its own host, where a
    # path local to the chief need not exist: do all checkpoint file IO here, on the chief.
    chief_cpu = f"/job:chief/replica:0/task:{resolver.task_id}/device:CPU:0"
    local_io = tf.train.CheckpointOptions(experimental_io_device=chief_cpu)
    if args.model_dir and is_local(args.model_dir):
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
        manager = tf.train.CheckpointManager(checkpoint, args.model_dir, max_to_keep=2, checkpoint_name="model.ckpt")
    elif args.model_dir:
        print(f"not writing checkpoints to {args.model_dir}: only local paths are supported")

    for epoch in range(1, args.epochs + 1):
        losses = [coordinator.schedule(train_step, args=(iterator,)) for _ in range(steps_per_epoch)]
        coordinator.join()
        loss = float(np.mean([result.fetch() for result in losses]))
        print(f"epoch {epoch}/{args.epochs} - loss: {loss:.4f} - val_loss: {test_mse():.4f}", flush=True)
        if manager is not None:
            manager.save(checkpoint_number=epoch, options=local_io)

    print(f"Test MSE : {test_mse()}")
    # Export a copy that lives on this host: the trained variables are on the parameter servers.
    servable = get_model(x_train.shape[1])
    servable.set_weights(model.get_weights())
    export_servable(servable, args.sm_model_dir)


def main(argv: list[str] | None = None) -> None:
    raw = os.environ.get("TF_CONFIG")
    config = to_tf2_config(json.loads(raw)) if raw else {}
    cluster = config.get("cluster", {})
    if not cluster.get("ps"):
        print("no parameter servers in TF_CONFIG: training locally without a strategy")
        train_locally(argv)
        return

    task_type = config.get("task", {}).get("type", "chief")
    task_index = int(config.get("task", {}).get("index", 0))
    cluster_spec = tf.train.ClusterSpec(cluster)
    if task_type != "chief":
        serve_until_chief_exits(cluster_spec, task_type, task_index)
        sys.stdout.flush()
        # A TensorFlow server has no clean shutdown; leave without waiting for its threads.
        os._exit(0)

    args = parse_args(argv)
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        cluster_spec, task_type="chief", task_id=task_index, rpc_layer="grpc"
    )
    coordinate(args, resolver)


if __name__ == "__main__":
    main()
