"""Latency figures of a run: nearest-rank percentiles, so every benchmark summarises alike."""
from __future__ import annotations


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def latency_summary(values_ms: list[float]) -> dict:
    """Count, p50, p95, p99, max and mean of ``values_ms``, rounded to the hundredth."""
    v = sorted(values_ms)
    r = lambda x: None if x is None else round(x, 2)  # noqa: E731
    return {"count": len(v), "p50_ms": r(percentile(v, 50)), "p95_ms": r(percentile(v, 95)),
            "p99_ms": r(percentile(v, 99)), "max_ms": r(v[-1] if v else None),
            "mean_ms": r(sum(v) / len(v) if v else None)}
