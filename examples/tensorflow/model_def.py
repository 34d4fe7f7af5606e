"""The Keras regression network shared by the TensorFlow example scripts.

`get_model(n_features)` builds an uncompiled functional model: a named `features` input, two
ReLU hidden layers and one linear output unit (one predicted value per row).
`compile_model(model, learning_rate)` attaches Adam and the mean-squared-error loss.

Adam rather than plain gradient descent: the targets are left in their original units
(about 25..350), and plain SGD with a learning rate large enough to reach them in a few dozen
epochs diverges on this network.
"""

from __future__ import annotations

import keras

INPUT_NAME = "features"


#: The features of make_data.py's data set: `get_model()` with no argument, as the public
#: Boston-housing notebook calls it to restore a checkpoint, builds the network for them.
N_FEATURES = 10


def get_model(n_features: int = N_FEATURES, hidden_units: tuple[int, ...] = (32, 16)) -> keras.Model:
    inputs = keras.Input(shape=(n_features,), name=INPUT_NAME)
    x = inputs
    for index, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{index}")(x)
    outputs = keras.layers.Dense(1, name="prediction")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="regressor")


def compile_model(model: keras.Model, learning_rate: float) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    return model
