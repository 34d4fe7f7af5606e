"""The Branin-Hoo function as a "training job": takes --x1 and --x2, prints `branin = <value>`.

A standard test function for tuners (minimum 0.397887 at three points), cheap enough to run
hundreds of trials; `benchmarks/tuning.py` and the tuner's tests use it.
"""

import argparse
import math

parser = argparse.ArgumentParser()
parser.add_argument("--x1", type=float, required=True)  # in [-5, 10]
parser.add_argument("--x2", type=float, required=True)  # in [0, 15]
args, _ = parser.parse_known_args()
b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
value = (args.x2 - b * args.x1**2 + c * args.x1 - 6) ** 2 + 10 * (1 - t) * math.cos(args.x1) + 10
print(f"branin = {value:.6f}", flush=True)
