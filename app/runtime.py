"""The gevent web worker: is this process one, and start-up checks for it."""
import logging
import sys

log = logging.getLogger(__name__)


def check_gevent_compat() -> None:
    """psycopg picks its wait function at import: imported before gevent patched the world,
    every query blocks the whole worker. Refuse to run like that."""
    if "gevent" not in sys.modules:
        return
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        return
    if "psycopg" in sys.modules:
        import psycopg.waiting

        if psycopg.waiting.wait.__name__ == "wait_c":
            raise RuntimeError("psycopg was imported before gevent monkey patching; do not use --preload")


def under_gevent() -> bool:
    """True in a process whose threads gevent has patched (the web server's workers)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")
