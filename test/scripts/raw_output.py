"""Writes bytes that must reach the log unchanged: CR progress, ESC[J, invalid UTF-8."""

import os

os.write(1, b"progress 10%\rprogress 100%\r\n")
os.write(1, b"\x1b[Jepoch 1 loss 0.5\n")
os.write(2, b"stderr \xff\xfe bytes\n")
os.write(1, b"no newline at end")
