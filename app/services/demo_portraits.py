"""Drawn portraits for the demo profiles: a face on a soft gradient, one look per profile.

Drawn with Pillow, nothing fetched; the demo stores each one as an upload, so that it goes the way an
admin's upload goes (``profiles.store_avatar``, then the avatar job).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

SIDE = 1024  # drawn at twice the avatar's size: the job's downscaling smooths the edges

SKINS = ["#f1c7a6", "#e0ac88", "#c68863", "#f6d5bd", "#a86f4c", "#ebbd98"]
HAIRS = ["#3b2a20", "#6b4226", "#1f1a17", "#b5793f", "#8c5a35", "#d9b26f", "#4a3325"]
TOPS = ["#4f46e5", "#0e9384", "#d9480f", "#7a5af8", "#1d7fc4", "#c11574", "#3f8f4f", "#b54708"]
BACKGROUNDS = [("#fde2e4", "#f9b4c0"), ("#dbeafe", "#a5c8f5"), ("#dcfce7", "#9ee0b5"), ("#fef3c7", "#f7cf7a"),
               ("#ede9fe", "#c4b5fd"), ("#cffafe", "#8ad8e8"), ("#ffe4d6", "#fbb08c"), ("#e0e7ff", "#a9b6f7")]
HAIR_STYLES = ("short", "long", "bun", "curly", "bob")


@dataclass(frozen=True)
class Look:
    skin: str
    hair: str
    hair_style: str
    top: str
    background: tuple[str, str]

    @classmethod
    def for_index(cls, index: int, hair_style: str) -> "Look":
        """A look of its own for the demo's profile number ``index``: colours spread over the palettes."""
        return cls(SKINS[index % len(SKINS)], HAIRS[(index * 3) % len(HAIRS)], hair_style,
                   TOPS[(index * 5) % len(TOPS)], BACKGROUNDS[index % len(BACKGROUNDS)])


def _gradient(top: str, bottom: str) -> Image.Image:
    mask = Image.linear_gradient("L").resize((SIDE, SIDE))
    return Image.composite(Image.new("RGB", (SIDE, SIDE), bottom), Image.new("RGB", (SIDE, SIDE), top), mask)


def _shade(colour: str, factor: float) -> tuple[int, int, int]:
    rgb = Image.new("RGB", (1, 1), colour).getpixel((0, 0))
    return tuple(max(0, min(255, round(c * factor))) for c in rgb)


def portrait(look: Look) -> bytes:
    """The portrait as PNG bytes."""
    image = _gradient(*look.background)
    draw = ImageDraw.Draw(image)
    cx = SIDE // 2
    hair, skin, dark_hair = look.hair, look.skin, _shade(look.hair, 0.75)

    if look.hair_style == "long":  # behind the head, over the shoulders
        draw.rounded_rectangle((cx - 205, 230, cx + 205, 760), radius=190, fill=hair)
    draw.ellipse((cx - 400, 730, cx + 400, 1330), fill=look.top)                       # shoulders
    draw.rounded_rectangle((cx - 62, 560, cx + 62, 780), radius=50, fill=_shade(skin, 0.9))  # neck
    draw.pieslice((cx - 110, 690, cx + 110, 830), 0, 180, fill=_shade(skin, 0.9))      # neckline
    if look.hair_style == "long":
        draw.rounded_rectangle((cx - 205, 560, cx - 120, 800), radius=40, fill=hair)
        draw.rounded_rectangle((cx + 120, 560, cx + 205, 800), radius=40, fill=hair)

    if look.hair_style in ("short", "curly", "bun"):
        for side in (-1, 1):                                                            # ears
            x = cx + side * 150
            draw.ellipse((x - 28, 430, x + 28, 520), fill=_shade(skin, 0.95))
    if look.hair_style == "bun":
        draw.ellipse((cx - 75, 135, cx + 75, 275), fill=hair)
    if look.hair_style == "curly":
        for dx, dy in ((-150, 300), (-110, 235), (-45, 205), (25, 200), (95, 225), (150, 285), (175, 360), (-175, 360)):
            draw.ellipse((cx + dx - 70, dy - 70, cx + dx + 70, dy + 70), fill=hair)
    if look.hair_style == "bob":
        draw.rounded_rectangle((cx - 195, 230, cx + 195, 620), radius=150, fill=hair)
    draw.ellipse((cx - 170, 215, cx + 170, 560), fill=hair)                             # the hair's top
    draw.ellipse((cx - 148, 285, cx + 148, 650), fill=skin)                             # face
    if look.hair_style in ("long", "bob", "bun"):                                       # a side parting
        draw.chord((cx - 160, 225, cx + 200, 470), 180, 350, fill=hair)
    else:
        draw.chord((cx - 150, 240, cx + 150, 420), 185, 355, fill=hair)

    for side in (-1, 1):
        x = cx + side * 58
        draw.ellipse((x - 15, 455, x + 15, 490), fill="#2b2220")                         # eyes
        draw.ellipse((x - 5, 461, x + 3, 470), fill="#ffffff")
        draw.arc((x - 34, 410, x + 34, 450), 200, 340, fill=dark_hair, width=9)          # eyebrows
    draw.arc((cx - 14, 500, cx + 14, 560), 20, 160, fill=_shade(skin, 0.78), width=7)   # nose
    draw.arc((cx - 52, 540, cx + 52, 610), 20, 160, fill="#9b3d3d", width=9)             # smile

    cheeks = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
    cheek_draw = ImageDraw.Draw(cheeks)
    for side in (-1, 1):
        x = cx + side * 92
        cheek_draw.ellipse((x - 32, 530, x + 32, 570), fill=(240, 110, 110, 70))
    image.paste(cheeks.filter(ImageFilter.GaussianBlur(10)), (0, 0), cheeks.filter(ImageFilter.GaussianBlur(10)))

    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
