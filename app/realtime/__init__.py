"""Real-time push: one WebSocket per page, fragments fanned out through Redis pub/sub."""
from .hub import Hub, get_hub  # noqa: F401
from .middleware import no_deflate  # noqa: F401
