"""The request being served, for code deep below a view that has no request to hand
(the audit of permission changes, the denials of accounts/access.py): set by
accounts.security_log.PermissionDeniedLogMiddleware for the duration of each request."""
from contextvars import ContextVar

_current_request = ContextVar("celinsight_current_request", default=None)


def current_request():
    """The HttpRequest being served in this thread or task, or None (a shell, a worker)."""
    return _current_request.get()


class serving:
    """``with serving(request):`` makes ``current_request()`` return it inside the block."""

    def __init__(self, request):
        self.request = request

    def __enter__(self):
        self.token = _current_request.set(self.request)
        return self.request

    def __exit__(self, *exc_info):
        _current_request.reset(self.token)
