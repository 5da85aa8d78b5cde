"""Every user-facing string is translated in each UI language, placeholders intact."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

pytestmark = [pytest.mark.slow, pytest.mark.database_independent]

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def text(entry) -> str:
    """Plural entries are tuples of forms."""
    return " ".join(entry) if isinstance(entry, (tuple, list)) else entry


def placeholders(entry) -> set[str]:
    return set(PLACEHOLDER.findall(text(entry)))


@pytest.mark.parametrize("lang", ["fr", "en", "es", "de"])
def test_catalog_is_complete(lang, tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-o", str(pot), "--no-location", "."], cwd=ROOT, check=True,
                   capture_output=True)
    with open(pot, "rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with open(ROOT / "app" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = {m.id: m.string for m in read_po(f, locale=lang) if m.id}
    missing = sorted(map(text, (i for i in wanted if not catalog.get(i) or not all(
        [catalog[i]] if isinstance(catalog[i], str) else catalog[i]))))
    assert not missing, f"untranslated in {lang}: {missing}"
    broken = [text(i) for i in wanted if placeholders(i) != placeholders(catalog[i])]
    assert not broken, f"placeholders changed in {lang}: {broken}"


# -- stored codes shown on pages ---------------------------------------------------------------
# Every value the app stores for these columns, and the template global that shows it.
def stored_values() -> dict[str, tuple[dict, list[str]]]:
    from app.models import (CLIENT_LOCK_REASONS, CONFLICT_KINDS, FILTER_ACTIONS, FILTER_KINDS, FILTER_LANGUAGES,
                            MODERATION_ACTIONS, PROFILE_LOCK_TYPES, REPORT_DECISIONS, REPORT_KINDS, REPORT_REASONS,
                            REPORT_STATES, SANCTION_KINDS, ChangeReason)
    from app.web.templating import (CONFLICT_LABELS, FILTER_LABELS, LOCK_LABELS, MODERATION_ACTION_LABELS,
                                    REASON_LABELS, REPORT_DECISION_LABELS, REPORT_KIND_LABELS, REPORT_OUTCOME_LABELS,
                                    REPORT_REASON_LABELS, REPORT_STATE_LABELS, SANCTION_LABELS)

    return {
        "reason_label": (REASON_LABELS, [reason.value for reason in ChangeReason]),
        "lock_label": (LOCK_LABELS, [*PROFILE_LOCK_TYPES, *CLIENT_LOCK_REASONS]),
        "conflict_label": (CONFLICT_LABELS, list(CONFLICT_KINDS)),
        "sanction_label": (SANCTION_LABELS, list(SANCTION_KINDS)),
        "moderation_action_label": (MODERATION_ACTION_LABELS, list(MODERATION_ACTIONS)),
        "filter_label": (FILTER_LABELS, [*FILTER_KINDS, *FILTER_ACTIONS, *FILTER_LANGUAGES]),
        "report_kind_label": (REPORT_KIND_LABELS, list(REPORT_KINDS)),
        "report_reason_label": (REPORT_REASON_LABELS, list(REPORT_REASONS)),
        "report_state_label": (REPORT_STATE_LABELS, list(REPORT_STATES)),
        "report_decision_label": (REPORT_DECISION_LABELS, list(REPORT_DECISIONS)),
        "report_outcome_label": (REPORT_OUTCOME_LABELS, list(REPORT_DECISIONS)),
    }


def read_catalog(lang: str) -> dict:
    with open(ROOT / "app" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f, locale=lang) if m.id and not m.fuzzy}


@pytest.mark.parametrize("lang", ["fr", "es", "de"])
@pytest.mark.parametrize("global_name", ["reason_label", "lock_label", "conflict_label", "sanction_label",
                                         "moderation_action_label", "filter_label", "report_kind_label",
                                         "report_reason_label", "report_state_label", "report_decision_label",
                                         "report_outcome_label"])
def test_every_stored_code_has_a_label_translated_on_pages(app, global_name, lang):
    """Assignment reasons, lock types and reasons, conflict kinds: each stored value has a label,
    translated in each UI language other than English, and the page's template global shows
    that translation (not the code)."""
    from flask import render_template_string
    from flask_babel import force_locale
    from markupsafe import escape

    labels, values = stored_values()[global_name]
    unlabelled = [value for value in values if value not in labels]
    assert not unlabelled, f"{global_name}: no label for {unlabelled}"
    catalog = read_catalog(lang)
    msgids = {value: str(labels[value]) for value in values}  # no app context here: the English source text
    untranslated = [msgids[value] for value in values if not catalog.get(msgids[value])]
    assert not untranslated, f"{global_name}: untranslated in {lang}: {untranslated}"
    with app.test_request_context(), force_locale(lang):
        shown = {value: render_template_string("{{ %s(value) }}" % global_name, value=value) for value in values}
    assert shown == {value: str(escape(catalog[msgids[value]])) for value in values}


def test_the_codes_the_app_stores_are_the_listed_ones():
    """The lists the labels follow are complete: every conflict kind passed to
    ``conflicts.record`` and every lock type or client lock reason written by the app (call
    arguments, parameter defaults, column defaults) is listed."""
    import ast

    from app.models import CLIENT_LOCK_REASONS, CONFLICT_KINDS, PROFILE_LOCK_TYPES, ClientLock, ProfileLock
    from app.services import locks

    def strings(node) -> set[str]:
        return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}

    kinds, lock_types, client_reasons = set(), {ProfileLock.lock_type.default.arg, locks.ANSWERING}, \
        {ClientLock.lock_reason.default.arg}
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                owner = getattr(getattr(node.func, "value", None), "id", None)
                if name == "record" and owner == "conflicts" and node.args:
                    kinds |= strings(node.args[0])
                for keyword in node.keywords:
                    if name == "lock_profile" and keyword.arg == "lock_type":
                        lock_types |= strings(keyword.value)
                    if name == "lock_client" and keyword.arg == "reason":
                        client_reasons |= strings(keyword.value)
            if isinstance(node, ast.FunctionDef) and node.name in ("lock_profile", "lock_client"):
                defaults = dict(zip(reversed([a.arg for a in node.args.args]), reversed(node.args.defaults)))
                lock_types |= strings(defaults["lock_type"]) if "lock_type" in defaults else set()
                client_reasons |= strings(defaults["reason"]) if "reason" in defaults else set()
    assert {"claim_race", "double_approach"} <= kinds  # the scan sees the calls
    assert kinds <= set(CONFLICT_KINDS), f"conflict kinds not listed: {kinds - set(CONFLICT_KINDS)}"
    assert lock_types <= set(PROFILE_LOCK_TYPES), f"lock types not listed: {lock_types - set(PROFILE_LOCK_TYPES)}"
    assert client_reasons <= set(CLIENT_LOCK_REASONS), \
        f"client lock reasons not listed: {client_reasons - set(CLIENT_LOCK_REASONS)}"
