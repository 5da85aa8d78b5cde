"""Every user-facing string is translated in each UI language, placeholders intact."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

pytestmark = pytest.mark.slow

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
