"""The audit trail's who and where: every change names the user who made it and the client
address it came from, pages and API alike.

django-auditlog's middleware names the actor when a request comes in, before the view runs.
The REST API authenticates inside the view (DRF, with a token), so the middleware saw an
anonymous request and its entries had no actor. AuditMiddleware keeps the request at hand
and each entry written while it is served names whoever ``request.user`` is then: DRF sets
it on the request once it has authenticated, for every API view and authentication class.
"""
from contextvars import ContextVar

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.db.models.signals import pre_save
from django.dispatch import receiver

_request_being_audited = ContextVar("celinsight_request_being_audited", default=None)


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware (correlation id, client address, the session's user), which
    also lets :func:`name_the_request_user` find the user an API view authenticated."""

    def __call__(self, request):
        token = _request_being_audited.set(request)
        try:
            return super().__call__(request)
        finally:
            _request_being_audited.reset(token)


@receiver(pre_save, sender=LogEntry)
def name_the_request_user(sender, instance, **kwargs):
    """An entry written while a signed-in user's request is served, and naming no actor,
    is that user's. Entries of the worker (no request) and ones naming their actor are left
    as they are."""
    user = getattr(_request_being_audited.get(), "user", None)
    if instance.actor_id is None and user is not None and user.is_authenticated:
        instance.actor = user
        instance.actor_email = user.email
