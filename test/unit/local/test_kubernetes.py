"""`container-runtime k8s render`: the manifests of a training job, validated against the Kubernetes API schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from container_runtime.local import cli
from container_runtime.local.errors import LocalModeError
from container_runtime.local.kubernetes import KubernetesJob, Volume, render_job, to_yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

#: Two recent releases whose schemas ship with kubernetes-validate.
VERSIONS = ("1.33.0", "1.37.0")


def job(**changes: Any) -> KubernetesJob:
    values: dict[str, Any] = dict(
        name="mnist", image="container-runtime/chainer:cpu", instance_count=2, entry_point="train.py",
        code=Volume.parse("pvc:code/mnist", "--code"), output=Volume.parse("pvc:results", "--output-volume"),
        hyperparameters={"epochs": 3, "optimizer": "adam"},
        channels={"train": Volume.parse("hostpath:/data/mnist/train", "c"), "test": Volume.parse("pvc:data/test", "c")},
        cpu="2", memory="4Gi", gpus=1, stop_grace_seconds=90,
    )
    values.update(changes)
    return KubernetesJob(**values)


def validate(document: dict[str, Any]) -> None:
    for version in VERSIONS:
        kubernetes_validate.validate(document, version, True)


@pytest.mark.parametrize("jobset", [False, True])
def test_every_rendered_document_validates_against_the_api_schemas(jobset: bool) -> None:
    documents = render_job(job(jobset=jobset))
    assert [document["kind"] for document in documents] == ["ConfigMap", "Service", "JobSet" if jobset else "Job"]
    for document in documents:
        if document["kind"] == "JobSet":  # a CRD: its replicated job's template is a batch/v1 JobSpec
            template = document["spec"]["replicatedJobs"][0]["template"]
            validate({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}, **template})
        else:
            validate(document)
    assert yaml.safe_load_all(to_yaml(documents)) is not None
    assert [d["kind"] for d in yaml.safe_load_all(to_yaml(documents))] == [d["kind"] for d in documents]


def test_the_indexed_job_names_its_pods_through_the_headless_service_and_fails_fast_on_user_errors() -> None:
    config_map, service, indexed = render_job(job())
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    spec = indexed["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 2, 2)
    pod = spec["template"]["spec"]
    assert pod["subdomain"] == service["metadata"]["name"] == "mnist"
    assert pod["restartPolicy"] == "Never"
    assert pod["terminationGracePeriodSeconds"] == 120  # the runtime's 90 s grace, plus time to pack and exit
    rules = spec["podFailurePolicy"]["rules"]
    assert rules[0] == {"action": "FailJob",
                        "onExitCodes": {"containerName": "train", "operator": "In", "values": [1]}}
    assert rules[1]["action"] == "Ignore" and rules[1]["onPodConditions"][0]["type"] == "DisruptionTarget"
    container = pod["containers"][0]
    assert container["args"] == ["train"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["SM_HOSTS_PATTERN"] == "mnist-{index}.mnist" and env["SM_HOST_COUNT"] == "2"
    assert env["SM_STOP_GRACE_SECONDS"] == "90"
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert mounts["/opt/ml/output"]["subPathExpr"] == "$(TRAINING_JOB_NAME)/$(JOB_COMPLETION_INDEX)"
    assert mounts["/opt/ml/code"]["subPath"] == "mnist"
    assert set(mounts) >= {"/opt/ml/input/config", "/opt/ml/input/data/train", "/opt/ml/input/data/test"}
    hyperparameters = json.loads(config_map["data"]["hyperparameters.json"])
    assert hyperparameters == {"epochs": "3", "optimizer": '"adam"', "sagemaker_program": '"train.py"',
                               "sagemaker_job_name": '"mnist"'}
    assert json.loads(config_map["data"]["inputdataconfig.json"]) == {
        "test": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"},
        "train": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"},
    }


def test_a_jobsets_pods_are_named_the_jobset_way() -> None:
    jobset = render_job(job(jobset=True))[2]
    assert jobset["spec"]["network"] == {"enableDNSHostnames": True, "subdomain": "mnist",
                                         "publishNotReadyAddresses": True}
    container = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["SM_HOSTS_PATTERN"] == "mnist-workers-0-{index}.mnist"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image": ""}, "needs --image"),
        ({"name": "Bad_Name"}, "job name 'Bad_Name'"),
        ({"instance_count": 0}, "instance count 0"),
        ({"memory": "lots"}, "memory 'lots': not a Kubernetes quantity"),
        ({"gpus": -1}, "gpus -1"),
        ({"channels": {"bad/name": Volume("pvc", "data")}}, "channel 'bad/name'"),
    ],
)
def test_bad_input_is_one_line_naming_it(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(LocalModeError, match=message):
        render_job(job(**changes))


@pytest.mark.parametrize(
    ("text", "message"),
    [("nfs:server", "expected pvc:CLAIM"), ("pvc:Not_A_Claim", "not a PersistentVolumeClaim name"),
     ("hostpath:relative", "absolute path")],
)
def test_volumes_are_pvcs_or_host_paths(text: str, message: str) -> None:
    with pytest.raises(LocalModeError, match=message):
        Volume.parse(text, "--code")


def test_the_command_line_writes_the_manifests_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mnist.yaml"
    arguments = ["--home", str(tmp_path / "home"), "k8s", "render", "train.py", "--image", "container-runtime/chainer:cpu",
                 "--job-name", "mnist", "--code", "pvc:code", "--output-volume", "pvc:results", "--instance-count", "4",
                 "-c", "train=pvc:data/train", "-H", "epochs=3", "--gpus", "1", "-o", str(target)]
    assert cli.main(arguments) == 0
    documents = list(yaml.safe_load_all(target.read_text()))
    assert [document["kind"] for document in documents] == ["ConfigMap", "Service", "Job"]
    assert documents[2]["spec"]["completions"] == 4
    capsys.readouterr()
    assert cli.main(arguments) == 2
    assert capsys.readouterr().err.strip() == f"error: {target} already exists: choose another file, or remove it"
    no_image = [argument for argument in arguments if argument not in ("--image", "container-runtime/chainer:cpu")]
    assert cli.main([*no_image[:-1], str(tmp_path / "other.yaml")]) == 2
    assert "needs --image" in capsys.readouterr().err
    assert not (tmp_path / "other.yaml").exists()
