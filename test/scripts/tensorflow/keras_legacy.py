"""A legacy script with keras_model_fn instead of model_fn (TF1 framework mode's Keras path)."""

import os

import tensorflow as tf


def keras_model_fn(hyperparameters):
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(64, activation="relu", input_shape=(784,)), tf.keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(
        optimizer=tf.keras.optimizers.Adam(hyperparameters.get("learning_rate", 0.003)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _parse(record):
    spec = {"image_raw": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}
    features = tf.io.parse_single_example(record, spec)
    image = tf.cast(tf.io.decode_raw(features["image_raw"], tf.uint8), tf.float32) / 255.0
    image.set_shape([784])
    return {"inputs": image}, features["label"]


def train_input_fn(training_dir, hyperparameters):
    path = os.path.join(training_dir, "train.tfrecords")
    return tf.data.TFRecordDataset(path).map(_parse).shuffle(2000, seed=0).repeat().batch(50)


def eval_input_fn(training_dir, hyperparameters):
    return tf.data.TFRecordDataset(os.path.join(training_dir, "test.tfrecords")).map(_parse).batch(50)
