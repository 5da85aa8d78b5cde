"""The time filters format like Flask-Babel would (same text in every language, across DST
changes), without its per-call pattern formatting."""
from datetime import datetime

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
