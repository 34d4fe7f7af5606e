"""`container-runtime`: local mode from the command line.

    container-runtime run ENTRY_POINT [--source-dir DIR] [-H NAME=VALUE]... [-c CHANNEL=PATH|URI]...
                          [--instance-count N] [--framework generic|chainer|tensorflow] [--output PATH|s3://...]
                          [--metric NAME=REGEX]... [-e VAR=VALUE]... [--job-name NAME]
                          [--backend local|process|netns|docker [--image IMAGE]]
    container-runtime jobs | describe JOB
    container-runtime deploy JOB | --model-data PATH [--entry-point F --source-dir DIR --framework F] [--port P]
                          [--backend local|process|netns|docker [--image IMAGE]]
    container-runtime predict ENDPOINT --data FILE [--content-type T] [--accept T]
    container-runtime transform JOB | --model-data PATH --data FILE|DIR|s3://... [--output DIR|s3://...]
                          [--split-type Line|None] [--strategy MultiRecord|SingleRecord] [--max-payload MB]
                          [--max-concurrent-transforms N] [--assemble-with Line|None] [--content-type T]
                          [--accept T] [--compression-type Gzip] [-e VAR=VALUE]...
                          [--backend process|docker [--image IMAGE]]
    container-runtime endpoints | stop ENDPOINT | stop --all
    container-runtime tune ENTRY_POINT --range NAME=continuous:MIN:MAX[:SCALING]... --objective NAME
                          --metric NAME=REGEX... [--objective-type Maximize|Minimize] [--strategy S]
                          [--max-jobs N] [--max-parallel-jobs N] [--early-stopping Auto] [--storage URL] ...
    container-runtime tuning describe|analytics|deploy TUNING_JOB [--storage URL]
    container-runtime ui [--port P] [--host H]
    container-runtime k8s render ENTRY_POINT --image IMAGE --job-name NAME --code VOLUME --output-volume VOLUME
                          [--instance-count N] [-c CHANNEL=VOLUME]... [-H NAME=VALUE]... [--cpu Q] [--memory Q]
                          [--gpus N] [--jobset] [-o FILE]

Bad input ends with one `error:` line and exit status 2; a job or endpoint that started and failed
with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.status import JobStatus

FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except LocalModeError as error:  # LocalModeFailure (started, then failed) exits 1, usage errors 2
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="container-runtime", description="Train, deploy and predict locally.")
    parser.add_argument(
        "--home", help="where jobs and endpoints are kept (default $CONTAINER_RUNTIME_HOME or ~/.container-runtime)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a training job")
    _job_arguments(run)
    run.add_argument("--job-name")
    run.add_argument("--base-job-name")
    _backend_arguments(run)
    run.set_defaults(handler=_run)

    jobs = commands.add_parser("jobs", help="list training jobs")
    jobs.set_defaults(handler=_jobs)
    describe = commands.add_parser("describe", help="print a job's describe.json")
    describe.add_argument("job")
    describe.set_defaults(handler=_describe)

    deploy = commands.add_parser("deploy", help="serve a job's model on a local port")
    deploy.add_argument("job", nargs="?")
    deploy.add_argument("--model-data", help="model.tar.gz (local or s3://) instead of a job")
    deploy.add_argument("--entry-point")
    deploy.add_argument("--source-dir", type=Path)
    deploy.add_argument("--framework", choices=["generic", "chainer", "tensorflow"])
    deploy.add_argument("--port", type=int)
    deploy.add_argument("--name")
    deploy.add_argument("--workers", type=int, default=1)
    _backend_arguments(deploy)
    deploy.set_defaults(handler=_deploy)

    predict = commands.add_parser("predict", help="send data to an endpoint and print the answer")
    predict.add_argument("endpoint", help="endpoint name or URL")
    predict.add_argument("--data", required=True, type=Path, help=".npy, .json, .csv or .jsonl file")
    predict.add_argument("--content-type")
    predict.add_argument("--accept")
    predict.set_defaults(handler=_predict)

    _transform_parser(commands)
    _tune_parsers(commands)
    _kubernetes_parsers(commands)

    ui = commands.add_parser("ui", help="a web dashboard of jobs, tuning jobs and endpoints")
    ui.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    ui.add_argument("--host", default="127.0.0.1",
                    help="the address to listen on (default 127.0.0.1; any other is reachable by others)")
    ui.set_defaults(handler=_ui)

    endpoints = commands.add_parser("endpoints", help="list running endpoints")
    endpoints.set_defaults(handler=_endpoints)
    stop = commands.add_parser("stop", help="stop an endpoint")
    stop.add_argument("endpoint", nargs="?")
    stop.add_argument("--all", action="store_true")
    stop.set_defaults(handler=_stop)
    return parser


def _transform_parser(commands: Any) -> None:
    transform = commands.add_parser(
        "transform", help="run a batch transform job: a model answers every record of a file, dir or s3:// prefix",
        description="Start an endpoint for the model, send every record of the data to it and write each input "
                    "file's answers, in order, to <name>.out under --output; the endpoint stops at the end. "
                    "Left out, --strategy, --max-payload and --max-concurrent-transforms come from the endpoint's "
                    "/execution-parameters.",
    )
    transform.add_argument("job", nargs="?", help="a completed training job whose model to use")
    transform.add_argument("--model-data", help="model.tar.gz (local, file:// or s3://) instead of a job")
    transform.add_argument("--entry-point")
    transform.add_argument("--source-dir", type=Path)
    transform.add_argument("--framework", choices=["generic", "chainer", "tensorflow"])
    transform.add_argument("--data", required=True, help="a file, a directory or an s3:// prefix")
    transform.add_argument("--output", help="local dir or s3:// prefix (default: HOME/transforms/JOB_NAME)")
    transform.add_argument("--content-type", help="the records' type (default: from the files' suffix)")
    transform.add_argument("--compression-type", metavar="Gzip|None", help="Gzip: every input file is gzipped")
    transform.add_argument("--accept", help="the answers' type (default: the endpoint's)")
    transform.add_argument("--split-type", metavar="Line|None", help="Line: one record per line; None: "
                           "the whole file is one record (default)")
    transform.add_argument("--strategy", metavar="MultiRecord|SingleRecord",
                           help="MultiRecord packs records into requests up to --max-payload")
    transform.add_argument("--max-payload", type=int, metavar="MB", help="largest request body (1 to 100)")
    transform.add_argument("--max-concurrent-transforms", type=int, metavar="N", help="requests at once")
    transform.add_argument("--assemble-with", metavar="Line|None", help="Line: end every answer with a newline")
    transform.add_argument("-e", "--env", action="append", default=[], metavar="VAR=VALUE",
                           help="a variable for serve")
    transform.add_argument("--job-name")
    transform.add_argument("--workers", type=int, help="serve's workers (default: --max-concurrent-transforms)")
    _backend_arguments(transform)
    transform.set_defaults(handler=_transform)


def _transform(args: argparse.Namespace) -> int:
    from container_runtime.local.deployment import model_source
    from container_runtime.local.settings import s3_endpoint_url
    from container_runtime.local.transform.job import TransformJobSpec, run_transform_job
    from container_runtime.local.transform.options import check_options

    jobs_dir, endpoints_dir = _home(args)
    options = check_options(
        strategy=args.strategy, max_payload=args.max_payload, max_concurrent_transforms=args.max_concurrent_transforms,
        split_type=args.split_type, assemble_with=args.assemble_with, content_type=args.content_type,
        accept=args.accept, compression_type=args.compression_type,
    )
    source = model_source(job=args.job, model_data=args.model_data, entry_point=args.entry_point,
                          source_dir=args.source_dir, framework=args.framework, jobs_dir=jobs_dir, command="transform")
    spec = TransformJobSpec(
        model_data=source.model_data, data=args.data, output_path=args.output, options=options,
        framework=source.preset, entry_point=source.entry_point, source_dir=source.source_dir,
        environment=pairs(args.env, "env"), job_name=args.job_name, endpoints_dir=endpoints_dir,
        transforms_dir=jobs_dir.parent / "transforms",
        backend=args.backend, image=args.image, s3_endpoint_url=s3_endpoint_url(), workers=args.workers,
    )
    result = run_transform_job(spec, console=sys.stdout)
    print(f"Output: {result.output_path}")
    return 0


def _kubernetes_parsers(commands: Any) -> None:
    k8s = commands.add_parser("k8s", help="Kubernetes manifests for a training job")
    actions = k8s.add_subparsers(dest="k8s_action", required=True)
    render = actions.add_parser("render", help="write the ConfigMap, headless Service and Indexed Job (or JobSet)")
    render.add_argument("entry_point", help="the script, relative to the code volume")
    render.add_argument("--image", default="", help="the framework image the pods run")
    render.add_argument("--code", required=True, metavar="pvc:CLAIM[/SUBPATH]|hostpath:/PATH")
    render.add_argument("--output-volume", required=True, metavar="pvc:CLAIM[/SUBPATH]|hostpath:/PATH",
                        help="where each pod's /opt/ml/output goes, under JOB/INDEX")
    render.add_argument("-c", "--channel", action="append", default=[], metavar="NAME=pvc:CLAIM|hostpath:/PATH")
    render.add_argument("-H", "--hyperparameter", action="append", default=[], metavar="NAME=VALUE")
    render.add_argument("-e", "--env", action="append", default=[], metavar="VAR=VALUE")
    render.add_argument("--instance-count", type=int, default=1)
    render.add_argument("--job-name", required=True)
    render.add_argument("--namespace")
    render.add_argument("--cpu")
    render.add_argument("--memory")
    render.add_argument("--gpus", type=int, default=0, help="nvidia.com/gpu per pod")
    render.add_argument("--stop-grace-seconds", type=int, default=120)
    render.add_argument("--jobset", action="store_true", help="a JobSet instead of an Indexed Job")
    render.add_argument("-o", "--output", type=Path, help="the YAML file to write (default: standard output)")
    render.set_defaults(handler=_k8s_render)


def _k8s_render(args: argparse.Namespace) -> int:
    from container_runtime.local.kubernetes import KubernetesJob, Volume, render_job, to_yaml

    channels = pairs(args.channel, "channel")
    job = KubernetesJob(
        name=args.job_name, image=args.image, instance_count=args.instance_count, entry_point=args.entry_point,
        code=Volume.parse(args.code, "--code"), output=Volume.parse(args.output_volume, "--output-volume"),
        hyperparameters=_hyperparameters(args),
        channels={name: Volume.parse(value, f"channel {name!r}") for name, value in channels.items()},
        environment=pairs(args.env, "environment variable"), cpu=args.cpu, memory=args.memory, gpus=args.gpus,
        namespace=args.namespace, stop_grace_seconds=args.stop_grace_seconds, jobset=args.jobset,
    )
    text = to_yaml(render_job(job))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    if args.output.exists():
        raise LocalModeError(f"{args.output} already exists: choose another file, or remove it")
    try:
        args.output.write_text(text)
    except OSError as error:
        raise LocalModeError(f"cannot write {args.output}: {error.strerror or error}") from None
    print(f"Wrote {args.output}: kubectl apply -f {args.output}")
    return 0


def _job_arguments(parser: argparse.ArgumentParser) -> None:
    """What `run` and `tune` share: the training job every trial is."""
    parser.add_argument("entry_point")
    parser.add_argument("--source-dir", type=Path)
    parser.add_argument("-H", "--hyperparameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a JSON value (3, 0.1, true, [1,2]) or else a string")
    parser.add_argument("-c", "--channel", action="append", default=[], metavar="NAME=PATH|URI")
    parser.add_argument("--instance-count", type=int, default=1)
    parser.add_argument("--framework", default="generic", choices=["generic", "chainer", "tensorflow"])
    parser.add_argument("--output", help="local dir or s3:// prefix for the artifacts (default: the job dir)")
    parser.add_argument("--metric", action="append", default=[], metavar="NAME=REGEX")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="VAR=VALUE")


def _backend_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default="local", metavar="local|process|netns|docker|slurm",
                        help="where hosts and endpoints run: local (default: process for one host, netns for "
                             "several), process, netns (namespace hosts, root), docker (containers of --image) or "
                             "slurm (the nodes of one Slurm job)")
    parser.add_argument("--image", help="with --backend docker: the image, e.g. container-runtime/chainer:cpu")
    if parser.prog.split()[-1] in ("run", "tune"):
        slurm = parser.add_argument_group("with --backend slurm")
        slurm.add_argument("--partition", help="the Slurm partition (default: Slurm's default)")
        slurm.add_argument("--time", help="the Slurm time limit, e.g. 2:00:00")
        slurm.add_argument("--gpus-per-node", type=int)


def _tune_parsers(commands: Any) -> None:
    tune = commands.add_parser("tune", help="run a hyperparameter tuning job")
    _job_arguments(tune)
    _backend_arguments(tune)
    tune.add_argument("--range", action="append", default=[], required=True,
                      metavar="NAME=continuous:MIN:MAX[:SCALING]|integer:MIN:MAX[:SCALING]|categorical:A,B")
    tune.add_argument("--objective", required=True, help="the metric (one of --metric) to optimise")
    tune.add_argument("--objective-type", default="Maximize", choices=["Maximize", "Minimize"])
    tune.add_argument("--objective-reduction", default="last", help="last (SageMaker), best, or mean-last-K")
    tune.add_argument("--strategy", default="Bayesian", choices=["Bayesian", "Random", "Grid", "Hyperband"])
    tune.add_argument("--bayesian-method", default="tpe", choices=["tpe", "gp"])
    tune.add_argument("--max-jobs", type=int)
    tune.add_argument("--max-parallel-jobs", type=int, default=1)
    tune.add_argument("--max-runtime", type=float, metavar="SECONDS")
    tune.add_argument("--early-stopping", default="Off", choices=["Off", "Auto"])
    tune.add_argument("--target", type=float, help="complete once a job reaches this objective value")
    tune.add_argument("--max-jobs-not-improving", type=int)
    tune.add_argument("--max-failed-jobs", type=int)
    tune.add_argument("--max-retries", type=int, default=0)
    tune.add_argument("--seed", type=int)
    tune.add_argument("--warm-start", action="append", default=[], metavar="PARENT_TUNING_JOB")
    tune.add_argument("--warm-start-type", default="IdenticalDataAndAlgorithm",
                      choices=["IdenticalDataAndAlgorithm", "TransferLearning"])
    tune.add_argument("--storage", help="journal file or postgresql:// URL shared by several tuner processes")
    tune.add_argument("--job-name", help="the tuning job's name; give the same one to join a running job")
    tune.add_argument("--base-job-name")
    tune.set_defaults(handler=_tune)

    tuning = commands.add_parser("tuning", help="look at a tuning job")
    tuning.add_argument("action", choices=["describe", "analytics", "deploy"])
    tuning.add_argument("tuning_job")
    tuning.add_argument("--storage")
    tuning.add_argument("--csv", type=Path, help="analytics: also write the table here")
    tuning.add_argument("--port", type=int)
    tuning.add_argument("--name")
    tuning.set_defaults(handler=_tuning)


def _home(args: argparse.Namespace) -> tuple[Path, Path]:
    from container_runtime.local.settings import default_endpoints_dir, default_jobs_dir

    if args.home:
        home = Path(args.home).expanduser()
        return home / "jobs", home / "endpoints"
    return default_jobs_dir(), default_endpoints_dir()


def pairs(values: Sequence[str], what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        name, separator, rest = value.partition("=")
        if not separator or not name:
            raise LocalModeError(f"{what} {value!r}: expected NAME=VALUE")
        result[name] = rest
    return result


def json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: json_or_text(value) for name, value in pairs(args.hyperparameter, "hyperparameter").items()}


def _run(args: argparse.Namespace) -> int:
    from container_runtime.local.estimator import TrainingJobFailed

    estimator = _estimator(args, base_job_name=args.base_job_name)
    try:
        result = estimator.fit(pairs(args.channel, "channel"), job_name=args.job_name)
    except TrainingJobFailed as failed:  # the record says why; the exit status says it failed
        result = failed.result
    print(f"Record: {result.job_dir / 'describe.json'}")
    if result.model_data:
        print(f"Model: {result.model_data}")
    for point in result.description.get("FinalMetricDataList", []):
        print(f"Metric {point['MetricName']} = {point['Value']}")
    return 0 if result.status == JobStatus.COMPLETED else (130 if result.status == JobStatus.STOPPED else FAILED)


def _estimator(args: argparse.Namespace, **options: Any) -> Any:
    """The job `run` runs and `tune` tunes, from the arguments both take (plus `options`)."""
    from container_runtime.local.estimator import Estimator

    jobs_dir, endpoints_dir = _home(args)
    return Estimator(
        args.entry_point,
        source_dir=args.source_dir,
        hyperparameters=_hyperparameters(args),
        instance_count=args.instance_count,
        output_path=args.output,
        metric_definitions=pairs(args.metric, "metric"),
        environment=pairs(args.env, "env"),
        framework=args.framework,
        jobs_dir=jobs_dir,
        endpoints_dir=endpoints_dir,
        backend=args.backend,
        image=args.image,
        backend_options={"partition": args.partition, "time_limit": args.time, "gpus_per_node": args.gpus_per_node},
        **options,
    )


def _tune(args: argparse.Namespace) -> int:
    from container_runtime.local.tuning.ranges import parse_range
    from container_runtime.local.tuning.tuner import HyperparameterTuner

    estimator = _estimator(args)
    tuner = HyperparameterTuner(
        estimator,
        args.objective,
        dict(parse_range(text) for text in args.range),
        strategy=args.strategy,
        objective_type=args.objective_type,
        objective_reduction=args.objective_reduction,
        max_jobs=args.max_jobs,
        max_parallel_jobs=args.max_parallel_jobs,
        max_runtime_in_seconds=args.max_runtime,
        early_stopping_type=args.early_stopping,
        random_seed=args.seed,
        base_tuning_job_name=args.base_job_name,
        target_objective_value=args.target,
        max_jobs_not_improving=args.max_jobs_not_improving,
        max_failed_jobs=args.max_failed_jobs,
        max_retries=args.max_retries,
        warm_start_parents=args.warm_start,
        warm_start_type=args.warm_start_type,
        storage=args.storage,
        bayesian_method=args.bayesian_method,
    )
    result = tuner.fit(pairs(args.channel, "channel"), job_name=args.job_name)
    print(f"Record: {result.tuning_dir / 'describe.json'}")
    if result.best_training_job:
        print(f"Best training job: {result.best_training_job}")
    # InProgress: this process's share is done while other tuner processes still run jobs.
    if result.status in (JobStatus.COMPLETED, JobStatus.IN_PROGRESS):
        return 0
    return 130 if result.status == JobStatus.STOPPED else FAILED


def _tuning(args: argparse.Namespace) -> int:
    from container_runtime.local.tuning.tooling import tuning_action

    jobs_dir, endpoints_dir = _home(args)
    print(tuning_action(args.action, args.tuning_job, storage=args.storage, tuning_root=jobs_dir.parent / "tuning",
                        endpoints_dir=endpoints_dir, csv=args.csv, port=args.port, name_for_endpoint=args.name))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from container_runtime.local.describe import read_description

    jobs_dir, _ = _home(args)
    records = sorted(jobs_dir.glob("*/describe.json")) if jobs_dir.is_dir() else []
    if not records:
        print(f"no jobs in {jobs_dir}")
    for path in records:
        try:
            record = read_description(path)
        except LocalModeError as error:
            print(f"{path.parent.name}  unreadable: {error}")
            continue
        seconds = record.get("TrainingTimeInSeconds")
        took = f"{seconds:.1f}s" if isinstance(seconds, (int, float)) else "-"
        print(f"{record.get('TrainingJobName')}  {record.get('TrainingJobStatus')}  {took}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    from container_runtime.local.describe import read_description

    jobs_dir, _ = _home(args)
    print(json.dumps(read_description(jobs_dir / args.job / "describe.json"), indent=2))
    return 0


def _ui(args: argparse.Namespace) -> int:
    import secrets

    from container_runtime.local.dashboard.records import Home
    from container_runtime.local.dashboard.server import make_server

    if not 0 <= args.port <= 65535:
        raise LocalModeError(f"ui: --port {args.port}: expected 0 to 65535")
    jobs_dir, endpoints_dir = _home(args)
    token = secrets.token_urlsafe(18)
    server = make_server(Home(jobs_dir, endpoints_dir, jobs_dir.parent / "tuning"), args.host, args.port, token)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the dashboard listens on {args.host}: anyone who can reach it can read your jobs' "
              "records and logs", file=sys.stderr)
    print(f"Dashboard: {server.url}?token={token}", flush=True)
    print(f"Token (stopping endpoints, predictions): {token}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from container_runtime.local.deployment import deploy_from_arguments

    jobs_dir, endpoints_dir = _home(args)
    deploy_from_arguments(
        job=args.job, model_data=args.model_data, entry_point=args.entry_point, source_dir=args.source_dir,
        framework=args.framework, port=args.port, name=args.name, workers=args.workers,
        jobs_dir=jobs_dir, endpoints_dir=endpoints_dir, console=sys.stdout, backend=args.backend, image=args.image,
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    from container_runtime.local.deployment import predict_file

    _, endpoints_dir = _home(args)
    answer = predict_file(args.endpoint, args.data, content_type=args.content_type, accept=args.accept,
                          endpoints_dir=endpoints_dir)
    print(answer)
    return 0


def _endpoints(args: argparse.Namespace) -> int:
    from container_runtime.local.endpoints import list_endpoints

    _, endpoints_dir = _home(args)
    records = list_endpoints(endpoints_dir)
    if not records:
        print("no endpoints running")
    for record in records:
        print(f"{record.name}  {record.url}  pid {record.pid}  {record.framework}  {record.model_data}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from container_runtime.local.endpoints import list_endpoints, stop_endpoint

    _, endpoints_dir = _home(args)
    if args.all:
        names = [record.name for record in list_endpoints(endpoints_dir)]
    elif args.endpoint:
        names = [args.endpoint]
    else:
        raise LocalModeError("stop: name an endpoint, or pass --all")
    for name in names:
        stop_endpoint(name, endpoints_dir)
        print(f"Stopped endpoint {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
