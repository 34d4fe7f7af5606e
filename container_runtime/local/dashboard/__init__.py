"""`container-runtime ui`: a local web dashboard over the same records the CLI reads.

    records.py   jobs, tuning jobs and endpoints as JSON-able dicts (a broken record is a row, not an error)
    files.py     serving only files inside the records' dirs
    server.py    the HTTP server: JSON routes, static pages, the per-run token for actions
    static/      the page, its script and style (nothing is loaded from the internet)

Nothing is imported here, so `container-runtime` stays cheap until `ui` runs.
"""
