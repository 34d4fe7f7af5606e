"""Fetching, unpacking, installing and starting the user's code."""
