"""Exporting a conversation as a person does: a client (French, on a desktop, then on a phone)
opens the export panel in the conversation's header, asks for a PDF, sees it queued or being
prepared, then the download link arrives by push (no reload) from the real RQ worker; the file
they download is a PDF that parses and holds their conversation. No console error, no CSP
violation."""
from __future__ import annotations

import io

from playwright.sync_api import expect

from tests.support.browser import DESKTOP, LIVE, PHONE, log_in, require_chromium
from tests.support.history import long_conversation

require_chromium()

PUSH_TIMEOUT = 30_000  # the worker's first job imports the app

# Every state an export's entry showed, in order (the entry is replaced by each push).
WATCH_STATES = """() => {
  window.__exportStates = [];
  const seen = () => {
    const entry = document.querySelector(".export-list li.export");
    if (!entry) { return; }
    const state = [...entry.classList].find(c => c.startsWith("export-")) +
                  (entry.querySelector("progress") ? ":" + entry.querySelector("progress").value : "");
    if (window.__exportStates[window.__exportStates.length - 1] !== state) { window.__exportStates.push(state); }
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def test_a_client_exports_a_pdf_follows_it_and_downloads_it(new_context, browser_problems, shot, web_server,
                                                            rq_worker, tmp_path):
    from pypdf import PdfReader

    conversation = long_conversation(1500, client_locale="fr", profile_name="Léa")
    page = browser_problems.watch(new_context(accept_downloads=True, **DESKTOP), "client")
    log_in(page, web_server.url, conversation.client.email)
    page.goto(f"{web_server.url}/profiles/{conversation.profile.id}")
    expect(page.locator("body")).to_have_class(LIVE)

    panel = page.locator(f"#exports-c{conversation.conversation_id}")
    panel.locator("summary").click()
    form = panel.locator("form.export-form")
    expect(form).to_be_visible()
    expect(form.locator("input[value=pdf]")).to_be_checked()
    page.evaluate(WATCH_STATES)
    form.get_by_role("button", name="Préparer").click()

    entry = panel.locator(".export-list li.export").first
    expect(entry).to_be_visible()
    shot(page, "export_asked_desktop")
    link = entry.get_by_role("link", name="Télécharger")
    expect(link).to_be_visible(timeout=PUSH_TIMEOUT)
    states = page.evaluate("window.__exportStates")
    assert states[-1] == "export-ready", states
    assert states[0].split(":")[0] in ("export-queued", "export-running"), states
    assert any(state.startswith("export-running:") for state in states[:-1]), states  # its progress, pushed
    shot(page, "export_ready_desktop")

    with page.expect_download() as waiting:
        link.click()
    download = waiting.value
    assert download.suggested_filename.endswith(".pdf")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 10
    first = " ".join(reader.pages[0].extract_text().split())
    assert "Conversation entre Julien et Léa" in first and "message 001" in first
    assert "message 1500" in " ".join(reader.pages[-1].extract_text().split())

    # The same panel on a phone: it fits the screen, the export is listed with its link.
    phone = browser_problems.watch(new_context(**PHONE), "phone")
    log_in(phone, web_server.url, conversation.client.email, touch=True)
    phone.goto(f"{web_server.url}/profiles/{conversation.profile.id}")
    expect(phone.locator("body")).to_have_class(LIVE)
    phone_panel = phone.locator(f"#exports-c{conversation.conversation_id}")
    phone_panel.locator("summary").tap()
    expect(phone_panel.get_by_role("link", name="Télécharger")).to_be_visible()
    box = phone_panel.locator(".exports-body").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(phone, "export_panel_phone")
    assert browser_problems.unexpected() == []
