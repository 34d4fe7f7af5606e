"""Serving throughput and latency: our `serve` against sagemaker-containers 2.8.6.post2 and the bare model.

Three stacks serve the same model, a 784-1000-1000-10 numpy float32 MLP
(benchmarks/serving_support/model.py, user module serving_support/inference.py with model_fn and
predict_fn only, NPY in and out through each server's default input_fn/output_fn):

  (a) the bare model, in this process: np.load(BytesIO) -> predict_fn -> np.save(BytesIO) in a
      loop, one Python thread. This is the limit for (b) and (c); `a'` is the same loop run by the legacy
      venv's interpreter (numpy 1.x), to show how much of (c) is its older numpy.
  (b) our `serve` (--serve-command, by default `serve` beside this interpreter).
  (c) sagemaker-containers 2.8.6.post2: its `serve` console script, nginx in front of
      `gunicorn -k gevent` running a Flask app built by serving_support/legacy_app.py (the ten-line
      framework module). The venv comes from serving_support/legacy_venv.sh, which this script
      runs when --legacy-venv has no `serve` in it (idempotent, needs PyPI once).

Each server is started here on a free port with its own SAGEMAKER_BASE_DIR under a temporary
dir (model at <base>/model/model.npz, code at <base>/model/code/inference.py,
SAGEMAKER_PROGRAM=inference.py), waited for via GET /ping, checked to answer /invocations with
the right NPY for 1 and 64 rows, warmed up, measured, and stopped with SIGTERM (then SIGKILL of
its process group after a bounded wait). Both servers are up during the whole run and the
points are interleaved, (b) and (c) for each point (in turn first, over --rounds), so drift on the
machine hits both alike.

Load comes from `wrk` (Debian: apt-get install -y wrk) in a separate process: a keep-alive
closed loop of N connections (N = 1, 8, 32 clients) POSTing a 1- or 64-row .npy body with
Content-Type and Accept application/x-npy, for --duration seconds per point. wrk is light C, which
matters: on a small machine the client competes with the server for the same cores. Latencies are
wrk's per-request times (connection-level, closed loop), p50 and p99.

--workers (default 2) sets SAGEMAKER_MODEL_SERVER_WORKERS for both (b) and (c), so they run the
same number of worker processes; sagemaker-containers' own default is the CPU count.

BLAS: by default every stack runs with the environment it is given, so numpy's OpenBLAS picks its
own thread count (one per core, in every worker). --blas-threads N sets OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS for all three alike. (c) runs numpy<2, whose OpenBLAS 0.3.23
may not recognise a newer (virtualised) Xeon and fall back to its generic "Prescott" kernel, 3-4x
slower than numpy 2 on the same CPU; --legacy-openblas-coretype auto (the default) then sets
OPENBLAS_CORETYPE for (c) and (a') to the kernel this interpreter's numpy picked, so that (b)/(c)
compares serving stacks and not a CPU-detection bug ("off" measures (c) as it comes).

Adaptive batching (issue 17), measured in the same run unless --no-batching:
  (b+) our `serve` on the same numpy MLP with SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE=--batch-size
       (inference.py sets supports_batching), NPY, at every point (b) is measured;
  (t), (t+) our `serve` with the TensorFlow defaults on a deep, narrow SavedModel MLP,
       64-32x48-10 (serving_support/tf_model.py: a call costs about 1 ms of TensorFlow's fixed
       dispatch time, an extra row about 0.01 ms), JSON `[[...]]` bodies of 1 row, 32 clients,
       without and with batching. The model's own time for one call on 1 and on --batch-size rows
       is measured in this process and printed; the p99 goal uses the latter.

Goals (from the issues), printed as PASS/FAIL lines with the anchor (c) measured in the same run
beside each figure; the exit status is 0 either way:
  * at 8 clients, (b) rps >= 1.5 x (c) rps, and p99(b) < p99(c);
  * at 1 row and 1 client, p50(b) - p50(a) < 1 ms of overhead per request;
  * TensorFlow, JSON, 1 row, 32 clients: rps (t+) >= 2 x (t), and p99 (t+) <= batch delay + two
    model calls of --batch-size rows. The p99 judged is serve's own time per request: from the
    worker starting the request (its headers read) to its answer (the `serving_request_duration_seconds`
    histogram for /invocations, read before and after the point, all workers; the bound of the
    0.25 ms-wide bucket holding the 99th percentile). Not the end-to-end p99 from wrk: with 32
    closed-loop clients and no think time, Little's law makes the mean end-to-end latency
    32 / throughput whatever the server does, so the goal's few milliseconds end to end would need
    over 32 / (delay + 2 calls) requests a second, about 7,000 at 4.5 ms, several times what two
    cores serve over HTTP and JSON. That bound is printed beside the goal, with the end-to-end
    p99s and the batched server's p99 from queueing a decoded request to its prediction
    (`serving_batch_latency_seconds`, taken on the model's thread), neither judged, and the model
    call's own p50 and p99 under that load (`serving_model_call_seconds`). On a saturated machine
    serve's own time is also far above the goal: the model thread shares the cores with both
    workers' loops and with wrk, so a call takes several times as long as alone, and a request
    waits for the call in progress and then its own;
  * numpy MLP, NPY, 1 row: rps (b+) >= 0.95 x (b) at 1, 8 and 32 clients;
  * numpy MLP, 1 row, 1 client: p50 (b+) - p50 (b) < 0.2 ms.

    python benchmarks/serving.py                  # 10 s per point: about 3 minutes a round
    python benchmarks/serving.py --quick          # 3 s per point: about 1 minute
    python benchmarks/serving.py --rounds 3 --blas-threads 1 --json results.json
    python benchmarks/serving.py --serve-command .venv/bin/serve --legacy-venv /tmp/legacy-serving-venv
    # a checkout's code rather than the installed package's:
    python benchmarks/serving.py --serve-command "python -m container_runtime.cli.serve" --serve-pythonpath .
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from container_runtime.process import ProcessGroup  # noqa: E402
from harness.serving import free_port, http_request, wait_for_ping  # noqa: E402

SUPPORT = Path(__file__).resolve().parent / "serving_support"
ROWS = (1, 64)
CLIENTS = (1, 8, 32)
GOAL_RPS_RATIO = 1.5
GOAL_OVERHEAD_MS = 1.0
GOAL_TF_BATCHED_RATIO = 2.0
GOAL_NUMPY_BATCHED_RATIO = 0.95
GOAL_BATCHED_OVERHEAD_MS = 0.2
TF_CLIENTS = 32
NPY = "application/x-npy"
JSON = "application/json"

# Prints the CPU kernel that numpy's bundled OpenBLAS picked at load time ("" if unknown).
OPENBLAS_CORE_PROBE = r"""
import ctypes, glob, os, numpy
names = ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename")
for lib in glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs", "*openblas*")):
    dll = ctypes.CDLL(lib)
    for name in names:
        function = getattr(dll, name, None)
        if function is not None:
            function.restype = ctypes.c_char_p
            print(function().decode())
            raise SystemExit
