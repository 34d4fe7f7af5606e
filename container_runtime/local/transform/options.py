"""A transform job's settings, as the SageMaker SDK names them, checked before anything starts.

What the user leaves out comes from the endpoint's `GET /execution-parameters` (`plan`), as
SageMaker does: `MaxConcurrentTransforms`, `BatchStrategy` and `MaxPayloadInMB`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from container_runtime.local.errors import LocalModeError

MIB = 1024 * 1024
MULTI_RECORD = "MultiRecord"
SINGLE_RECORD = "SingleRecord"
LINE = "Line"
#: The SDK's spellings and the endpoint's (`MULTI_RECORD`) for the two strategies.
_STRATEGIES = {"multirecord": MULTI_RECORD, "multi_record": MULTI_RECORD,
               "singlerecord": SINGLE_RECORD, "single_record": SINGLE_RECORD}
#: SageMaker's defaults, used when the endpoint has no /execution-parameters.
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_CONCURRENCY = 1
#: SageMaker's bounds for MaxPayloadInMB and MaxConcurrentTransforms.
MAX_PAYLOAD_LIMIT_MB = 100
MAX_CONCURRENCY = 64


@dataclass(frozen=True)
class TransformOptions:
    """What the user chose; None leaves it to the endpoint (or, for the types, to the file's suffix)."""

    strategy: str | None = None
    max_payload: int | None = None
    max_concurrent_transforms: int | None = None
    split_type: str | None = None
    assemble_with: str | None = None
    content_type: str | None = None
    accept: str | None = None
    #: compression_type "Gzip": every input file is gzipped.
    gzipped: bool = False
    #: model_client_config's InvocationsTimeoutInSeconds.
    invocation_timeout: float | None = None


@dataclass(frozen=True)
class Plan:
    """How records travel, once the endpoint's execution parameters are known."""

    strategy: str
    max_payload_bytes: int
    concurrency: int


def check_options(
    *,
    strategy: str | None = None,
    max_payload: int | None = None,
    max_concurrent_transforms: int | None = None,
    split_type: str | None = None,
    assemble_with: str | None = None,
    content_type: str | None = None,
    accept: str | None = None,
    compression_type: str | None = None,
    model_client_config: Mapping[str, Any] | None = None,
) -> TransformOptions:
    """The options in canonical form; a LocalModeError naming the argument and value otherwise."""
    return TransformOptions(
        strategy=None if strategy is None else parse_strategy(strategy, "strategy"),
        max_payload=_bounded(max_payload, "max_payload", 1, MAX_PAYLOAD_LIMIT_MB, "MB"),
        max_concurrent_transforms=_bounded(max_concurrent_transforms, "max_concurrent_transforms", 1, MAX_CONCURRENCY),
        split_type=_split_type(split_type),
        assemble_with=_assemble_with(assemble_with),
        content_type=_media(content_type, "content_type"),
        accept=_media(accept, "accept"),
        gzipped=_gzipped(compression_type),
        invocation_timeout=_invocation_timeout(model_client_config),
    )


def parse_strategy(value: Any, what: str) -> str:
    if isinstance(value, str) and value.strip().lower() in _STRATEGIES:
        return _STRATEGIES[value.strip().lower()]
    raise LocalModeError(f"{what} {value!r}: choose MultiRecord or SingleRecord")


def plan(options: TransformOptions, parameters: Mapping[str, Any]) -> Plan:
    """The user's choices, else the endpoint's execution parameters, else SageMaker's defaults."""
    strategy = options.strategy
    if strategy is None:
        raw = parameters.get("BatchStrategy")
        strategy = parse_strategy(raw, "the endpoint's BatchStrategy") if raw is not None else MULTI_RECORD
    payload = options.max_payload
    if payload is None:
        payload = _endpoint_number(parameters, "MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB, MAX_PAYLOAD_LIMIT_MB)
    concurrency = options.max_concurrent_transforms
    if concurrency is None:
        concurrency = _endpoint_number(parameters, "MaxConcurrentTransforms", DEFAULT_CONCURRENCY, MAX_CONCURRENCY)
    return Plan(strategy=strategy, max_payload_bytes=payload * MIB, concurrency=concurrency)


def _endpoint_number(parameters: Mapping[str, Any], key: str, default: int, high: int) -> int:
    value = parameters.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LocalModeError(f"the endpoint's execution parameter {key} {value!r}: expected a positive integer")
    return min(value, high)


def _bounded(value: Any, what: str, low: int, high: int, unit: str = "") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise LocalModeError(f"{what} {value!r}: choose a whole number from {low} to {high}{suffix}")
    return value


def _split_type(value: str | None) -> str | None:
    if value is None or value == "None":
        return None
    if value == LINE:
        return LINE
    if value in ("RecordIO", "TFRecord"):
        raise LocalModeError(f"split_type {value!r}: local transform jobs split by Line or not at all (None)")
    raise LocalModeError(f"split_type {value!r}: choose Line or None")


def _assemble_with(value: str | None) -> str | None:
    if value is None or value == "None":
        return None
    if value == LINE:
        return LINE
    raise LocalModeError(f"assemble_with {value!r}: choose Line or None")


def _media(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "/" not in value or any(char in value for char in "\r\n"):
        raise LocalModeError(f"{what} {value!r}: expected a media type such as text/csv")
    return value.strip()


def _gzipped(value: str | None) -> bool:
    if value in (None, "None"):
        return False
    if value == "Gzip":
        return True
    raise LocalModeError(f"compression_type {value!r}: choose Gzip or None")


def _invocation_timeout(config: Mapping[str, Any] | None) -> float | None:
    """model_client_config's InvocationsTimeoutInSeconds (1 to 3600, as SageMaker allows)."""
    if not config:
        return None
    unknown = sorted(set(config) - {"InvocationsTimeoutInSeconds", "InvocationsMaxRetries"})
    if unknown:
        raise LocalModeError(f"model_client_config {unknown[0]!r}: expected InvocationsTimeoutInSeconds "
                             "or InvocationsMaxRetries")
    retries = config.get("InvocationsMaxRetries", 0)
    if retries not in (0, None):
        raise LocalModeError(f"model_client_config InvocationsMaxRetries {retries!r}: local transform jobs "
                             "do not retry; a refused record fails the job")
    timeout = config.get("InvocationsTimeoutInSeconds")
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 3600:
        raise LocalModeError(f"model_client_config InvocationsTimeoutInSeconds {timeout!r}: choose 1 to 3600")
    return float(timeout)
