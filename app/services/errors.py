"""Errors a service raises for the view to turn into a clear 4xx page or fragment."""


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class ValidationError(ServiceError):
    status_code = 422


class FileRefused(ServiceError):
    """An uploaded file refused as a whole (not an image we take, too large): a bad request."""
    status_code = 400


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Gone(ServiceError):
    """What was asked for existed but is no more (an expired export)."""
    status_code = 410


class TooMany(ServiceError):
    status_code = 429


class NotLoggedIn(ServiceError):
    """The session names nobody who may act (logged out, or the account was disabled)."""
    status_code = 401
