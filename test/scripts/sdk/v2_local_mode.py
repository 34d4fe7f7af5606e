"""SageMaker SDK v2 local mode, as a notebook drives it: train on file:// channels, deploy, predict, delete.

Run by test/functional/docker/test_sdk_v2.py with the SDK's own venv (never the runtime's).
argv[1] is a JSON object: framework (chainer or tensorflow), image, source_dir, entry_point,
data (a dir with train/ and test/), output (a dir), port (the local endpoint's), root (the SDK's
scratch dir), hyperparameters. Prints one line `RESULT <json>` with what the test checks.
"""

import json
import sys

import numpy as np
from sagemaker.deserializers import JSONDeserializer, NumpyDeserializer
from sagemaker.local import LocalSession
from sagemaker.serializers import JSONSerializer, NumpySerializer

ROLE = "arn:aws:iam::111111111111:role/SageMakerRole"
BUCKET = "container-runtime-offline"


def estimator_for(settings, session):
    common = dict(
        entry_point=settings["entry_point"],
        source_dir=settings["source_dir"],
        role=ROLE,
        instance_count=1,
        instance_type="local",
        image_uri=settings["image"],
        hyperparameters=settings["hyperparameters"],
        output_path="file://" + settings["output"],
        sagemaker_session=session,
        py_version="py3",
    )
    if settings["framework"] == "chainer":
        from sagemaker.chainer import Chainer

        return Chainer(framework_version="5.0.0", **common)
    from sagemaker.tensorflow import TensorFlow

    return TensorFlow(framework_version="2.13", **common)


def main():
    settings = json.loads(sys.argv[1])
    # Naming the bucket keeps the SDK from asking AWS for its default one. `deploy` calls
    # `default_bucket()` even with local code, and that checks a named bucket exists (S3
    # ListBuckets) unless the session already holds it: set it as the session's resolved bucket.
    session = LocalSession(default_bucket=BUCKET)
    session._default_bucket = BUCKET
    session.config = {
        "local": {"local_code": True, "serving_port": settings["port"], "container_root": settings["root"]}
    }
    estimator = estimator_for(settings, session)
    data = settings["data"]
    estimator.fit({"train": f"file://{data}/train", "test": f"file://{data}/test"})
    result = {"model_data": estimator.model_data, "job_name": estimator.latest_training_job.name}
    if settings["framework"] == "chainer":
        predictor = estimator.deploy(initial_instance_count=1, instance_type="local",
                                     serializer=NumpySerializer(), deserializer=NumpyDeserializer())
        with np.load(f"{data}/test/test.npz") as test:
            images, labels = test["images"][:100], test["labels"][:100]
        scores = predictor.predict(images)
        result["shape"] = list(scores.shape)
        result["accuracy"] = float((scores.argmax(axis=1) == labels).mean())
    else:
        predictor = estimator.deploy(initial_instance_count=1, instance_type="local",
                                     serializer=JSONSerializer(), deserializer=JSONDeserializer())
        features = np.load(f"{data}/test/x_test.npy")[:50]
        targets = np.load(f"{data}/test/y_test.npy")[:50]
        answer = predictor.predict({"instances": features.tolist()})
        predictions = np.asarray(answer["predictions"], dtype=float).reshape(-1)
        result["count"] = int(predictions.size)
        result["mse"] = float(((predictions - targets.reshape(-1)) ** 2).mean())
        result["target_variance"] = float(targets.var())
    result["endpoint"] = predictor.endpoint_name
    predictor.delete_endpoint()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
