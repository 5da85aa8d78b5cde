"""A photo as people send it: a client on a phone picks one with the file picker, adds a caption
and sends; the upload's progress shows, the bubble shows a placeholder, and once the real RQ
worker has made the sizes both sides see the thumbnail without a reload. The moderator (desktop)
opens it in the lightbox, then answers with a photo of their own, which the client opens on the
phone. No console error, no CSP violation."""
from __future__ import annotations

import re

from PIL import Image, ImageDraw
from playwright.sync_api import expect

from app.models import Role
from tests.support.browser import DESKTOP, LIVE, PHONE, is_online, log_in, require_chromium, type_and_send
from tests.support.factories import make_profile, make_user
from tests.support.waiting import wait_until

require_chromium()

PUSH_TIMEOUT = 20_000  # the worker's first job imports the app


def beach(path, size=(2400, 1800), orientation: int = 1):
    """A JPEG that reads as a picture: sky, sea, sand and a sun."""
    width, height = size
    image = Image.new("RGB", size, (120, 180, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 0.55, width, height * 0.8), fill=(30, 90, 160))
    draw.rectangle((0, height * 0.8, width, height), fill=(230, 205, 150))
    draw.ellipse((width * 0.7, height * 0.1, width * 0.85, height * 0.3), fill=(255, 220, 80))
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, "JPEG", quality=88, exif=exif)
    return path


def loaded(image_locator) -> bool:
    return image_locator.evaluate("img => img.complete && img.naturalWidth > 0")


def pick_photo(page, path, *, touch: bool = False) -> None:
    """Press the composer's photo button and choose the file in the picker, like a person."""
    with page.expect_file_chooser() as chooser:
        button = page.locator("form[data-send-form] .photo-pick")
        button.tap() if touch else button.click()
    chooser.value.set_files(str(path))


def test_a_photo_goes_from_the_picker_to_both_sides_and_opens_in_the_lightbox(
        new_context, browser_problems, shot, web_server, rq_worker, tmp_path):
    moderator = make_user(Role.MODERATOR, display_name="Inès")
    client = make_user(display_name="Julien", locale="fr")
    profile = make_profile("Léa", 27)

    mod = browser_problems.watch(new_context(**DESKTOP), "moderator")
    log_in(mod, web_server.url, moderator.email)
    expect(mod.locator("body")).to_have_class(LIVE)
    wait_until(lambda: is_online(moderator.id))

    cli = browser_problems.watch(new_context(**PHONE), "client")
    log_in(cli, web_server.url, client.email, touch=True)
    cli.goto(f"{web_server.url}/profiles/{profile.id}")
    expect(cli.locator("body")).to_have_class(LIVE)
    type_and_send(cli, "bonjour", touch=True)

    entry = mod.locator("#conversation-list li.conv")
    expect(entry).to_have_count(1)
    entry.locator("a").click()
    conversation_id = int(entry.get_attribute("data-conversation-id"))
    mod_messages = mod.locator(f"#messages-c{conversation_id}")
    expect(mod_messages.locator(".msg")).to_have_count(1)

    # The client picks a photo (a camera's, stored sideways), adds a caption and sends it.
    pick_photo(cli, beach(tmp_path / "IMG_2041.JPG", orientation=6), touch=True)
    status = cli.locator("[data-photo-status]")
    expect(status).to_be_visible()
    expect(status).to_contain_text("IMG_2041.JPG")
    shot(cli, "photo_chosen_phone")
    cli.evaluate("""() => { window.__progress = [];
        document.addEventListener("htmx:xhr:progress", () => window.__progress.push(
            document.querySelector("[data-photo-progress]").value)); }""")
    type_and_send(cli, "la plage", touch=True)

    client_messages = cli.locator(f"#messages-p{profile.id}")
    sent = client_messages.locator(".msg.mine").filter(has_text="la plage")
    expect(sent).to_have_count(1)
    shot(cli, "photo_just_sent_phone")  # the placeholder, unless the worker was quicker
    expect(status).to_be_hidden()  # sent: the picker is empty again
    assert cli.evaluate("window.__progress.length") > 0 and cli.evaluate("Math.max(...window.__progress)") == 100

    # The moderator sees the bubble at once, then the thumbnail replaces the placeholder: both sides.
    received = mod_messages.locator(".msg.theirs").filter(has_text="la plage")
    expect(received).to_have_count(1)
    mod_thumb = received.locator("figure.photo-ready img")
    expect(mod_thumb).to_be_visible(timeout=PUSH_TIMEOUT)
    cli_thumb = sent.locator("figure.photo-ready img")
    expect(cli_thumb).to_be_visible(timeout=PUSH_TIMEOUT)
    wait_until(lambda: loaded(mod_thumb) and loaded(cli_thumb))
    width, height = mod_thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert height > width  # stood up by its EXIF orientation
    shot(mod, "photo_received_desktop")
    shot(cli, "photo_sent_phone")

    # The moderator opens it: the lightbox shows the display size; Escape closes it.
    mod_thumb.click()
    box = mod.locator("dialog#lightbox")
    expect(box).to_be_visible()
    wait_until(lambda: loaded(box.locator("img")))
    assert box.locator("img").evaluate("img => img.naturalHeight") > height
    shot(mod, "photo_lightbox_desktop")
    mod.keyboard.press("Escape")
    expect(box).to_be_hidden()

    # The moderator answers with a photo (no caption, Enter sends it); the client opens it on the phone.
    pick_photo(mod, beach(tmp_path / "answer.png.jpg", size=(1200, 900)))
    mod.locator("form[data-send-form] textarea").click()
    mod.keyboard.press("Enter")
    answer = client_messages.locator(".msg.theirs figure.photo-ready img")
    expect(answer).to_be_visible(timeout=PUSH_TIMEOUT)
    wait_until(lambda: loaded(answer))
    shot(cli, "photo_answer_phone")
    answer.tap()
    phone_box = cli.locator("dialog#lightbox")
    expect(phone_box).to_be_visible()
    wait_until(lambda: loaded(phone_box.locator("img")))
    shot(cli, "photo_lightbox_phone")
    phone_box.locator("button").tap()
    expect(phone_box).to_be_hidden()

    # A file that is no image is refused in the composer, translated (the client reads French).
    browser_problems.phase = "refused"
    pick_photo(cli, _pdf(tmp_path / "vacances.jpg"), touch=True)
    type_and_send(cli, "et ça ?", touch=True)
    expect(cli.locator("#send-error")).to_contain_text("Ce fichier n'est pas une image", timeout=10_000)
    shot(cli, "photo_refused_phone")

    refused = [re.compile(r"status of 400"), re.compile(r"Response Status Error Code 400 from /profiles/")]
    assert browser_problems.unexpected({("client", "refused"): refused}) == []


def _pdf(path):
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return path
