"""Batch transform throughput: a local transform job against calling the model in this process.

The model is the serving benchmark's 784-1000-1000-10 numpy float32 MLP
(benchmarks/serving_support/model.py, user module serving_support/inference.py). The data set is
--rows CSV rows of 784 values ("%.3f"), in --files files of equal size.

  (a) in-process: for the same request bodies the job sends (the same MultiRecord batching at
      --max-payload MB), decode the CSV with serve's own codec, predict_fn, encode the answer as
      CSV with the same codec, in one Python thread. Measured on the first file's batches (the
      files are alike), in this run, so the machine's state hits both alike.
  (b) the transform job: `run_transform_job` starts an endpoint (the runtime's `serve`, process
      backend, --concurrency workers and concurrent requests), splits every file by Line, sends
      MultiRecord batches of up to --max-payload MB, and writes <file>.out; endpoint start and
      stop are included.

Goal (from the issue), printed as one PASS/FAIL line; the exit status is 0 either way:
  * (b) rows/s >= 0.7 x (a) rows/s.

BLAS threads: --blas-threads N sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS for
this process (and so for the endpoint it starts), alike for (a) and (b); by default numpy picks.

    python benchmarks/transform.py                   # 200,000 rows (about 800 MB of CSV)
    python benchmarks/transform.py --rows 20000      # a quick look
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent / "serving_support"
GOAL_RATIO = 0.7
CSV = "text/csv"


def support_modules():
    if str(SUPPORT) not in sys.path:
        sys.path.insert(0, str(SUPPORT))
    import inference
    import model

    return model, inference


def make_model(root: Path) -> tuple[Path, Path]:
    """(model.tar.gz with model.npz, the code dir with inference.py)."""
    model_module, _ = support_modules()
    weights = model_module.save(root / "weights")
    archive = root / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(weights, arcname="model.npz")
    code = root / "code"
    code.mkdir()
    shutil.copy(SUPPORT / "inference.py", code / "inference.py")
    return archive, code


def make_data(root: Path, rows: int, files: int) -> list[Path]:
    """`files` CSV files of rows // files rows each (the same text in each: only speed is measured)."""
    import numpy as np

    model_module, _ = support_modules()
    per_file = rows // files
    buffer = io.BytesIO()
    np.savetxt(buffer, model_module.payload(per_file, seed=1), delimiter=",", fmt="%.3f")
    text = buffer.getvalue()
    data = root / "data"
    data.mkdir()
    paths = []
    for index in range(files):
        path = data / f"part-{index:03d}.csv"
        path.write_bytes(text)
        paths.append(path)
    return paths


def bench_inprocess(model_dir: Path, path: Path, max_payload_mb: int) -> dict:
    """Rows per second of decode -> predict_fn -> encode over the job's own batches of `path`."""
    from container_runtime.local.transform.options import MIB
    from container_runtime.local.transform.records import batches, split_records
    from container_runtime.serving import codecs

    _, inference = support_modules()
    mlp = inference.model_fn(str(model_dir))
    bodies = [(batch.body, len(batch.records)) for batch in batches(
        0, str(path), split_records(path, "Line"), split_type="Line", strategy="MultiRecord",
        max_payload_bytes=max_payload_mb * MIB)]
    codecs.encode(inference.predict_fn(codecs.decode(bodies[0][0], CSV), mlp), CSV)  # warm up
    rows = 0
    predict_seconds = 0.0
    started = time.perf_counter()
    for body, count in bodies:
        data = codecs.decode(body, CSV)
        before = time.perf_counter()
        prediction = inference.predict_fn(data, mlp)
        predict_seconds += time.perf_counter() - before
        codecs.encode(prediction, CSV)
        rows += count
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "batches": len(bodies),
            "predict_only_rows_per_s": rows / predict_seconds}


def bench_transform(root: Path, archive: Path, code: Path, data: Path, args: argparse.Namespace) -> dict:
    from container_runtime.local.transform.job import TransformJobSpec, run_transform_job
    from container_runtime.local.transform.options import check_options

    options = check_options(strategy="MultiRecord", max_payload=args.max_payload,
                            max_concurrent_transforms=args.concurrency, split_type="Line", assemble_with="Line",
                            content_type=CSV, accept=CSV)
    spec = TransformJobSpec(model_data=str(archive), data=str(data), output_path=str(root / "out"),
                            options=options, entry_point="inference.py", source_dir=code,
                            endpoints_dir=root / "endpoints", job_name="bench-transform")
    started = time.perf_counter()
    result = run_transform_job(spec, console=sys.stdout)
    seconds = time.perf_counter() - started
    return {"rows": result.records, "seconds": seconds, "rows_per_s": result.records / seconds,
            "files": len(result.outputs)}


def check_outputs(root: Path, model_dir: Path, first: Path) -> bool:
    """The first file's answers match predict_fn on its rows."""
    import numpy as np

    _, inference = support_modules()
    mlp = inference.model_fn(str(model_dir))
    rows = np.loadtxt(first, delimiter=",", dtype=np.float32, max_rows=50)
    answers = np.loadtxt(root / "out" / f"{first.name}.out", delimiter=",", max_rows=50)
    return bool(np.allclose(answers, inference.predict_fn(rows, mlp), rtol=1e-3, atol=1e-3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--max-payload", type=int, default=6, metavar="MB")
    parser.add_argument("--concurrency", type=int, default=1, help="serve workers and requests at once")
    parser.add_argument("--blas-threads", type=int)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.blas_threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)
    with tempfile.TemporaryDirectory(prefix="transform-bench-") as temporary:
        root = Path(temporary)
        os.environ["CONTAINER_RUNTIME_HOME"] = str(root / "home")
        archive, code = make_model(root)
        started = time.perf_counter()
        files = make_data(root, args.rows, args.files)
        size = sum(path.stat().st_size for path in files)
        print(f"data: {args.rows} rows in {len(files)} files, {size / 1e6:.0f} MB of CSV "
              f"(made in {time.perf_counter() - started:.1f} s)")
        inprocess = bench_inprocess(root / "weights", files[0], args.max_payload)
        print(f"(a) in-process: {inprocess['rows_per_s']:.0f} rows/s over {inprocess['batches']} batches "
              f"(predict_fn alone: {inprocess['predict_only_rows_per_s']:.0f} rows/s)")
        transform = bench_transform(root, archive, code, root / "data", args)
        print(f"(b) transform job: {transform['rows_per_s']:.0f} rows/s ({transform['rows']} rows in "
              f"{transform['seconds']:.1f} s, endpoint start and stop included)")
        correct = check_outputs(root, root / "weights", files[0])
    ratio = transform["rows_per_s"] / inprocess["rows_per_s"]
    ok = correct and transform["rows"] == len(files) * (args.rows // args.files) and ratio >= GOAL_RATIO
    print(f"{'PASS' if ok else 'FAIL'}  transform of {transform['rows']} CSV rows: (b) {transform['rows_per_s']:.0f} "
          f"rows/s vs (a) in-process {inprocess['rows_per_s']:.0f} rows/s on the same {args.max_payload} MB batches "
          f"= {ratio:.2f} (goal >= {GOAL_RATIO}; answers {'correct' if correct else 'WRONG'})")
    if args.json:
        args.json.write_text(json.dumps({"inprocess": inprocess, "transform": transform, "ratio": ratio,
                                         "concurrency": args.concurrency, "max_payload_mb": args.max_payload}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
