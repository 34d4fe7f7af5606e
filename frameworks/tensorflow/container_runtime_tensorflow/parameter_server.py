"""A CPU-only TensorFlow parameter server for this host, configured by TF_CONFIG (a `ps` task).

Started by the training adapter beside the user's script and stopped when the job ends on this
host. CPU only: TensorFlow processes sharing a GPU is unsafe.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    config = json.loads(os.environ["TF_CONFIG"])
    index = int(config["task"]["index"])
    server = tf.distribute.Server(
        tf.train.ClusterSpec(config["cluster"]),
        job_name="ps",
        task_index=index,
        config=tf.compat.v1.ConfigProto(device_count={"GPU": 0}),
        start=True,
    )
    print(f"parameter server ps:{index} serving at {config['cluster']['ps'][index]}", flush=True)
    server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
