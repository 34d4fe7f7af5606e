#!/usr/bin/env python
"""Benchmark `pack_directory` against `tarfile.open(out, "w:gz")` on model-like weights.

Why: tarfile's default gzip level 9 runs at ~1 MB/s on bf16-style float32 weights, so a
500 MB model takes ~9 minutes to pack. `pack_directory` must be at least 5x faster.

For each data set (random normal(0, 0.02) float32, and "bf16-style" float32 whose low 16
mantissa bits are zero) it writes a model dir of raw float32 shards in a temp dir, reads
it once so it is page-cached, then times in this process:

* `pack_directory(..., prefer_isal=True)`  (ISA-L igzip level 1)
* `pack_directory(..., prefer_isal=False)` (stdlib zlib level 1, the fallback)
* the baseline `tarfile.open(out, "w:gz")` at its default level 9, on a prefix sample of
  `--baseline-mb` of the same data, because on the full size it takes minutes.

Throughput is input MB (10^6 bytes) per wall-clock second. Usage:

    python benchmarks/artifacts.py --size-mb 500     # the reference run
    python benchmarks/artifacts.py --quick           # 20 MB, baseline 10 MB: a smoke test

Exit status 0 when every data set meets the goal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from container_runtime.artifacts import pack_directory  # noqa: E402

MB = 1_000_000
GOAL = 5.0
DATA_SETS = ("random", "bf16")
#: Floats generated per numpy call: 16 MB at a time keeps memory flat at any size.
GEN_FLOATS = 4 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One timed run."""

    data_set: str
    method: str
    bytes_in: int
    bytes_out: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes_in / MB / self.seconds if self.seconds > 0 else float("inf")


def write_model(root: Path, data_set: str, size: int, shard: int, seed: int) -> None:
    """Write `size` bytes of float32 weights as shards, plus a small config.json."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    n_shards = max(1, -(-size // shard))
    left = size
    for i in range(n_shards):
        shard_bytes = min(shard, left)
        left -= shard_bytes
        with open(root / f"model-{i + 1:05d}-of-{n_shards:05d}.bin", "wb") as f:
            floats_left = shard_bytes // 4
            while floats_left > 0:
                n = min(GEN_FLOATS, floats_left)
                block = rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)
                if data_set == "bf16":
                    bits = block.view(np.uint32)
                    bits &= np.uint32(0xFFFF0000)
                f.write(block.tobytes())
                floats_left -= n
    config = {"model_type": "bench", "dtype": "float32", "data_set": data_set}
    (root / "config.json").write_text(json.dumps(config, indent=2))


def write_prefix_sample(model: Path, sample: Path, size: int) -> None:
    """Copy the first `size` bytes of the model's shards (in name order) into `sample`,
    keeping the file names; small files such as config.json are copied whole."""
    sample.mkdir(parents=True)
    left = size
    for path in sorted(model.iterdir()):
        if path.suffix != ".bin":
            (sample / path.name).write_bytes(path.read_bytes())
            continue
        if left <= 0:
            continue
        with open(path, "rb") as src, open(sample / path.name, "wb") as dst:
            todo = min(left, path.stat().st_size)
            left -= todo
            while todo > 0:
                chunk = src.read(min(todo, 16 * MB))
                if not chunk:
                    break
                dst.write(chunk)
                todo -= len(chunk)


def warm_page_cache(*roots: Path) -> None:
    """Flush dirty pages and read every file once, so runs measure compression, not disk."""
    os.sync()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                with open(path, "rb") as f:
                    while f.read(16 * MB):
                        pass


def tree_bytes(root: Path) -> int:
    """Total size of the regular files under `root`."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def time_pack(data_set: str, model: Path, out: Path, *, prefer_isal: bool) -> Row:
    """Time `pack_directory` once; the archive is deleted afterwards."""
    started = time.perf_counter()
    result = pack_directory(model, out, prefer_isal=prefer_isal)
    seconds = time.perf_counter() - started
    out.unlink()
    if result.skipped:
        raise SystemExit(f"unexpected skipped entries: {result.skipped}")
    method = f"pack_directory {result.compressor} level 1"
    return Row(data_set, method, result.bytes_in, result.bytes_out, seconds)


