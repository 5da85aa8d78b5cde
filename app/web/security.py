"""Security headers on every response: a CSP with no inline script, no framing, no sniffing; HSTS
when Switchboard is served over HTTPS only (SECURE_TRANSPORT)."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def init_app(app) -> None:
    @app.after_request
    def set_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["SECURE_TRANSPORT"]:
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={app.config['HSTS_MAX_AGE_SECONDS']}; includeSubDomains")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
            response.vary.add("HX-Request")
        return response
