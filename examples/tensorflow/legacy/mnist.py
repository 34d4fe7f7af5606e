"""A TensorFlow 1 "framework mode" script: a small MNIST CNN defined by model_fn and input functions.

Written against the TF1 API names (tf.estimator.EstimatorSpec and ModeKeys, tf.compat.v1 layers,
tf.train.get_or_create_global_step); the runtime trains it to `training_steps` on TensorFlow 2.
Reads train.tfrecords / test.tfrecords from the `training` channel; `learning_rate` is a
hyperparameter. The serving signature takes `inputs`: float32 [None, 784] pixels in [0, 1].
"""

import os

import tensorflow as tf

tf1 = tf.compat.v1


def model_fn(features, labels, mode, params):
    images = tf.reshape(features["inputs"], [-1, 28, 28, 1])
    net = tf1.layers.conv2d(images, 16, 5, padding="same", activation=tf.nn.relu)
    net = tf1.layers.max_pooling2d(net, 2, 2)
    net = tf1.layers.conv2d(net, 32, 5, padding="same", activation=tf.nn.relu)
    net = tf1.layers.max_pooling2d(net, 2, 2)
    net = tf1.layers.dense(tf.reshape(net, [-1, 7 * 7 * 32]), 128, activation=tf.nn.relu)
    net = tf1.layers.dropout(net, rate=0.4, training=mode == tf.estimator.ModeKeys.TRAIN)
    logits = tf1.layers.dense(net, 10)
    predictions = {"classes": tf.argmax(logits, axis=1), "probabilities": tf.nn.softmax(logits)}
    if mode == tf.estimator.ModeKeys.PREDICT:
        outputs = {"predictions": tf.estimator.export.PredictOutput(predictions)}
        return tf.estimator.EstimatorSpec(mode, predictions=predictions, export_outputs=outputs)
    loss = tf1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == tf.estimator.ModeKeys.TRAIN:
        optimizer = tf1.train.AdamOptimizer(learning_rate=params.get("learning_rate", 0.001))
        train_op = optimizer.minimize(loss, global_step=tf1.train.get_or_create_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
    accuracy = tf1.metrics.accuracy(labels=labels, predictions=predictions["classes"])
    return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"accuracy": accuracy})


def serving_input_fn(params):
    inputs = tf1.placeholder(tf.float32, [None, 784], name="inputs")
    return tf.estimator.export.ServingInputReceiver({"inputs": inputs}, {"inputs": inputs})


def _parse(record):
    features = tf1.parse_single_example(
        record,
        {"image_raw": tf1.FixedLenFeature([], tf.string), "label": tf1.FixedLenFeature([], tf.int64)},
    )
    image = tf.cast(tf1.decode_raw(features["image_raw"], tf.uint8), tf.float32) / 255.0
    image.set_shape([784])
    return {"inputs": image}, tf.cast(features["label"], tf.int32)


def _dataset(path, batch_size, training):
    dataset = tf.data.TFRecordDataset(path).map(_parse)
    if training:
        dataset = dataset.shuffle(2000, seed=0).repeat()
    return dataset.batch(batch_size)


def train_input_fn(training_dir, params):
    return _dataset(os.path.join(training_dir, "train.tfrecords"), int(params.get("batch_size", 100)), True)


def eval_input_fn(training_dir, params):
    return _dataset(os.path.join(training_dir, "test.tfrecords"), 100, False)
