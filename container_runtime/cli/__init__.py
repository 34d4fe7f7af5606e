"""Console entry points. Only these modules exit the interpreter or install signal handlers."""