def time_baseline(data_set: str, sample: Path, out: Path) -> Row:
    """Time tarfile's own gzip writer at its default level (9) on the sample."""
    started = time.perf_counter()
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(sample.iterdir()):
            tar.add(path, arcname=path.name)
    seconds = time.perf_counter() - started
    bytes_out = out.stat().st_size
    out.unlink()
    return Row(data_set, "tarfile w:gz default (9) [sample]", tree_bytes(sample), bytes_out, seconds)


def run_data_set(data_set: str, workdir: Path | None, size: int, baseline: int, shard: int, seed: int) -> list[Row]:
    """Build one data set in a temp dir and time the three methods on it."""
    with tempfile.TemporaryDirectory(prefix=f"bench-artifacts-{data_set}-", dir=workdir) as tmp:
        root = Path(tmp)
        model, sample, out = root / "model", root / "sample", root / "model.tar.gz"
        print(f"[{data_set}] writing {size / MB:.0f} MB of weights ...", file=sys.stderr)
        write_model(model, data_set, size, shard, seed)
        write_prefix_sample(model, sample, baseline)
        warm_page_cache(model, sample)
        rows = []
        for prefer_isal in (True, False):
            print(f"[{data_set}] pack_directory prefer_isal={prefer_isal} ...", file=sys.stderr)
            rows.append(time_pack(data_set, model, out, prefer_isal=prefer_isal))
        print(f"[{data_set}] baseline on {baseline / MB:.0f} MB ...", file=sys.stderr)
        rows.append(time_baseline(data_set, sample, out))
        return rows


def print_report(rows: list[Row], baseline_mb: float) -> bool:
    """Print the table and the goal check; return whether every data set passes."""
    header = f"{'data set':<9} {'method':<35} {'MB':>7} {'seconds':>8} {'MB/s':>8} {'out/in':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.data_set:<9} {r.method:<35} {r.bytes_in / MB:>7.1f} {r.seconds:>8.2f} "
            f"{r.mb_per_s:>8.1f} {r.bytes_out / r.bytes_in:>7.3f}"
        )
    print(
        f"[sample] the baseline ran on the first {baseline_mb:.0f} MB of the same data: "
        "at level 9 the full size would take minutes (bf16-style: ~1 MB/s)."
    )
    print(f"\nspeedup = pack_directory isal MB/s / baseline MB/s (goal >= {GOAL:.0f}x)")
    ok = True
    for data_set in dict.fromkeys(r.data_set for r in rows):
        fast = next(r for r in rows if r.data_set == data_set and "pack_directory" in r.method)
        base = next(r for r in rows if r.data_set == data_set and "[sample]" in r.method)
        ratio = fast.mb_per_s / base.mb_per_s
        passed = ratio >= GOAL and "isal" in fast.method
        ok &= passed
        note = "" if "isal" in fast.method else "  (isal not installed: fell back to zlib)"
        print(f"  {data_set:<9} {ratio:>7.1f}x  {'PASS' if passed else 'FAIL'}{note}")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every data set, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=500, help="model size (default 500)")
    parser.add_argument(
        "--baseline-mb",
        type=float,
        default=50,
        help="prefix of the same data the slow baseline packs (default 50)",
    )
    parser.add_argument("--shard-mb", type=float, default=100, help="shard size (default 100)")
    parser.add_argument("--quick", action="store_true", help="20 MB, baseline 10 MB")
    parser.add_argument(
        "--data-set", choices=DATA_SETS, action="append", help="run only this data set (repeatable; default: all)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to write the temp model dirs (default: system temp)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mb, args.baseline_mb = 20.0, 10.0
    size = int(args.size_mb * MB) // 4 * 4
    baseline = min(size, int(args.baseline_mb * MB) // 4 * 4)
    shard = max(4, int(args.shard_mb * MB) // 4 * 4)

    try:
        import isal

        isal_version = str(isal.__version__)
    except ImportError:
        isal_version = "not installed"
    print(
        f"python {platform.python_version()}, isal {isal_version}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs; model {size / MB:.0f} MB in {shard / MB:.0f} MB shards, "
        f"baseline sample {baseline / MB:.0f} MB\n"
    )
    rows: list[Row] = []
    for data_set in args.data_set or DATA_SETS:
        rows += run_data_set(data_set, args.workdir, size, baseline, shard, args.seed)
    return 0 if print_report(rows, baseline / MB) else 1


if __name__ == "__main__":
    sys.exit(main())
