from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC, the one time representation stored in every database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
