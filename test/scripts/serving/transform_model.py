"""A user module with transform_fn alone; it returns (body, content_type)."""


def model_fn(model_dir):
    return "upper"


def transform_fn(model, input_data, content_type, accept):
    text = input_data if isinstance(input_data, str) else input_data.decode()
    return text.upper().encode(), "text/x-shout"
