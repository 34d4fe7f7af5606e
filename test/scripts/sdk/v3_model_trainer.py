"""SageMaker SDK v3's ModelTrainer in LOCAL_CONTAINER mode, training the Chainer MNIST example in our image.

Run by test/functional/docker/test_sdk_v3.py with the SDK's own venv. argv[1] is a JSON object:
image, code (a dir holding mnist.py), data (a dir with train/ and test/), root (the SDK's
`local_container_root`), with_source_code (true: the SDK's driver script runs in the image;
false: no command, the image's default runs, the code named by the toolkit's hyperparameters).
Prints one line `RESULT <json>` with what the test checks.
"""

import json
import sys

from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, SourceCode
from sagemaker.train.model_trainer import Mode


def main():
    settings = json.loads(sys.argv[1])
    hyperparameters = {"epochs": 2, "batch-size": 64}
    source_code = None
    if settings["with_source_code"]:
        source_code = SourceCode(source_dir=settings["code"], entry_script="mnist.py")
    else:
        # The SDK mounts a file:// submit directory at /opt/ml/code and passes no command.
        hyperparameters.update(sagemaker_program="mnist.py", sagemaker_submit_directory="file://" + settings["code"])
    trainer = ModelTrainer(
        training_image=settings["image"],
        source_code=source_code,
        compute=Compute(instance_type="local_cpu", instance_count=1),
        training_mode=Mode.LOCAL_CONTAINER,
        hyperparameters=hyperparameters,
        base_job_name="mnist",
        local_container_root=settings["root"],
        role="arn:aws:iam::111111111111:role/SageMakerRole",
    )
    data = settings["data"]
    trainer.train(input_data_config=[InputData(channel_name="train", data_source=f"{data}/train"),
                                     InputData(channel_name="test", data_source=f"{data}/test")])
    print("RESULT " + json.dumps({"root": settings["root"]}), flush=True)


if __name__ == "__main__":
    main()
