"""Avatars: the decoding and re-encoding of an accepted upload, out of the web process."""
from __future__ import annotations

from rq import Retry

from ..database import write_transaction
from ..services import profiles
from ..services.errors import FileRefused
from .context import job_context


def enqueue_avatar(pending: profiles.PendingAvatar):
    """After the commit that stored the upload."""
    from . import get_queue

    return get_queue("default").enqueue(
        process_avatar, pending.profile_id, pending.original, pending.replaced, job_timeout=60,
        result_ttl=600, failure_ttl=7 * 24 * 3600, retry=Retry(max=2, interval=[5, 30]),
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
