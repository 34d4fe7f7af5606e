"""`container-runtime`: local mode from the command line.

    container-runtime run ENTRY_POINT [--source-dir DIR] [-H NAME=VALUE]... [-c CHANNEL=PATH|URI]...
                          [--instance-count N] [--framework generic|chainer|tensorflow] [--output PATH|s3://...]
                          [--metric NAME=REGEX]... [-e VAR=VALUE]... [--job-name NAME]
    container-runtime jobs | describe JOB
    container-runtime deploy JOB | --model-data PATH [--entry-point F --source-dir DIR --framework F] [--port P]
    container-runtime predict ENDPOINT --data FILE [--content-type T] [--accept T]
    container-runtime endpoints | stop ENDPOINT | stop --all

Bad input ends with one `error:` line and exit status 2; a failed job with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_mode.errors import LocalModeError

FAILED = 1
BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except LocalModeError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
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
    run.add_argument("entry_point")
    run.add_argument("--source-dir", type=Path)
    run.add_argument("-H", "--hyperparameter", action="append", default=[], metavar="NAME=VALUE",
                     help="a JSON value (3, 0.1, true, [1,2]) or else a string")
    run.add_argument("-c", "--channel", action="append", default=[], metavar="NAME=PATH|URI")
    run.add_argument("--instance-count", type=int, default=1)
    run.add_argument("--framework", default="generic", choices=["generic", "chainer", "tensorflow"])
    run.add_argument("--output", help="local dir or s3:// prefix for the artifacts (default: the job dir)")
    run.add_argument("--metric", action="append", default=[], metavar="NAME=REGEX")
    run.add_argument("-e", "--env", action="append", default=[], metavar="VAR=VALUE")
    run.add_argument("--job-name")
    run.add_argument("--base-job-name")
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
    deploy.set_defaults(handler=_deploy)

    predict = commands.add_parser("predict", help="send data to an endpoint and print the answer")
    predict.add_argument("endpoint", help="endpoint name or URL")
    predict.add_argument("--data", required=True, type=Path, help=".npy, .json, .csv or .jsonl file")
    predict.add_argument("--content-type")
    predict.add_argument("--accept")
    predict.set_defaults(handler=_predict)

    endpoints = commands.add_parser("endpoints", help="list running endpoints")
    endpoints.set_defaults(handler=_endpoints)
    stop = commands.add_parser("stop", help="stop an endpoint")
    stop.add_argument("endpoint", nargs="?")
    stop.add_argument("--all", action="store_true")
    stop.set_defaults(handler=_stop)
    return parser


def _home(args: argparse.Namespace) -> tuple[Path, Path]:
    from local_mode.settings import default_endpoints_dir, default_jobs_dir

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


def _run(args: argparse.Namespace) -> int:
    from local_mode.channels import parse_channels
    from local_mode.metrics import metric_definitions
    from local_mode.presets import preset_named
    from local_mode.settings import s3_endpoint_url
    from local_mode.training import TrainingJobSpec, run_training_job

    jobs_dir, _ = _home(args)
    spec = TrainingJobSpec(
        entry_point=args.entry_point,
        source_dir=args.source_dir,
        hyperparameters={
            name: json_or_text(value) for name, value in pairs(args.hyperparameter, "hyperparameter").items()
        },
        channels=parse_channels(pairs(args.channel, "channel")),
        instance_count=args.instance_count,
        jobs_dir=jobs_dir,
        framework=preset_named(args.framework),
        output_path=args.output,
        job_name=args.job_name,
        base_job_name=args.base_job_name,
        metric_definitions=metric_definitions(pairs(args.metric, "metric")),
        environment=pairs(args.env, "env"),
        s3_endpoint_url=s3_endpoint_url(),
    )
    result = run_training_job(spec, console=sys.stdout)
    print(f"Record: {result.job_dir / 'describe.json'}")
    if result.model_data:
        print(f"Model: {result.model_data}")
    for point in result.description.get("FinalMetricDataList", []):
        print(f"Metric {point['MetricName']} = {point['Value']}")
    return 0 if result.status == "Completed" else (130 if result.status == "Stopped" else FAILED)


def _jobs(args: argparse.Namespace) -> int:
    from local_mode.describe import read_description

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
    from local_mode.describe import read_description

    jobs_dir, _ = _home(args)
    print(json.dumps(read_description(jobs_dir / args.job / "describe.json"), indent=2))
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from local_mode.deployment import deploy_from_arguments

    jobs_dir, endpoints_dir = _home(args)
    deploy_from_arguments(
        job=args.job, model_data=args.model_data, entry_point=args.entry_point, source_dir=args.source_dir,
        framework=args.framework, port=args.port, name=args.name, workers=args.workers,
        jobs_dir=jobs_dir, endpoints_dir=endpoints_dir, console=sys.stdout,
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    from local_mode.deployment import predict_file

    _, endpoints_dir = _home(args)
    answer = predict_file(args.endpoint, args.data, content_type=args.content_type, accept=args.accept,
                          endpoints_dir=endpoints_dir)
    print(answer)
    return 0


def _endpoints(args: argparse.Namespace) -> int:
    from local_mode.endpoints import list_endpoints

    _, endpoints_dir = _home(args)
    records = list_endpoints(endpoints_dir)
    if not records:
        print("no endpoints running")
    for record in records:
        print(f"{record.name}  {record.url}  pid {record.pid}  {record.framework}  {record.model_data}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from local_mode.endpoints import list_endpoints, stop_endpoint

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
