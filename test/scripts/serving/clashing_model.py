"""transform_fn together with input_fn: ambiguous, refused at start-up."""


def model_fn(model_dir):
    return None


def input_fn(input_data, content_type):
    return input_data


def transform_fn(model, input_data, content_type, accept):
    return b""
