"""Turn WebSocket compression off: a zlib context per socket costs more memory than the rest of
the socket (``bench/sockets.py``)."""


class NoDeflateMiddleware:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.wsgi_app(environ, start_response)
