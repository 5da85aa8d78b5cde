import calendar
from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC, the one time representation stored in every database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def epoch(value: datetime) -> float:
    """Seconds since 1970 of a stored (naive UTC) time. ``datetime.timestamp()`` would read a naive
    time as the machine's local time: where the clocks change, an hour a year would then run
    backwards (spring: 02:30 comes out later than 03:00)."""
    return whole_seconds(value) + value.microsecond / 1_000_000


def whole_seconds(value: datetime) -> int:
    """``epoch`` without the fraction of a second, exactly (no float)."""
    return calendar.timegm(value.utctimetuple())
