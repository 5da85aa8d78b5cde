"""The operations page in the browser: an admin finds a failed job with its error, sees a second
failure appear without reloading (the live part asks for itself every few seconds), opens a job's
traceback, and retries one; then the statistics page and its charts; on a phone the tables
scroll inside the page. No console error, no CSP violation."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from app.jobs import get_queue
from app.models import Role
from tests.support.browser import DESKTOP, admin_menu, PHONE, log_in, require_chromium
from tests.support.context import app_context
from tests.support.factories import make_user
from tests.support.jobs import fail_while
from tests.support.waiting import wait_until

require_chromium()


def failed_job(message: str, trouble: Path):
    """A job run by the real worker, which fails while ``trouble`` exists (and records its failure)."""
    trouble.touch()
    with app_context():
        job = get_queue("low").enqueue(fail_while, str(trouble), message, description=f"nightly report: {message}")
        wait_until(lambda: job.get_status(refresh=True) == "failed", timeout=20)
        return job


def test_an_admin_sees_failures_live_and_retries_one(new_context, browser_problems, shot, web_server, rq_worker,
                                                     tmp_path):
    make_user(Role.ADMIN, display_name="Ada", email="ada@example.test")
    first = failed_job("disk <full>", tmp_path / "disk-full")

    adm = browser_problems.watch(new_context(**DESKTOP), "admin")
    log_in(adm, web_server.url, "ada@example.test")
    admin_menu(adm, "/admin/operations")
    failed = adm.locator("table.ops-failed tbody")
    expect(failed).to_contain_text("nightly report: disk <full>")
    expect(failed).to_contain_text("RuntimeError: disk <full>")
    expect(adm.locator(".ops-alerts")).to_contain_text("more jobs failed than the target allows")

    failed_job("smtp timeout", tmp_path / "smtp-down")  # while the page is open
    expect(failed.locator("tr")).to_have_count(2, timeout=15_000)
    shot(adm, "operations_desktop")

    failed.locator("tr").filter(has_text="disk <full>").locator("a").click()
    expect(adm.locator("pre.ops-traceback")).to_contain_text("RuntimeError: disk <full>")
    (tmp_path / "disk-full").unlink()  # the admin freed some space
    adm.locator("form[action$='/retry'] button").click()
    expect(adm.locator("#flash")).to_contain_text("The job is back on its queue.")
    expect(failed.locator("tr")).to_have_count(1)
    expect(failed).not_to_contain_text("disk <full>")
    with app_context():
        wait_until(lambda: first.get_status(refresh=True) == "finished", timeout=20)  # it ran again, and did its work

    admin_menu(adm, "/admin/statistics")  # the reports page beside it
    expect(adm.locator(".stats-chart svg")).to_have_count(2)
    shot(adm, "statistics_desktop")

    phone = browser_problems.watch(new_context(**PHONE), "admin-phone")
    log_in(phone, web_server.url, "ada@example.test")
    phone.goto(web_server.url + "/admin/operations")
    expect(phone.locator("table.ops-failed")).to_contain_text("smtp timeout")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways page
    shot(phone, "operations_phone")
    phone.goto(web_server.url + "/admin/statistics")
    expect(phone.locator(".stats-chart svg")).to_have_count(2)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(phone, "statistics_phone")
