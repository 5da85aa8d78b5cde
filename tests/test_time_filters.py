"""The time filters format like Flask-Babel would (same text in every language, across DST
changes), without its per-call pattern formatting."""
from datetime import datetime, timezone

import pytest
from flask_babel import force_locale, format_datetime

TIMES = [datetime(2026, 12, 3, 12, 0, 5), datetime(2026, 7, 1, 23, 59, 59),
         datetime(2026, 3, 29, 1, 30), datetime(2026, 10, 25, 0, 45)]   # winter, summer, both DST changes


@pytest.mark.parametrize("locale", ["fr", "en", "es", "de"])
def test_filters_match_babel(app, locale):
    with app.test_request_context("/"), force_locale(locale):
        filters = app.jinja_env.filters
        for value in TIMES:
            assert filters["when"](value) == format_datetime(value, "short")
            assert filters["time"](value) == format_datetime(value, "HH:mm")
        assert filters["when"](None) == filters["time"](None) == ""


@pytest.fixture
def machine_in_paris():
    """The process's local time zone set to one with clock changes (as on a laptop in France)."""
    import os
    import time

    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_stored_times_never_run_backwards_where_clocks_change(app, machine_in_paris):
    """Stored times are naive UTC: their versions (``rev``) and seconds (``epoch``, presence scores)
    follow them on any machine, also at 02:00-03:00 UTC on the day Paris moves its clocks forward."""
    from app.clock import epoch

    times = [datetime(2027, 3, 28, 1, 59, 59, 999999), datetime(2027, 3, 28, 2, 30),
             datetime(2027, 3, 28, 3, 0), datetime(2027, 10, 31, 2, 30), datetime(2027, 10, 31, 3, 0, 0, 1)]
    rev = app.jinja_env.filters["rev"]
    revs = [rev(t) for t in times]
    assert [int(r) for r in revs] == sorted(int(r) for r in revs)
    aware = datetime(2027, 3, 28, 2, 30, 0, 42, tzinfo=timezone.utc)
    assert rev(aware.replace(tzinfo=None)) == f"{int(aware.timestamp())}000042"
    assert [epoch(b) - epoch(a) for a, b in zip(times, times[1:])] == pytest.approx(
        [(b - a).total_seconds() for a, b in zip(times, times[1:])])
