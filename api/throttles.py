"""Request rates of the REST API (settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).

DRF's throttles read the rates once, at import; these read them at each request, so a
changed setting (an override in a test) applies at once.
"""
from rest_framework import throttling
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.settings import api_settings


class LiveRates:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(LiveRates, throttling.AnonRateThrottle):
    """Requests without credentials, by client address."""


class UserThrottle(LiveRates, throttling.UserRateThrottle):
    """Requests of a signed-in user, whatever the endpoint."""


class LoginThrottle(LiveRates, throttling.AnonRateThrottle):
    """Token requests, by client address: a password guesser is slowed down before
    django-axes locks the account."""

    scope = "login"


class UploadThrottle(LiveRates, throttling.UserRateThrottle):
    """Uploads (POST) of a signed-in user; reading the image list is not counted."""

    scope = "upload"

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class CountRefusedRequests:
    """DRF counts a request only once it passed authentication and permissions, so callers
    without valid credentials (guessing tokens) would never be throttled; these views count
    them by client address, with the anonymous rate."""

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (NotAuthenticated, AuthenticationFailed):
            throttle = AnonThrottle()  # the request is anonymous now: keyed by address
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())
            raise
