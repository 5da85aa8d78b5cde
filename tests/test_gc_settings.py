"""The web workers' garbage-collection settings (gunicorn.conf.py)."""
from __future__ import annotations

import runpy

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.database_independent

gc_thresholds = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["gc_thresholds"]


def test_young_collections_are_rarer_than_cpythons_by_default():
    assert gc_thresholds({}) == (10000, 10, 10)
    assert gc_thresholds({"GC_GEN0_THRESHOLD": ""}) == (10000, 10, 10)


def test_the_threshold_is_a_setting():
    assert gc_thresholds({"GC_GEN0_THRESHOLD": "700"}) == (700, 10, 10)


@pytest.mark.parametrize("raw", ["ten", "1.5", "0", "-3"])
def test_a_bad_threshold_stops_the_start_with_a_clear_message(raw):
    with pytest.raises(RuntimeError, match="GC_GEN0_THRESHOLD"):
        gc_thresholds({"GC_GEN0_THRESHOLD": raw})
