"""Sessions end after SESSION_IDLE_MINUTES without a request; each request restarts that clock.

Restarting it means writing the session row (its expiry) on the way out. Django's
SESSION_SAVE_EVERY_REQUEST does that on every request: an UPDATE each, hundreds a minute for
the slide viewer's tiles. Here the clock is restarted at most once every
SESSION_REFRESH_SECONDS, so an idle session may end up to that much before its full minutes.
"""
import time

from django.conf import settings

RESTARTED_AT = "_idle_clock_restarted_at"


class IdleSessionMiddleware:
    """Place after SessionMiddleware: its response phase runs first and marks the session
    for saving when the idle clock is due to be restarted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = time.time()
            if now - session.get(RESTARTED_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
                session[RESTARTED_AT] = now  # modified: SessionMiddleware saves it
        return response
