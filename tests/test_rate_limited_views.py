"""Flask-Limiter checks only the views listed in ``RATE_LIMITED_VIEWS`` (a request filter skips
the others): every view decorated with ``@limiter.limit`` must be listed, or its limit would
silently never apply."""
import re
from pathlib import Path

from app.extensions import RATE_LIMITED_VIEWS

BLUEPRINTS = Path(__file__).resolve().parent.parent / "app" / "blueprints"
DECORATED = re.compile(r"^@limiter\.limit\((?:.|\n)*?^def (\w+)\(", re.M)


def test_every_view_with_a_limit_is_checked():
    decorated = {f"{module.parent.name}.{name}"  # every module of a blueprint (routes.py, account.py…)
                 for module in BLUEPRINTS.glob("*/*.py")
                 for name in DECORATED.findall(module.read_text())}
    assert "auth.login" in decorated  # the pattern finds the decorated views
    assert decorated == RATE_LIMITED_VIEWS
