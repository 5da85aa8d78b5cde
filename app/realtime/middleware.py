"""Turn WebSocket compression off: a zlib context per socket costs more memory than the rest of
the socket (``bench/sockets.py``)."""


def no_deflate(wsgi_app):
    """``wsgi_app`` with the page's offer of compression (``Sec-WebSocket-Extensions``) removed,
    so the socket is accepted without it.

    A function, not an object with ``__call__``: calling an object goes through C, which puts
    one more interpreter frame on every socket's saved greenlet stack for as long as it is open."""

    def without_deflate(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return without_deflate
