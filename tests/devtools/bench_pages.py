"""A `make bench` page rendered from the smallest results dict, with only the parts a test sets."""

from __future__ import annotations

from typing import Any

from devtools.bench.report import render
from devtools.bench.run import config


def render_page(**parts: Any) -> str:
    results: dict[str, Any] = {
        "config": config(),
        "machine": {"CPUs (nproc)": "2"},
        "notes": [],
        "wall_minutes": 1.0,
        "latency": {},
        "steps": {},
        "sustained": {},
        "startup": {},
        "cost": {},
    }
    results.update(parts)
    return render(results)
