"""Photos in chat: the thumbnail and the display size of an accepted upload, out of the web process."""
from __future__ import annotations

from ..clock import utcnow
from ..services.photos import processing
from ..services.photos.storage import storage_from
from .context import job_context
from .policy import JobKind


def enqueue_photo(photo_id: str):
    """After the commit that stored the photo's message."""
    return PROCESS_PHOTO.enqueue(photo_id, description=f"photo {photo_id}")


def process_photo(photo_id: str) -> str:
    """Make the photo's sizes; both sides then see the thumbnail (pushed after the commit)."""
    with job_context() as app:
        outcome = processing.process(photo_id, storage_from(app.config), processing.Sizes.from_config(app.config),
                                     utcnow())
        return f"photo {photo_id}: {outcome}"


PROCESS_PHOTO = JobKind(process_photo, attempts=3, backoff=5, backoff_max=60, timeout=60)
