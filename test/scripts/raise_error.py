"""Prints a little, then raises: the failure file must carry the traceback's tail."""

import sys

print("starting")
print("about to fail", file=sys.stderr)
raise ValueError("boom: the learning rate is negative")
