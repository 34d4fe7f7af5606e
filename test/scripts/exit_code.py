"""Exits with the code given by --code (default 3)."""

import argparse
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--code", type=int, default=3)
args = parser.parse_args()
print(f"exiting with {args.code}", file=sys.stderr)
sys.exit(args.code)
