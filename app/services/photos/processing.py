"""What the photo job does: decode the original once, apply the camera's orientation, keep the
first frame, write the thumbnail and the display size as new JPEG files that carry no EXIF (no
location, no camera serial), then mark the photo ready or failed."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from ...database import write_transaction
from ...extensions import db
from ...models import Photo
from ...models.photos import PENDING
from ..errors import FileRefused
from ..images import check_image
from . import records
from .storage import FolderStorage, variant_key


@dataclass(frozen=True)
class Sizes:
    """Settings the job renders with (``PHOTO_*`` and ``IMAGE_*``)."""
    thumb: int
    display: int
    quality: int
    max_pixels: int
    max_side: int

    @classmethod
    def from_config(cls, config) -> "Sizes":
        return cls(config["PHOTO_THUMB_SIZE"], config["PHOTO_DISPLAY_SIZE"], config["PHOTO_JPEG_QUALITY"],
                   config["IMAGE_MAX_PIXELS"], config["IMAGE_MAX_SIDE"])


UNREADABLE = _l("This file is not an image we can read (JPEG, PNG, GIF or WebP).")


def decode(data: bytes, sizes: Sizes) -> Image.Image:
    """The picture as people see it: upright, RGB on white where it was transparent. Refused
    (``FileRefused``) when it cannot be read or the limits refuse it (they may have changed since
    the upload)."""
    check_image(data, len(data), sizes.max_pixels, sizes.max_side)
    try:
        image = Image.open(io.BytesIO(data))
        image.seek(0)  # a camera's MPO: its first picture
        longest = max(image.size)
        if longest > sizes.display:  # a JPEG decodes at a reduced scale: less work, same result
            scale = sizes.display / longest
            image.draft("RGB", (round(image.width * scale), round(image.height * scale)))
        image.load()
        image = ImageOps.exif_transpose(image)
    except FileRefused:
        raise
    except Exception:  # noqa: BLE001 - a malformed file fails in many ways inside Pillow
        raise FileRefused(UNREADABLE)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _encoded(image: Image.Image, longest: int, quality: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.LANCZOS)  # never enlarges
    buffer = io.BytesIO()
    copy.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)  # no exif= : none written
    return buffer.getvalue(), copy.width, copy.height


def render(storage: FolderStorage, photo_id: str, original_key: str, sizes: Sizes) -> records.Made:
    """Write the photo's display size and thumbnail from its original; what was made."""
    try:
        data = storage.read(original_key)
    except OSError:
        raise FileRefused(UNREADABLE)
    image = decode(data, sizes)
    display, width, height = _encoded(image, sizes.display, sizes.quality)
    thumb, thumb_width, thumb_height = _encoded(image, sizes.thumb, sizes.quality)
    storage.write(variant_key(photo_id, "display"), display)
    storage.write(variant_key(photo_id, "thumb"), thumb)
    return records.Made(width, height, thumb_width, thumb_height)


def process(photo_id: str, storage: FolderStorage, sizes: Sizes, now: datetime) -> str:
    """Make a pending photo's sizes and finish it; what happened, in a few words. No transaction
    is held while decoding (on SQLite a write transaction would hold every writer back); the
    photo is finished by a compare-and-set, so a photo already finished stays as it is."""
    photo = db.session.get(Photo, photo_id)
    state, original = (photo.state, photo.original_key) if photo is not None else (None, None)
    db.session.rollback()
    if state is None:
        return "gone"
    if state != PENDING:
        return f"already {state}"
    made = None
    if original is not None:
        try:
            made = render(storage, photo_id, original, sizes)
        except FileRefused:
            pass
    with write_transaction():
        changed = records.finish(photo_id, made, now)
    if not changed:
        return "finished meanwhile"
    return "ready" if made is not None else ("failed: unreadable" if original else "failed: no original")