print("")
"""

WRK_SCRIPT = r"""
local f = assert(io.open(os.getenv("SERVING_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("SERVING_BENCH_TYPE")
wrk.headers["Accept"] = os.getenv("SERVING_BENCH_TYPE")

function done(summary, latency, requests)
  io.write(string.format(
    "SERVING_BENCH requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Point:
    stack: str
    rows: int
    clients: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    requests: int = 0


@dataclass
class Stack:
    key: str  # "b", "b+" (batched), "c", "t" or "t+" (TensorFlow)
    label: str
    command: list[str]
    env: dict[str, str]
    base: Path
    log_path: Path
    process: ProcessGroup | None = None
    port: int = 0
    problem: str | None = None
    points: list[Point] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# (a): the bare model in this process


def support_modules():
    if str(SUPPORT) not in sys.path:
        sys.path.insert(0, str(SUPPORT))
    import inference
    import model

    return model, inference


def npy_bytes(array) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def bench_inprocess(model_dir: Path, rows: int, duration: float) -> dict:
    """Decode NPY, predict, encode NPY in a loop for `duration` seconds; single thread."""
    import numpy as np

    model_module, inference = support_modules()
    mlp = inference.model_fn(str(model_dir))
    body = npy_bytes(model_module.payload(rows))

    def one() -> bytes:
        data = np.load(io.BytesIO(body), allow_pickle=False)
        out = io.BytesIO()
        np.save(out, inference.predict_fn(data, mlp))
        return out.getvalue()

    warm_until = time.perf_counter() + min(1.0, duration / 5)
    while time.perf_counter() < warm_until:
        one()
    samples = []
    clock = time.perf_counter
    started = clock()
    end = started + duration
    now = started
    while now < end:
        one()
        after = clock()
        samples.append(after - now)
        now = after
    elapsed = now - started
    samples.sort()
    return {
        "rows": rows,
        "rps": len(samples) / elapsed,
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "requests": len(samples),
        "numpy": np.__version__,
    }


def percentile(sorted_values: list[float], pct: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# ---------------------------------------------------------------------------------------------
# servers


def make_base(root: Path, name: str) -> Path:
    model_module, _ = support_modules()
    base = root / name
    code = base / "model" / "code"
    code.mkdir(parents=True)
    model_module.save(base / "model")
    shutil.copy(SUPPORT / "inference.py", code / "inference.py")
    return base


def clean_env(port: int, base: Path, workers: int, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SAGEMAKER_"))}
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        SAGEMAKER_BASE_DIR=str(base),
        SAGEMAKER_PROGRAM="inference.py",
        SAGEMAKER_BIND_TO_PORT=str(port),
        SAGEMAKER_MODEL_SERVER_WORKERS=str(workers),
    )
    return env


def our_stack(
    serve: list[str], root: Path, workers: int, pythonpath: str | None, batch_size: int = 1, delay_ms: float = 0
) -> Stack:
    port = free_port("0.0.0.0")  # nginx listens on all addresses, so the port must be free there
    name = "ours-batched" if batch_size > 1 else "ours"
    base = make_base(root, name)
    env = clean_env(port, base, workers, Path(serve[0]).resolve().parent)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    key, label = "b", "(b) serve"
    if batch_size > 1:
        env["SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE"] = str(batch_size)
        env["SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS"] = f"{delay_ms:g}"
        key, label = "b+", "(b+) serve, batched"
    stack = Stack(key, label, serve, env, base, root / f"{name}.log")
    stack.port = port
    return stack


def tensorflow_stack(
    serve: list[str], root: Path, saved_model_root: Path, workers: int, pythonpath: str | None, batch_size: int,
    delay_ms: float,
) -> Stack:
    """Our serve with the TensorFlow defaults on the SavedModel MLP (no user module)."""
    port = free_port("0.0.0.0")
    name = "tf-batched" if batch_size > 1 else "tf"
    base = root / name
    shutil.copytree(saved_model_root, base / "model")
    env = clean_env(port, base, workers, Path(serve[0]).resolve().parent)
    del env["SAGEMAKER_PROGRAM"]
    env["SAGEMAKER_SERVING_FRAMEWORK"] = "tensorflow"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    key, label = "t", "(t) serve, TensorFlow"
    if batch_size > 1:
        env["SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE"] = str(batch_size)
        env["SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS"] = f"{delay_ms:g}"
        key, label = "t+", "(t+) serve, TF, batched"
    stack = Stack(key, label, serve, env, base, root / f"{name}.log")
    stack.port = port
    return stack


def legacy_stack(venv: Path, root: Path, workers: int) -> Stack:
    port = free_port("0.0.0.0")  # nginx listens on all addresses, so the port must be free there
    base = make_base(root, "legacy")
    framework = root / "legacy-framework"
    framework.mkdir()
    shutil.copy(SUPPORT / "legacy_app.py", framework / "legacy_app.py")
    env = clean_env(port, base, workers, venv / "bin")
    env.update(
        SAGEMAKER_SERVING_MODULE="legacy_app:app",
        # the package copies this dir to <base>/code, writes a setup.py and `pip install .`s it
        SAGEMAKER_SUBMIT_DIRECTORY=str(base / "model" / "code"),
        PYTHONPATH=str(framework),  # where gunicorn finds legacy_app (it gets sys.path as --pythonpath)
        PIP_NO_INDEX="1",  # ... from the venv's wheelhouse, so serving needs no network
        PIP_FIND_LINKS=str(venv / "wheelhouse"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    stack = Stack("c", "(c) sagemaker-containers", [str(venv / "bin" / "serve")], env, base, root / "legacy.log")
    stack.port = port
    return stack


def request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 10.0):
    """(status, content type, body): NPY both ways for invocations."""
    headers = {"Content-Type": NPY, "Accept": NPY} if body is not None else {}
    reply = http_request(port, method, path, body, headers, timeout)
    return reply.status, reply.headers.get("content-type", ""), reply.body


def start(stack: Stack, ping_timeout: float) -> bool:
    # Its own process group, so the final SIGKILL reaches nginx's and gunicorn's workers too.
    stack.process = ProcessGroup.start(stack.command, label=stack.label, output=stack.log_path, cwd=stack.base,
                                       env=stack.env)
    stack.problem = wait_for_ping(stack.port, stack.process, ping_timeout)
    return stack.problem is None


def stop(stack: Stack, grace: float = 15.0) -> None:
    """SIGTERM to the server (it ends its workers), then to its whole group, SIGKILL after 3 s more."""
    process = stack.process
    if process is None:
        return
    process.signal_leader(signal.SIGTERM)
    process.wait(grace)
    process.stop(3.0)


def verify(stack: Stack, bodies: dict[int, bytes], expected: dict) -> bool:
    """GET /ping and POST /invocations with 1 and 64 rows; the NPY answer must match predict_fn."""
    import numpy as np

    try:
        status, _, _ = request(stack.port, "GET", "/ping")
        if status != 200:
            stack.problem = f"GET /ping answered {status}"
            return False
        for rows, body in bodies.items():
            status, content_type, payload = request(stack.port, "POST", "/invocations", body, timeout=60)
            if status != 200:
                stack.problem = f"POST /invocations ({rows} rows) answered {status}: {payload[:300]!r}"
                return False
            if NPY not in content_type:
                stack.problem = f"POST /invocations ({rows} rows) answered Content-Type {content_type!r}"
                return False
            got = np.load(io.BytesIO(payload), allow_pickle=False)
            want = expected[rows]
            if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-3):
                stack.problem = f"POST /invocations ({rows} rows): wrong prediction {got.shape} {got.dtype}"
                return False
    except (OSError, http.client.HTTPException, ValueError) as error:
        stack.problem = f"check failed: {error!r}"
        return False
    return True


def log_tail(stack: Stack, lines: int = 25) -> str:
    try:
        text = stack.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    | " + line for line in text[-lines:])


# ---------------------------------------------------------------------------------------------
# load


def wrk(
    port: int, body_path: Path, script: Path, clients: int, duration: float, threads: int, content_type: str = NPY
) -> dict:
    command = [
        "wrk",
        f"-t{max(1, min(threads, clients))}",
        f"-c{clients}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/invocations",
    ]
    env = {**os.environ, "SERVING_BENCH_BODY": str(body_path), "SERVING_BENCH_TYPE": content_type}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    output = result.stdout + result.stderr
    match = re.search(r"^SERVING_BENCH (.*)$", output, re.MULTILINE)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if result.returncode != 0 or not match or not rps:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{output}")
    fields = {key: int(value) for key, value in (item.split("=") for item in match.group(1).split())}
    errors = sum(fields[key] for key in ("status", "connect", "read", "write", "timeout"))
    return {
        "rps": float(rps.group(1)),
        "p50_ms": fields["p50_us"] / 1000,
        "p99_ms": fields["p99_us"] / 1000,
        "errors": errors,
        "requests": fields["requests"],
    }


# ---------------------------------------------------------------------------------------------
# report


def median_points(points: list[Point]) -> list[Point]:
    """One point per (rows, clients): the median of each figure over the rounds, errors summed."""
    groups: dict[tuple[int, int], list[Point]] = {}
    for point in points:
        groups.setdefault((point.rows, point.clients), []).append(point)
    return [
        Point(
            group[0].stack,
            rows,
            clients,
            statistics.median(p.rps for p in group),
            statistics.median(p.p50_ms for p in group),
            statistics.median(p.p99_ms for p in group),
            sum(p.errors for p in group),
            sum(p.requests for p in group),
        )
        for (rows, clients), group in groups.items()
    ]


def fmt_row(label: str, rows: int, clients: str, rps: float, p50: float, p99: float, note: str = "") -> str:
    return f"{label:28} {rows:>4} {clients:>7} {rps:>9.1f} {p50:>9.3f} {p99:>9.3f}  {note}"


def report(inproc: dict[int, dict], inproc_legacy: dict[int, dict], stacks: list[Stack], args) -> None:
    stacks = [replace(stack, points=median_points(stack.points)) for stack in stacks]
    print()
    if args.rounds > 1:
        print(f"medians over {args.rounds} rounds")
    print(f"{'stack':28} {'rows':>4} {'clients':>7} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9}  notes")
    for rows in ROWS:
        if rows in inproc:
            a = inproc[rows]
            print(
                fmt_row("(a) in-process", rows, "1 (loop)", a["rps"], a["p50_ms"], a["p99_ms"], f"numpy {a['numpy']}")
            )
        if rows in inproc_legacy:
            a = inproc_legacy[rows]
            print(
                fmt_row(
                    "(a') in-process, legacy venv",
                    rows,
                    "1 (loop)",
                    a["rps"],
                    a["p50_ms"],
                    a["p99_ms"],
                    f"numpy {a['numpy']}",
                )
            )
        for clients in CLIENTS:
            for stack in stacks:
                for point in stack.points:
                    if point.rows == rows and point.clients == clients:
                        note = f"{point.errors} errors of {point.requests}" if point.errors else ""
                        print(fmt_row(stack.label, rows, str(clients), point.rps, point.p50_ms, point.p99_ms, note))
    for stack in stacks:
        if stack.problem:
            print(f"{stack.label}: not measured: {stack.problem}")

    ours = {(p.rows, p.clients): p for s in stacks if s.key == "b" for p in s.points}
    legacy = {(p.rows, p.clients): p for s in stacks if s.key == "c" for p in s.points}

    print("\nratios                              rows clients   rps b/c  p99 b/c   rps b/a")
    for rows in ROWS:
        for clients in CLIENTS:
            b = ours.get((rows, clients))
            c = legacy.get((rows, clients))
            limit = inproc.get(rows)
            if not b:
                continue
            bc = f"{b.rps / c.rps:9.2f} {b.p99_ms / c.p99_ms:8.2f}" if c else f"{'-':>9} {'-':>8}"
            ba = f"{b.rps / limit['rps']:9.2f}" if limit else f"{'-':>9}"
            print(f"{'':35} {rows:>4} {clients:>7} {bc} {ba}")

    print()
    for rows in ROWS:
        b, c = ours.get((rows, 8)), legacy.get((rows, 8))
        if b and c:
            ratio = b.rps / c.rps
            ok = ratio >= GOAL_RPS_RATIO and b.p99_ms < c.p99_ms
            print(
                f"{'PASS' if ok else 'FAIL'}  throughput at 8 clients, {rows} row(s): (b)/(c) = {ratio:.2f} "
                f"(goal >= {GOAL_RPS_RATIO}), p99 (b) {b.p99_ms:.2f} ms vs (c) {c.p99_ms:.2f} ms (goal: lower)"
            )
        else:
            print(f"n/a   throughput at 8 clients, {rows} row(s): needs both (b) and (c)")
    b, limit = ours.get((1, 1)), inproc.get(1)
    if b and limit:
        overhead = b.p50_ms - limit["p50_ms"]
        ok = overhead < GOAL_OVERHEAD_MS
        print(
            f"{'PASS' if ok else 'FAIL'}  overhead at 1 row, 1 client: p50 (b) {b.p50_ms:.3f} ms "
            f"- (a) {limit['p50_ms']:.3f} ms = {overhead:.3f} ms (goal < {GOAL_OVERHEAD_MS:g} ms)"
        )
    else:
        print("n/a   overhead at 1 row, 1 client: needs (a) and (b)")


def start_tensorflow_stacks(serve: list[str], root: Path, args, body_path: Path) -> tuple[dict, list[Stack]]:
    """Save the SavedModel MLP, time one call in this process, start (t) and (t+) and check them."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("(t) not measured: tensorflow is not installed here")
        return {}, []
    sys.path.insert(0, str(SUPPORT))
    import tf_model

    saved = tf_model.save(root / "tf-model")
    call_1, call_batch = tf_model.call_ms(saved, [1, args.batch_size])
    info = {
        "layers": list(tf_model.LAYERS),
        "call_ms_1_row": call_1,
        "call_ms_batch": call_batch,
        "batch_size": args.batch_size,
        "clients": TF_CLIENTS,
        "delay_ms": args.batch_delay_ms,
    }
    info["row_ms"] = (info["call_ms_batch"] - info["call_ms_1_row"]) / max(1, args.batch_size - 1)
    print(
        f"TensorFlow MLP {tf_model.describe()}: one call {info['call_ms_1_row']:.3f} ms for 1 row, "
        f"{info['call_ms_batch']:.3f} ms for {args.batch_size} rows (in this process): "
        f"{info['row_ms']:.4f} ms per extra row"
    )
    row = tf_model.payload(1)
    body_path.write_text(json.dumps(row.tolist()))
    import tensorflow as tf

    signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
    want = signature(x=tf.constant(row))["scores"].numpy()
    stacks = [
        tensorflow_stack(serve, root, saved.parent, args.workers, args.serve_pythonpath, size, args.batch_delay_ms)
        for size in (1, args.batch_size)
    ]
    for stack in stacks:
        print(f"starting {stack.label} on 127.0.0.1:{stack.port} ...", flush=True)
        if not start(stack, args.ping_timeout):
            print(f"  {stack.label}: {stack.problem}\n{log_tail(stack)}")
            stop(stack)
            continue
        reply = http_request(stack.port, "POST", "/invocations", body_path.read_bytes(), {"Content-Type": JSON}, 60)
        got = json.loads(reply.body).get("predictions") if reply.status == 200 else None
        if got is None or not np_allclose(got, want):
            stack.problem = f"JSON /invocations answered {reply.status}: {reply.body[:200]!r}"
            print(f"  {stack.label}: {stack.problem}\n{log_tail(stack)}")
            stop(stack)
        else:
            print("  /ping 200 and JSON /invocations correct for 1 row")
    return info, stacks


#: serve's histograms read around each TensorFlow point: bucket name -> key in the results.
SERVER_HISTOGRAMS = {
    "serving_request_duration_seconds_bucket": "request",  # route /invocations only
    "serving_batch_latency_seconds_bucket": "queue_to_prediction",
    "serving_model_call_seconds_bucket": "model_call",
}


def server_buckets(port: int) -> dict[str, dict[float, float]]:
    """SERVER_HISTOGRAMS' buckets (upper bound -> cumulative count), all workers merged."""
    from prometheus_client.parser import text_string_to_metric_families

    reply = http_request(port, "GET", "/metrics", timeout=30)
    found: dict[str, dict[float, float]] = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            if sample.name in SERVER_HISTOGRAMS and sample.labels.get("route", "/invocations") == "/invocations":
                found.setdefault(sample.name, {})[float(sample.labels["le"])] = sample.value
    return found


def bucket_percentile(before: dict[float, float], after: dict[float, float], pct: float) -> float:
    """The upper bound (ms) of the bucket holding the pct-th percentile of what was observed in between."""
    bounds = sorted(after)
    counts = [after[bound] - before.get(bound, 0.0) for bound in bounds]
    if not counts or counts[-1] <= 0:
        return float("nan")
    wanted = counts[-1] * pct / 100
    for bound, count in zip(bounds, counts, strict=True):
        if count >= wanted:
            return bound * 1000
    return float("inf")


def np_allclose(got: object, want: object) -> bool:
    import numpy as np

    return bool(np.allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4))


def batching_report(stacks: list[Stack], tf_stacks: list[Stack], tf_info: dict, args) -> None:
    """The batching goals' PASS/FAIL lines, each with the anchor (c) figure of the same run."""
    points = {
        (stack.key, p.rows, p.clients): p
        for stack in [*stacks, *tf_stacks]
        for p in median_points(stack.points)
    }

    def anchor(clients: int, what: str) -> str:
        c = points.get(("c", 1, clients))
        if c is None:
            return "anchor (c): not measured"
        figure = {"rps": f"{c.rps:.1f} req/s", "p99": f"p99 {c.p99_ms:.2f} ms", "p50": f"p50 {c.p50_ms:.3f} ms"}[what]
        return f"anchor (c) numpy MLP NPY {clients} clients: {figure}"

    if args.no_batching:
        return
    t, tb = points.get(("t", 1, TF_CLIENTS)), points.get(("t+", 1, TF_CLIENTS))
    if t and tb and tf_info:
        ratio = tb.rps / t.rps
        print(
            f"{'PASS' if ratio >= GOAL_TF_BATCHED_RATIO else 'FAIL'}  TensorFlow MLP, JSON, 1 row, "
            f"{TF_CLIENTS} clients: "
            f"batched {tb.rps:.1f} / unbatched {t.rps:.1f} req/s = {ratio:.2f} (goal >= {GOAL_TF_BATCHED_RATIO:g}); "
            f"{anchor(TF_CLIENTS, 'rps')}"
        )
        limit = tf_info["delay_ms"] + 2 * tf_info["call_ms_batch"]

        def server_ms(key: str, pct: int = 99) -> float:
            return statistics.median(tf_info.get(f"{key}_p{pct}_ms") or [float("nan")])

        judged = server_ms("t+ request")
        print(
            f"{'PASS' if judged <= limit else 'FAIL'}  TensorFlow MLP, {TF_CLIENTS} clients: p99 of serve's own time "
            f"per request (serving_request_duration_seconds, /invocations: from the worker starting the "
            f"request to its answer; bucket bound) {judged:.2f} ms, goal <= delay {tf_info['delay_ms']:g} ms + 2 "
            f"calls of {tf_info['call_ms_batch']:.3f} ms = {limit:.2f} ms; {anchor(TF_CLIENTS, 'p99')}"
        )
        print(
            f"      not judged: batched p99 from queueing to prediction {server_ms('t+ queue_to_prediction'):.2f} ms; "
            f"unbatched serve p99 {server_ms('t request'):.2f} ms; end-to-end (wrk) p99 batched {tb.p99_ms:.2f} ms, "
            f"unbatched {t.p99_ms:.2f} ms. End to end, {TF_CLIENTS} closed-loop clients wait at least "
            f"{TF_CLIENTS} / throughput = {TF_CLIENTS / tb.rps * 1000:.1f} ms on average (Little's law); "
            f"meeting {limit:.2f} ms end to end would need over {TF_CLIENTS / limit * 1000:.0f} req/s. "
            f"A model call under this load (serving_model_call_seconds): p50 {server_ms('t+ model_call', 50):.2f} ms, "
            f"p99 {server_ms('t+ model_call'):.2f} ms, against {tf_info['call_ms_batch']:.3f} ms alone in this process"
        )
    else:
        print("n/a   TensorFlow MLP batching goals: needs (t) and (t+)")
    for clients in CLIENTS:
        b, bb = points.get(("b", 1, clients)), points.get(("b+", 1, clients))
        if b and bb:
            ratio = bb.rps / b.rps
            print(
                f"{'PASS' if ratio >= GOAL_NUMPY_BATCHED_RATIO else 'FAIL'}  numpy MLP, NPY, 1 row, {clients} clients: "
                f"batched {bb.rps:.1f} / unbatched {b.rps:.1f} req/s = {ratio:.2f} "
                f"(goal >= {GOAL_NUMPY_BATCHED_RATIO:g}); {anchor(clients, 'rps')}"
            )
        else:
            print(f"n/a   numpy MLP batching at {clients} clients: needs (b) and (b+)")
    b, bb = points.get(("b", 1, 1)), points.get(("b+", 1, 1))
    if b and bb:
        overhead = bb.p50_ms - b.p50_ms
        print(
            f"{'PASS' if overhead < GOAL_BATCHED_OVERHEAD_MS else 'FAIL'}  numpy MLP, 1 row, 1 client: p50 batched "
            f"{bb.p50_ms:.3f} - unbatched {b.p50_ms:.3f} = {overhead:.3f} ms (goal < {GOAL_BATCHED_OVERHEAD_MS:g} ms); "
            f"{anchor(1, 'p50')}"
        )


# ---------------------------------------------------------------------------------------------


def default_serve() -> str:
    beside = Path(sys.executable).parent / "serve"
    return str(beside) if beside.exists() else (shutil.which("serve") or str(beside))


def ensure_legacy_venv(venv: Path) -> str | None:
    if (venv / "bin" / "serve").exists() and (venv / "wheelhouse").is_dir():
        return None
    print(f"building the sagemaker-containers venv at {venv} (serving_support/legacy_venv.sh) ...", flush=True)
    env = {**os.environ, "LEGACY_SERVING_VENV": str(venv)}
    result = subprocess.run(["bash", str(SUPPORT / "legacy_venv.sh")], env=env)
    if result.returncode != 0 or not (venv / "bin" / "serve").exists():
        return f"legacy_venv.sh failed with {result.returncode}"
    return None


def openblas_core(python: str, extra_env: dict[str, str] | None = None) -> str:
    env = {**os.environ, **(extra_env or {})}
    try:
        result = subprocess.run(
            [python, "-c", OPENBLAS_CORE_PROBE], env=env, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def legacy_openblas_env(choice: str, legacy_python: str) -> dict[str, str]:
    """OPENBLAS_CORETYPE for (c) and (a').

    numpy<2 bundles OpenBLAS 0.3.23, whose CPU detection can fail on newer (virtualised) Xeons
    and fall back to its generic "Prescott" kernel, 3-4x slower here than what numpy 2 picks on
    the same CPU. "auto" then gives the legacy venv the kernel this interpreter's numpy uses, so
    that (b)/(c) compares serving stacks rather than a BLAS CPU-detection bug; "off" leaves it.
    """
    if choice == "off":
        return {}
    if choice != "auto":
        return {"OPENBLAS_CORETYPE": choice}
    if os.environ.get("OPENBLAS_CORETYPE"):
        return {}
    legacy_core = openblas_core(legacy_python)
    our_core = openblas_core(sys.executable)
    if legacy_core.lower() == "prescott" and our_core and our_core.lower() != "prescott":
        return {"OPENBLAS_CORETYPE": our_core}
    return {}


def inprocess_in(python: Path, model_dir: Path, duration: float, extra_env: dict[str, str]) -> dict[int, dict]:
    """Run (a) under another interpreter (the legacy venv's), via this script's --inprocess-json."""
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--inprocess-json",
        str(model_dir),
        "--duration",
        str(duration),
    ]
    env = {**os.environ, **extra_env}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration * len(ROWS) * 3 + 120)
    if result.returncode != 0:
        print(f"(a') under {python} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return {}
    return {item["rows"]: item for item in json.loads(result.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve-command", default=default_serve(), help="our serve, stack (b) (default: %(default)s)")
    parser.add_argument(
        "--legacy-venv",
        type=Path,
        default=Path(os.environ.get("LEGACY_SERVING_VENV", "/tmp/legacy-serving-venv")),
        help="venv of sagemaker-containers 2.8.6.post2, stack (c); built by serving_support/legacy_venv.sh if missing",
    )
    parser.add_argument(
        "--serve-pythonpath", help="PYTHONPATH for our serve (to measure a checkout's code; default: unset)"
    )
    parser.add_argument("--stacks", default="a,b,c,t", help="which of a,b,c,t to run (default: %(default)s)")
    parser.add_argument("--no-batching", action="store_true", help="skip the batched servers (b+), (t+)")
    parser.add_argument("--batch-size", type=int, default=32, help="MAX_BATCH_SIZE of (b+) and (t+) (default 32)")
    parser.add_argument(
        "--batch-delay-ms", type=float, default=2.0, help="MAX_BATCH_DELAY_MS of (b+) and (t+) (default 2)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per point (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 s per point and a shorter warm-up")
    parser.add_argument("--rounds", type=int, default=1, help="measure every point this many times; report medians")
    parser.add_argument(
        "--workers", type=int, default=2, help="SAGEMAKER_MODEL_SERVER_WORKERS for (b) and (c) alike (default 2)"
    )
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk -t, capped at the connection count (default 1)")
    parser.add_argument(
        "--warmup", type=float, default=None, help="warm-up seconds per server and payload (default 3, --quick 1)"
    )
    parser.add_argument("--ping-timeout", type=float, default=120.0, help="seconds to wait for GET /ping == 200")
    parser.add_argument(
        "--legacy-openblas-coretype",
        default="auto",
        help="OPENBLAS_CORETYPE for (c): auto (undo numpy<2's generic 'Prescott' fallback), off, or a name",
    )
    parser.add_argument(
        "--blas-threads", type=int, help="set OPENBLAS/OMP/MKL_NUM_THREADS for (a), (b) and (c) alike (default: unset)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary dir (server logs) and print its path")
    parser.add_argument("--inprocess-json", type=Path, help=argparse.SUPPRESS)  # internal: (a) under another python
    args = parser.parse_args()
    if args.quick:
        args.duration = 3.0
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)

    if args.inprocess_json:
        print(json.dumps([bench_inprocess(args.inprocess_json, rows, args.duration) for rows in ROWS]))
        return 0

    if args.blas_threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)  # before numpy is imported; servers inherit it
    wanted = set(args.stacks.replace(" ", "").split(","))
    if wanted & {"b", "c"} and shutil.which("wrk") is None:
        print("wrk not found on PATH; install it (Debian/Ubuntu: apt-get install -y wrk)", file=sys.stderr)
        return 2

    import numpy as np

    model_module, inference = support_modules()
    root = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    stacks: list[Stack] = []
    tf_stacks = []
    tf_info: dict = {}
    inproc: dict[int, dict] = {}
    inproc_legacy: dict[int, dict] = {}
    legacy_blas: dict[str, str] = {}
    try:
        reference = model_module.save(root / "reference")
        mlp = inference.model_fn(str(reference.parent))
        arrays = {rows: model_module.payload(rows) for rows in ROWS}
        expected = {rows: inference.predict_fn(arrays[rows], mlp) for rows in ROWS}
        bodies = {rows: npy_bytes(arrays[rows]) for rows in ROWS}
        body_paths = {}
        for rows, body in bodies.items():
            body_paths[rows] = root / f"payload-{rows}.npy"
            body_paths[rows].write_bytes(body)
        script = root / "post.lua"
        script.write_text(WRK_SCRIPT)

        print(
            f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
            f"{args.duration:g} s per point, warm-up {warmup:g} s, workers {args.workers}, wrk -t<={args.wrk_threads}"
        )

        serve = shlex.split(args.serve_command)
        serve_found = bool(serve) and (Path(serve[0]).exists() or shutil.which(serve[0]) is not None)
        if "b" in wanted:
            if serve_found:
                stacks.append(our_stack(serve, root, args.workers, args.serve_pythonpath))
                if not args.no_batching:
                    stacks.append(
                        our_stack(serve, root, args.workers, args.serve_pythonpath, args.batch_size,
                                  args.batch_delay_ms)
                    )
            else:
                print(f"(b) not measured: no serve command at {args.serve_command}")
        if "c" in wanted:
            problem = ensure_legacy_venv(args.legacy_venv)
            if not problem and shutil.which("nginx") is None:
                problem = "nginx not on PATH (apt-get install -y nginx)"
            if problem:
                print(f"(c) not measured: {problem}")
            else:
                legacy_python = str(args.legacy_venv / "bin" / "python")
                legacy_blas = legacy_openblas_env(args.legacy_openblas_coretype, legacy_python)
                core = openblas_core(legacy_python, legacy_blas)
                how = f" (OPENBLAS_CORETYPE={legacy_blas['OPENBLAS_CORETYPE']})" if legacy_blas else ""
                ours = openblas_core(sys.executable) or "unknown"
                print(f"(c) legacy venv numpy OpenBLAS kernel: {core or 'unknown'}{how}; ours: {ours}")
                stacks.append(legacy_stack(args.legacy_venv, root, args.workers))
                stacks[-1].env.update(legacy_blas)

        for stack in stacks:
            print(f"starting {stack.label} on 127.0.0.1:{stack.port} ...", flush=True)
            t0 = time.monotonic()
            if start(stack, args.ping_timeout) and verify(stack, bodies, expected):
                print(f"  /ping 200 and NPY /invocations correct for 1 and 64 rows ({time.monotonic() - t0:.1f} s)")
            else:
                print(f"  {stack.label}: {stack.problem}\n{log_tail(stack)}")
                stop(stack)
        live = [stack for stack in stacks if not stack.problem]
        tf_stacks: list[Stack] = []
        tf_body = root / "tf-payload.json"
        if "t" in wanted and serve_found and not args.no_batching:
            tf_info, tf_stacks = start_tensorflow_stacks(serve, root, args, tf_body)
        live_tf = [stack for stack in tf_stacks if not stack.problem]

        if "a" in wanted:
            for rows in ROWS:
                inproc[rows] = bench_inprocess(reference.parent, rows, args.duration)
                print(
                    f"  (a) {rows:>2} rows: {inproc[rows]['rps']:.0f} req/s, p50 {inproc[rows]['p50_ms']:.3f} ms",
                    flush=True,
                )
            legacy_python = args.legacy_venv / "bin" / "python"
            if "c" in wanted and legacy_python.exists():
                inproc_legacy = inprocess_in(legacy_python, reference.parent, args.duration, legacy_blas)

        for stack in live:
            for rows in ROWS:
                wrk(stack.port, body_paths[rows], script, 8, warmup, args.wrk_threads)
        for stack in live_tf:
            wrk(stack.port, tf_body, script, TF_CLIENTS, warmup, args.wrk_threads, JSON)
        for round_ in range(1, args.rounds + 1):
            for rows in ROWS:
                for clients in CLIENTS:
                    for stack in live if round_ % 2 else live[::-1]:  # alternate who goes first
                        result = wrk(stack.port, body_paths[rows], script, clients, args.duration, args.wrk_threads)
                        stack.points.append(Point(stack.label, rows, clients, **result))
                        print(
                            f"  {f'[{round_}] ' if args.rounds > 1 else ''}{stack.label:26} {rows:>2} rows "
                            f"{clients:>2} clients: {result['rps']:8.1f} req/s, "
                            f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
                            + (f", {result['errors']} errors" if result["errors"] else ""),
                            flush=True,
                        )
            for stack in live_tf if round_ % 2 else live_tf[::-1]:
                before = server_buckets(stack.port)
                result = wrk(stack.port, tf_body, script, TF_CLIENTS, args.duration, args.wrk_threads, JSON)
                stack.points.append(Point(stack.label, 1, TF_CLIENTS, **result))
                after = server_buckets(stack.port)
                for name, key in SERVER_HISTOGRAMS.items():
                    if before.get(name) and after.get(name):
                        for pct in (50, 99):
                            figure = bucket_percentile(before[name], after[name], pct)
                            tf_info.setdefault(f"{stack.key} {key}_p{pct}_ms", []).append(figure)
                print(
                    f"  {f'[{round_}] ' if args.rounds > 1 else ''}{stack.label:26}  1 row  {TF_CLIENTS} clients: "
                    f"{result['rps']:8.1f} req/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
                    + (f", {result['errors']} errors" if result["errors"] else ""),
                    flush=True,
                )
    finally:
        for stack in [*stacks, *tf_stacks]:
            stop(stack)
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    report(inproc, inproc_legacy, stacks, args)
    batching_report(stacks, tf_stacks, tf_info, args)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "duration_s": args.duration,
                    "rounds": args.rounds,
                    "blas_threads": args.blas_threads,
                    "legacy_openblas": legacy_blas,
                    "workers": args.workers,
                    "inprocess": inproc,
                    "inprocess_legacy_venv": inproc_legacy,
                    "points": [vars(p) for s in [*stacks, *tf_stacks] for p in s.points],
                    "tensorflow_model": tf_info,
                    "problems": {s.label: s.problem for s in stacks if s.problem},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
