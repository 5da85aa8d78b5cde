"""Figures for the admin overview."""
from __future__ import annotations

from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry

from . import chat, presence


def job_counts(connection, queue_names) -> list[dict]:
    rows = []
    for name in queue_names:
        queue = Queue(name, connection=connection)
        rows.append({
            "name": name,
            "queued": queue.count,
            "running": StartedJobRegistry(queue=queue).count,
            "failed": FailedJobRegistry(queue=queue).count,
        })
    return rows


def overview(connection, queue_names) -> dict:
    return {
        "online_moderators": presence.online_moderators(),
        "waiting_messages": chat.waiting_count(),
        "queues": job_counts(connection, queue_names),
    }
