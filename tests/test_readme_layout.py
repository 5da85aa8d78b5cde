"""The README's layout section names every module of the application, and nothing that is gone."""
import re
from pathlib import Path
import pytest

pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent


def _layout() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## What is where"):]
    return section[:section.index("\n## ", 1)]


def test_every_module_of_the_app_is_in_the_readme_layout():
    layout = _layout()
    missing = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "app").rglob("*.py"))
               if path.name != "__init__.py" and "translations" not in path.parts
               and not re.search(rf"(?<![\w.]){re.escape(path.stem)}(\.py|/|\b)", layout)]
    assert missing == []


def test_the_readme_layout_names_no_module_that_is_gone():
    layout = _layout()
    named = set(re.findall(r"(?<![\w.])([a-z_][\w.]*)\.py\b", layout))
    present = {path.stem for path in ROOT.rglob("*.py") if ".venv" not in path.parts and "node_modules" not in path.parts}
    assert sorted(named - present) == []
