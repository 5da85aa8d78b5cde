"""Avatars: the decoding and re-encoding of an accepted upload, out of the web process."""
from __future__ import annotations

from ..database import write_transaction
from ..services import profiles
from ..services.errors import FileRefused
from .context import job_context
from .policy import JobKind


def enqueue_avatar(pending: profiles.PendingAvatar):
    """After the commit that stored the upload."""
    return PROCESS_AVATAR.enqueue(pending.profile_id, pending.original, pending.replaced,
                                  description=f"avatar of profile {pending.profile_id}")


def process_avatar(profile_id: int, original: str, replaced: str | None = None) -> str:
    """Make the avatar from the stored upload and swap it in; what happened, for the worker's log."""
    with job_context() as app:
        config = app.config
        try:
            avatar = profiles.render_avatar(config["UPLOAD_DIR"], original, config["AVATAR_SIZE"],
                                            config["IMAGE_MAX_PIXELS"], config["IMAGE_MAX_SIDE"])
        except FileRefused:
            avatar = None
        with write_transaction():
            swapped = profiles.swap_in_avatar(profile_id, original, avatar)
        profiles.remove_avatar_files(config["UPLOAD_DIR"], original=original,
                                     avatars=(replaced,) if swapped else (replaced, avatar))
        if swapped:
            return f"avatar {avatar} of profile {profile_id}"
        return f"avatar of profile {profile_id} not swapped in ({'replaced since' if avatar else 'unreadable'})"


PROCESS_AVATAR = JobKind(process_avatar, attempts=3, backoff=5, backoff_max=60, timeout=60)
