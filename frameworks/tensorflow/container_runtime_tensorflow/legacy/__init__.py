"""Legacy TensorFlow 1 "framework mode" jobs (a script with `model_fn` and input functions),
run on TensorFlow 2 in graph mode through `tf.compat.v1`, with a global step."""
