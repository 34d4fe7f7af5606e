"""Media types: parsing `Content-Type` and negotiating `Accept` with quality values."""

from __future__ import annotations

NPY = "application/x-npy"
JSON = "application/json"
CSV = "text/csv"
JSON_LINES = "application/jsonlines"
ANY = "*/*"
#: Types whose bodies reach `input_fn` as text, as in the SageMaker toolkits.
TEXT_TYPES = frozenset({JSON, CSV, JSON_LINES, "application/jsonl", "application/x-jsonlines"})
#: Aliases clients send for JSON Lines.
JSON_LINES_ALIASES = frozenset({JSON_LINES, "application/jsonl", "application/x-jsonlines", "application/jsons"})


def media_type(header: str | None) -> str:
    """`Application/JSON; charset=utf-8` becomes `application/json`; empty stays empty."""
    if not header:
        return ""
    return header.split(";", 1)[0].strip().lower()


def parse_accept(header: str | None) -> list[str]:
    """Media ranges in order of preference (quality, then position); q=0 ranges are dropped."""
    if not header or not header.strip():
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        pieces = part.split(";")
        name = pieces[0].strip().lower()
        if not name:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, name))
    return [name for _, _, name in sorted(ranked)]


def negotiate(accepted: list[str], supported: tuple[str, ...], default: str) -> str | None:
    """The first supported type the client accepts; the default when it accepts anything."""
    if not accepted:
        return default
    for wanted in accepted:
        if wanted == ANY:
            return default
        if wanted.endswith("/*"):
            prefix = wanted[:-1]
            if default.startswith(prefix):
                return default
            for candidate in supported:
                if candidate.startswith(prefix):
                    return candidate
        elif wanted in supported:
            return wanted
    return None
