"""Browser tests: Debian's Chromium driven by Playwright (sync API) against real gunicorn processes.

Chromium comes from the system (``apt-get install chromium``), not from ``playwright install``.
Without it the browser tests are skipped locally, and fail under CI (which installs it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


# -- what the browser complains about ---------------------------------------------------------
# A CSP violation is reported twice on purpose: Chromium's console line and the DOM event.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__reportCspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                              " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""
# htmx's console line for an out-of-band fragment whose target is not on the page names no
# fragment: this reports which one (a problem of its own, beside that line).
OOB_MISS_LISTENER = """
document.addEventListener("htmx:oobErrorNoTarget", function (e) {
  var content = e.detail && e.detail.content;
  window.__reportOobMiss("htmx:oobErrorNoTarget for " + (content && content.outerHTML ? content.outerHTML.slice(0, 300) : String(content)));
});
"""


@dataclass
class Problem:
    page: str
    kind: str          # console | pageerror | csp | oob
    text: str
    phase: str

    def __str__(self) -> str:
        return f"[{self.page}/{self.kind}/{self.phase}] {self.text}"


@dataclass
class BrowserProblems:
    """Console errors, uncaught exceptions and CSP violations of every watched page.

    ``phase`` is a label the test moves along (e.g. "kill-window") so that errors expected
    during a given window can be told from the others.
    """

    phase: str = "normal"
    problems: list[Problem] = field(default_factory=list)

    def watch(self, context, name: str):
        context.expose_binding("__reportCspViolation",
                               lambda source, text: self.problems.append(Problem(name, "csp", text, self.phase)))
        context.add_init_script(script=CSP_LISTENER)
        context.expose_binding("__reportOobMiss",
                               lambda source, text: self.problems.append(Problem(name, "oob", text, self.phase)))
        context.add_init_script(script=OOB_MISS_LISTENER)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(
            Problem(name, "console", f"{msg.text} ({msg.location.get('url', '')})", self.phase)))
        page.on("pageerror", lambda exc: self.problems.append(Problem(name, "pageerror", str(exc), self.phase)))
        return page

    def unexpected(self, allowed: dict[tuple[str, str], list[re.Pattern]] | None = None) -> list[Problem]:
        """Problems not matched by ``allowed[(page, phase)]`` patterns."""
        allowed = allowed or {}
        return [p for p in self.problems
                if not (p.kind == "console" and any(rx.search(p.text) for rx in allowed.get((p.page, p.phase), [])))]


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    """``new_context(**options)``: a fresh browser context (its own cookies), closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(locale="fr-FR", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def browser_problems():
    return BrowserProblems()


@pytest.fixture
def shot():
    """``shot(page, "name")`` saves ``screenshots/name.png`` (the folder is not versioned)."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
