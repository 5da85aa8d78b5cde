"""What a web process loads: not the PDF libraries (fpdf2 and fontTools weigh tens of MB in every
process that imports them; only the worker writes PDFs)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.database_independent]


def test_the_web_app_does_not_load_the_pdf_libraries():
    code = ("import sys; from app import create_app; create_app(); "
            "print(sorted(m for m in ('fpdf', 'fontTools') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
