"""Pure statistics of the benchmarks: medians, percentiles, backlog trend."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100), NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (units of y per unit of x); 0 for fewer than 2 points."""
    if len(points) < 2:
        return 0.0
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


# The backlog may grow by at most this fraction of the input rate and still count as flat:
# batches drain it in steps, so a short window never looks perfectly flat.
BACKLOG_GROWTH_TOLERANCE = 0.03
# The producer must reach this share of the asked rate for the step to say anything.
PRODUCER_RATE_TOLERANCE = 0.9


def sustained(rate: float, produced_rate: float, backlog_slope: float) -> tuple[bool, str]:
    """Is `rate` sustained: the producer kept up and the backlog did not grow? With a reason."""
    if produced_rate < PRODUCER_RATE_TOLERANCE * rate:
        return False, f"producer reached only {produced_rate:,.0f}/s"
    if backlog_slope > BACKLOG_GROWTH_TOLERANCE * rate:
        return False, f"backlog grew {backlog_slope:,.0f} posts/s"
    return True, "backlog flat"
