"""The PDF writer (fpdf2): DejaVu Sans embedded (``app/fonts``, subset to the characters used),
so accents, Greek and Cyrillic print as typed. What the font cannot draw is written legibly
instead of failing or printing blanks: an emoji as its name in brackets (``[grinning face]``),
any other character (Chinese, Japanese, Korean…) as ``□``. The CSV and JSON exports keep every
character as typed.

fpdf2 holds the document until it is written out: its memory grows with the PDF's size (the
text, compressed), not with the rows read, which come a chunk at a time like the other formats.

fpdf2 and fontTools are imported when a document is made (in the worker, by the export job), not
with this module: a web process imports it with the exports and never writes a PDF, and the two
libraries weigh tens of MB in every process that loads them.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from .formats import Header, Line

FONTS = Path(__file__).resolve().parents[2] / "fonts"
REGULAR, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
PLACEHOLDER = "□"
_INVISIBLE = {0x200D, 0xFE0E, 0xFE0F}  # joiners and variation selectors of emoji sequences


@lru_cache(maxsize=4)
def drawable(font: Path = REGULAR) -> frozenset[int]:
    """The code points the font has a glyph for."""
    from fontTools.ttLib import TTFont

    with TTFont(str(font), lazy=True) as ttf:
        return frozenset(ttf.getBestCmap()) - _INVISIBLE


def _stand_in(char: str) -> str:
    code = ord(char)
    if code in _INVISIBLE or 0x1F3FB <= code <= 0x1F3FF:  # skin tones: part of the emoji before
        return ""
    category = unicodedata.category(char)
    if category.startswith("C"):  # controls, unassigned, private use
        return ""
    if category == "So" or 0x1F000 <= code <= 0x1FAFF:
        name = unicodedata.name(char, "")
        return f"[{name.lower()}]" if name else PLACEHOLDER
    return PLACEHOLDER


def legible(text: str, glyphs: frozenset[int] | None = None) -> str:
    """``text`` with every character the font lacks replaced (see the module's docstring)."""
    glyphs = drawable() if glyphs is None else glyphs
    if all(ord(c) in glyphs or c == "\n" for c in text):
        return text
    return "".join(c if ord(c) in glyphs or c == "\n" else _stand_in(c) for c in text)


@dataclass(frozen=True)
class Labels:
    """The words of the document, in its owner's language, and how its times are shown."""
    title: str          # "Conversation between Alice and Camille"
    subtitle: str       # "Exported on 7 December 2026 at 09:30 · 1,204 messages"
    photo: str          # "[Photo]"
    page: str           # "Page {page} of {pages}" with {nb} for the total
    when: object        # datetime -> str, in the owner's language and the display time zone


@lru_cache(maxsize=1)
def _document_class():
    """fpdf2's document with our footer ("Page 3 of 12")."""
    from fpdf import FPDF

    class Document(FPDF):
        footer_text = ""

        def footer(self):
            self.set_y(-12)
            self.set_font("DejaVu", size=8)
            self.set_text_color(120, 120, 120)
            self.cell(0, 6, self.footer_text.replace("{page}", str(self.page_no())), align="C")

    return Document


class PdfWriter:
    CLIENT_COLOUR, PROFILE_COLOUR = (25, 90, 160), (150, 60, 110)

    def __init__(self, out: BinaryIO, labels: Labels):
        self.out = out
        self.labels = labels
        self.glyphs = drawable()
        pdf = _document_class()(format="A4")
        pdf.set_title(legible(labels.title, self.glyphs))
        pdf.set_creator("Switchboard")
        pdf.add_font("DejaVu", "", str(REGULAR))
        pdf.add_font("DejaVu", "B", str(BOLD))
        pdf.footer_text = labels.page
        pdf.alias_nb_pages("{nb}")
        pdf.set_auto_page_break(True, margin=18)
        pdf.set_margins(16, 16, 16)
        self.pdf = pdf

    def begin(self, header: Header) -> None:
        pdf = self.pdf
        pdf.add_page()
        pdf.set_font("DejaVu", "B", 15)
        pdf.multi_cell(0, 8, legible(self.labels.title, self.glyphs), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", size=9)
        pdf.set_text_color(110, 110, 110)
        pdf.multi_cell(0, 5, legible(self.labels.subtitle, self.glyphs), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)

    def add(self, lines: list[Line]) -> None:
        pdf, when = self.pdf, self.labels.when
        for line in lines:
            pdf.set_font("DejaVu", "B", 9)
            pdf.set_text_color(*(self.CLIENT_COLOUR if line.sender == "client" else self.PROFILE_COLOUR))
            pdf.multi_cell(0, 5, legible(f"{line.name} · {when(line.sent_at)}", self.glyphs),
                           new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", size=10)
            pdf.set_text_color(20, 20, 20)
            body = legible(line.body, self.glyphs)
            if line.photo:
                body = f"{self.labels.photo} {body}".strip()
            if body:
                pdf.multi_cell(0, 5, body, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2.5)

    def finish(self) -> None:
        self.out.write(self.pdf.output())
