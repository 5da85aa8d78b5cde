"""Uploaded images: what must not be decoded is refused from the file's header alone.

Avatars (``profiles``) and photos in chat (``photos``) take the same formats and limits; the
decoding itself happens in jobs, never in a web process.
"""
from __future__ import annotations

import io

from flask_babel import lazy_gettext as _l
from PIL import Image

from .errors import FileRefused

ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "WEBP"}  # MPO: a camera's JPEG with a preview inside


def check_image(data: bytes, max_bytes: int, max_pixels: int, max_side: int) -> None:
    """Refuse what must not be decoded, from the file's header alone: not an image we take, too
    many bytes, too many pixels (a small file may declare a huge image), animated."""
    if not data:
        raise FileRefused(_l("The file is empty."))
    if len(data) > max_bytes:
        raise FileRefused(_l("The image must be at most %(n)d MB.", n=max_bytes // (1024 * 1024)))
    unreadable = _l("This file is not an image we can read (JPEG, PNG, GIF or WebP).")
    too_large = _l("The image is too large: at most %(mp)d megapixels and %(side)d pixels on a side.",
                   mp=max_pixels // 1_000_000, side=max_side)
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the header only
            if header.format not in ACCEPTED_FORMATS:
                raise FileRefused(unreadable)
            width, height = header.size
            if width * height > max_pixels or max(width, height) > max_side:
                raise FileRefused(too_large)
            if header.format != "MPO" and getattr(header, "is_animated", False):
                raise FileRefused(_l("Animated images are not accepted: upload a still picture."))
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # the file's structure, without decoding its pixels
    except FileRefused:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, at open
        raise FileRefused(too_large)
    except Exception:  # noqa: BLE001 - a malformed file fails in many ways inside Pillow (IndexError too)
        raise FileRefused(unreadable)
