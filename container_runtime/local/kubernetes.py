"""Kubernetes manifests for a training job: the job runs on the cluster's own mechanisms, no scheduler of ours.

`render_job` turns a job (image, host count, hyperparameters, channels and code on volumes,
resources) into the documents `kubectl apply -f` takes:

- a ConfigMap holding `hyperparameters.json` and `inputdataconfig.json`, mounted at
  `/opt/ml/input/config` (no `resourceconfig.json`: each pod's `train` derives the hosts from its
  completion index and the host pattern, `container_runtime.config.engines`);
- a headless Service, so every pod has a stable name `<job>-<index>.<service>` from the start;
- an Indexed Job (`completionMode: Indexed`), or a JobSet on request, whose pods run the image's
  `train`. `podFailurePolicy` fails the whole job at once on the runtime's user-error exit code and
  lets disruptions (a drained node) retry; the termination grace follows `SM_STOP_GRACE_SECONDS`
  so the script's SIGTERM handler can checkpoint; each pod's `/opt/ml/output` (artifacts, the
  failure file) lands on the output volume under `<job>/<index>`.

Volumes are `pvc:CLAIM[/SUBPATH]` or `hostpath:/PATH`. Nothing here talks to a cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from container_runtime.local.config_files import encoded_hyperparameters
from container_runtime.local.errors import LocalModeError

#: The runtime's exit code for a user or configuration error (README: Exit codes): not worth a retry.
USER_ERROR_EXIT_CODE = 1
#: Seconds Kubernetes waits after SIGTERM beyond the runtime's own grace (packing artifacts, exiting).
GRACE_MARGIN_SECONDS = 30
DEFAULT_STOP_GRACE_SECONDS = 120
CONTAINER = "train"
INDEX_ANNOTATION = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
CODE_DIR = "/opt/ml/code"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")


@dataclass(frozen=True)
class Volume:
    """Where a channel, the code or the output lives on the cluster."""

    kind: str  # "pvc" or "hostpath"
    location: str  # the claim name, or the host path
    sub_path: str = ""

    @classmethod
    def parse(cls, text: str, what: str) -> Volume:
        kind, _, rest = text.partition(":")
        if kind == "pvc":
            claim, _, sub_path = rest.partition("/")
            if not _NAME.match(claim):
                raise LocalModeError(f"{what} {text!r}: {claim!r} is not a PersistentVolumeClaim name")
            return cls("pvc", claim, sub_path.strip("/"))
        if kind == "hostpath":
            if not rest.startswith("/"):
                raise LocalModeError(f"{what} {text!r}: a hostpath volume needs an absolute path")
            return cls("hostpath", rest)
        raise LocalModeError(f"{what} {text!r}: expected pvc:CLAIM[/SUBPATH] or hostpath:/PATH")

    def source(self) -> dict[str, Any]:
        if self.kind == "pvc":
            return {"persistentVolumeClaim": {"claimName": self.location}}
        return {"hostPath": {"path": self.location, "type": "Directory"}}


@dataclass(frozen=True)
class KubernetesJob:
    name: str
    image: str
    instance_count: int
    entry_point: str
    code: Volume
    output: Volume
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    channels: Mapping[str, Volume] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    cpu: str | None = None
    memory: str | None = None
    gpus: int = 0
    namespace: str | None = None
    stop_grace_seconds: int = DEFAULT_STOP_GRACE_SECONDS
    jobset: bool = False

    @property
    def service(self) -> str:
        return self.name

    @property
    def hosts_pattern(self) -> str:
        """Every pod's name through the Service: what each `train` is told the hosts are called."""
        if self.jobset:  # JobSet names pods <jobset>-<replicated job>-<job index>-<pod index>
            return f"{self.name}-workers-0-{{index}}.{self.service}"
        return f"{self.name}-{{index}}.{self.service}"


def check_job(job: KubernetesJob) -> None:
    """Every bad value is one line naming it, before anything is written."""
    if not _NAME.match(job.name):
        raise LocalModeError(f"job name {job.name!r}: lower-case letters, digits and '-', at most 42 characters")
    if not job.image:
        raise LocalModeError("a Kubernetes job needs --image: the cluster runs an image, not this machine's runtime")
    if job.instance_count < 1:
        raise LocalModeError(f"instance count {job.instance_count}: must be at least 1")
    for what, value in (("cpu", job.cpu), ("memory", job.memory)):
        if value is not None and not _QUANTITY.match(value):
            raise LocalModeError(f"{what} {value!r}: not a Kubernetes quantity such as 4, 500m or 16Gi")
    if job.gpus < 0:
        raise LocalModeError(f"gpus {job.gpus}: must be 0 or more")
    if job.stop_grace_seconds < 1:
        raise LocalModeError(f"stop grace {job.stop_grace_seconds}: must be at least 1 second")
    for channel in job.channels:
        if not re.match(r"^[A-Za-z0-9\.\-_]+$", channel):
            raise LocalModeError(f"channel {channel!r}: letters, digits, '.', '-' and '_' only")


def render_job(job: KubernetesJob) -> list[dict[str, Any]]:
    """The ConfigMap, the headless Service and the Indexed Job (or JobSet), in the order to apply them."""
    check_job(job)
    return [_config_map(job), _service(job), _jobset(job) if job.jobset else _indexed_job(job)]


