"""Photos in chat: the thumbnail and the display size of an accepted upload, out of the web process."""
from __future__ import annotations

from rq import Retry

from ..clock import utcnow
from ..services.photos import processing
from ..services.photos.storage import storage_from
from .context import job_context


def enqueue_photo(photo_id: str):
    """After the commit that stored the photo's message."""
    from . import get_queue

    return get_queue("default").enqueue(
        process_photo, photo_id, job_timeout=60, result_ttl=600, failure_ttl=7 * 24 * 3600,
        retry=Retry(max=2, interval=[5, 30]), description=f"photo {photo_id}")


def process_photo(photo_id: str) -> str:
    """Make the photo's sizes; both sides then see the thumbnail (pushed after the commit)."""
    with job_context() as app:
        outcome = processing.process(photo_id, storage_from(app.config), processing.Sizes.from_config(app.config),
                                     utcnow())
        return f"photo {photo_id}: {outcome}"
