"""One concise log format for the runtime's own lines, kept apart from the script's output."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "container_runtime"
FORMAT = "%(asctime)s [runtime] %(levelname)s %(message)s"


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    return logger