def _metadata(job: KubernetesJob, name: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": "container-runtime",
                                                        "container-runtime/job": job.name}}
    if job.namespace:
        metadata["namespace"] = job.namespace
    return metadata


def _config_map(job: KubernetesJob) -> dict[str, Any]:
    hyperparameters = {
        **encoded_hyperparameters(job.hyperparameters),
        # No sagemaker_submit_directory: the code volume is mounted at the code dir itself.
        **encoded_hyperparameters({"sagemaker_program": job.entry_point, "sagemaker_job_name": job.name}),
    }
    channels = {name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"} for name in job.channels}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(job, f"{job.name}-config"),
        "data": {
            "hyperparameters.json": json.dumps(hyperparameters, indent=2, sort_keys=True) + "\n",
            "inputdataconfig.json": json.dumps(channels, indent=2, sort_keys=True) + "\n",
        },
    }


def _service(job: KubernetesJob) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(job, job.service),
        "spec": {
            "clusterIP": "None",
            # Names resolve before the pods are ready: the hosts find each other while starting.
            "publishNotReadyAddresses": True,
            "selector": {"container-runtime/job": job.name},
        },
    }


def pod_environment(job: KubernetesJob) -> dict[str, str]:
    """What every pod's `train` gets besides Kubernetes' own `JOB_COMPLETION_INDEX`."""
    return {
        **job.environment,
        "SM_HOSTS_PATTERN": job.hosts_pattern,
        "SM_HOST_COUNT": str(job.instance_count),
        "SM_STOP_GRACE_SECONDS": str(job.stop_grace_seconds),
        "TRAINING_JOB_NAME": job.name,
    }


def _pod_template(job: KubernetesJob) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": "/opt/ml/input/config", "readOnly": True},
        {"name": "code", "mountPath": CODE_DIR, **({"subPath": job.code.sub_path} if job.code.sub_path else {})},
        # One directory per pod on the output volume: artifacts and the failure file of each host.
        {"name": "output", "mountPath": "/opt/ml/output",
         "subPathExpr": "/".join(part for part in (job.output.sub_path, "$(TRAINING_JOB_NAME)/$(JOB_COMPLETION_INDEX)")
                                 if part)},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": f"{job.name}-config"}},
        {"name": "code", **job.code.source()},
        {"name": "output", **job.output.source()},
    ]
    for index, (channel, volume) in enumerate(sorted(job.channels.items())):
        mounts.append({"name": f"channel-{index}", "mountPath": f"/opt/ml/input/data/{channel}", "readOnly": True,
                       **({"subPath": volume.sub_path} if volume.sub_path else {})})
        volumes.append({"name": f"channel-{index}", **volume.source()})
    resources: dict[str, dict[str, str]] = {}
    for key, value in (("cpu", job.cpu), ("memory", job.memory)):
        if value is not None:
            resources.setdefault("requests", {})[key] = value
            resources.setdefault("limits", {})[key] = value
    if job.gpus:
        resources.setdefault("limits", {})["nvidia.com/gpu"] = str(job.gpus)
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": job.image,
        "args": ["train"],
        "env": [
            # Kubernetes' own index of the pod, stated explicitly for subPathExpr and for the runtime.
            {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {"fieldPath": INDEX_ANNOTATION}}},
            *({"name": name, "value": value} for name, value in sorted(pod_environment(job).items())),
        ],
        "volumeMounts": mounts,
    }
    if resources:
        container["resources"] = resources
    return {
        "metadata": {"labels": {"container-runtime/job": job.name}},
        "spec": {
            "subdomain": job.service,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": job.stop_grace_seconds + GRACE_MARGIN_SECONDS,
            "containers": [container],
            "volumes": volumes,
        },
    }


def _job_spec(job: KubernetesJob) -> dict[str, Any]:
    return {
        "completionMode": "Indexed",
        "completions": job.instance_count,
        "parallelism": job.instance_count,
        "backoffLimit": max(job.instance_count, 1) * 2,
        "podFailurePolicy": {
            "rules": [
                {"action": "FailJob",
                 "onExitCodes": {"containerName": CONTAINER, "operator": "In", "values": [USER_ERROR_EXIT_CODE]}},
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            ]
        },
        "template": _pod_template(job),
    }


def _indexed_job(job: KubernetesJob) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(job, job.name), "spec": _job_spec(job)}


def _jobset(job: KubernetesJob) -> dict[str, Any]:
    template = _job_spec(job)
    del template["template"]["spec"]["subdomain"]  # JobSet sets the subdomain from spec.network
    return {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": _metadata(job, job.name),
        "spec": {
            "network": {"enableDNSHostnames": True, "subdomain": job.service, "publishNotReadyAddresses": True},
            "replicatedJobs": [{"name": "workers", "replicas": 1, "template": {"spec": template}}],
        },
    }


def to_yaml(documents: Sequence[Mapping[str, Any]]) -> str:
    """The documents as one multi-document YAML stream for `kubectl apply -f`."""
    import yaml  # type: ignore[import-untyped,unused-ignore]  # the `kubernetes` extra; imported when rendering

    return "---\n".join(yaml.safe_dump(dict(document), sort_keys=False) for document in documents)
