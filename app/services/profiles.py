"""Profiles and their avatars."""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy import select

from ..extensions import db
from ..models import Profile
from .errors import FileRefused, NotFound, ValidationError
from .images import check_image


def get_profile(profile_id: int, *, active_only: bool = True) -> Profile:
    profile = db.session.get(Profile, profile_id)
    if profile is None or (active_only and not profile.active):
        raise NotFound(_l("This profile does not exist."))
    return profile


def list_profiles(*, active_only: bool = True) -> list[Profile]:
    query = select(Profile).order_by(Profile.name, Profile.id)
    if active_only:
        query = query.where(Profile.active.is_(True))
    return list(db.session.scalars(query))


def _clean(name: str, age, city: str, bio: str) -> dict:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError(_l("The name must be 1 to 80 characters long."))
    try:
        age = int(age)
    except (TypeError, ValueError):
        raise ValidationError(_l("The age must be a number."))
    if not 18 <= age <= 120:
        raise ValidationError(_l("The age must be between 18 and 120."))
    city = (city or "").strip()
    if len(city) > 80:
        raise ValidationError(_l("The city must be at most 80 characters long."))
    bio = (bio or "").strip()
    if len(bio) > 2000:
        raise ValidationError(_l("The bio must be at most 2,000 characters long."))
    return {"name": name, "age": age, "city": city, "bio": bio}


def create_profile(*, name: str, age, city: str = "", bio: str = "") -> Profile:
    profile = Profile(**_clean(name, age, city, bio), active=True)
    db.session.add(profile)
    db.session.flush()
    return profile


def update_profile(profile_id: int, *, name: str, age, city: str, bio: str, active: bool) -> Profile:
    profile = get_profile(profile_id, active_only=False)
    for key, value in _clean(name, age, city, bio).items():
        setattr(profile, key, value)
    profile.active = bool(active)
    return profile


ORIGINALS = "avatar-originals"  # beside, not inside, the served avatars folder


@dataclass(frozen=True)
class PendingAvatar:
    """An accepted upload, stored, waiting for ``jobs.avatars.process_avatar``."""
    profile_id: int
    original: str
    replaced: str | None  # the profile's avatar before it (its file goes once the job has run)


def store_avatar(profile: Profile, data: bytes, upload_dir: str, max_bytes: int = 5 * 1024 * 1024,
                 max_pixels: int = 16_000_000, max_side: int = 8000) -> PendingAvatar:
    """Check an upload from its header and store it as it came, outside the served folder; the
    profile shows the placeholder until the job has made the avatar (decoding is the job's: a
    large image costs the web process nothing). Enqueue the job after the commit."""
    check_image(data, max_bytes, max_pixels, max_side)
    folder = Path(upload_dir) / ORIGINALS
    folder.mkdir(parents=True, exist_ok=True)
    original = f"{profile.id}-{secrets.token_hex(8)}.upload"
    (folder / original).write_bytes(data)
    pending = PendingAvatar(profile.id, original, profile.avatar_filename)
    profile.avatar_filename, profile.avatar_pending = None, original
    return pending


def render_avatar(upload_dir: str, original: str, size: int, max_pixels: int, max_side: int) -> str:
    """Decode a stored upload and write it as a square JPEG of ``size`` pixels; its file name."""
    source = Path(upload_dir) / ORIGINALS / original
    try:
        data = source.read_bytes()
    except OSError:
        raise FileRefused(_l("This file is not an image we can read (JPEG, PNG, GIF or WebP)."))
    check_image(data, len(data), max_pixels, max_side)  # the limits may have changed since
    try:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (size * 2, size * 2))  # a JPEG decodes at a reduced scale: less work
        image.load()
    except Exception:  # noqa: BLE001 - a header without its pixels fails with IndexError, among others
        raise FileRefused(_l("This file is not an image we can read (JPEG, PNG, GIF or WebP)."))
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
    folder = Path(upload_dir) / "avatars"
    folder.mkdir(parents=True, exist_ok=True)
    filename = f"{original.split('-', 1)[0]}-{secrets.token_hex(8)}.jpg"
    image.save(folder / filename, "JPEG", quality=85, optimize=True)
    return filename


def swap_in_avatar(profile_id: int, original: str, avatar: str | None) -> bool:
    """The avatar made from ``original`` becomes the profile's, unless a later upload replaced
    it meanwhile (or it could not be made: ``avatar`` None, the placeholder stays). True if swapped."""
    profile = db.session.get(Profile, profile_id)
    if profile is None or profile.avatar_pending != original:
        return False
    profile.avatar_pending = None
    if avatar is None:
        return False
    profile.avatar_filename = avatar
    return True


def remove_avatar_files(upload_dir: str, *, original: str, avatars: tuple) -> None:
    """After the swap's commit: the processed original, and avatars no profile shows any more."""
    (Path(upload_dir) / ORIGINALS / original).unlink(missing_ok=True)
    for name in avatars:
        if name:
            (Path(upload_dir) / "avatars" / name).unlink(missing_ok=True)
