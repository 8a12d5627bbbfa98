"""The audit trail's who and where: every change names the user who made it and the client
address it came from, and every view of patient data leaves an "access" entry, pages and API
alike.

django-auditlog's middleware names the actor when a request comes in, before the view runs.
The REST API authenticates inside the view (DRF, with a token), so the middleware saw an
anonymous request and its entries had no actor. Each entry written while a request is
served (accounts.request_context) names whoever ``request.user`` is then: DRF sets it on the
request once it has authenticated, for every API view and authentication class.
"""
import ipaddress

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q
from django.db.models.signals import pre_save
from django.dispatch import receiver

from accounts.request_context import current_request


def client_address(request):
    """The client's IP address, by one rule for the audit log, the API's rate limits
    (REST_FRAMEWORK["NUM_PROXIES"]) and django-axes (AXES_CLIENT_IP_CALLABLE).

    With no trusted proxy (CELINSIGHT_TRUSTED_PROXIES=0, the default) it is the address of
    the connection, and X-Forwarded-For is ignored: a client could write anything there,
    to escape a rate limit or to put another address in the audit trail. Behind n proxies,
    each appending the address it saw, it is the n-th address from the right of
    X-Forwarded-For, the one the outermost trusted proxy saw (as DRF counts).
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    proxies = settings.TRUSTED_PROXIES
    if not proxies or not forwarded:
        return remote_addr
    hops = forwarded.split(",")
    address = hops[-min(proxies, len(hops))].strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:  # not an address: the proxy chain is not what the setting says
        return remote_addr


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware (correlation id, client address, the session's user), taking
    the client address by :func:`client_address`: auditlog's own trusts the first address
    of X-Forwarded-For, which the client wrote."""

    @staticmethod
    def _get_remote_addr(request):
        return None if settings.AUDITLOG_DISABLE_REMOTE_ADDR else client_address(request)


@receiver(pre_save, sender=LogEntry)
def name_the_request_user(sender, instance, **kwargs):
    """An entry written while a signed-in user's request is served, and naming no actor,
    is that user's. Entries of the worker (no request) and ones naming their actor are left
    as they are."""
    user = getattr(current_request(), "user", None)
    if instance.actor_id is None and user is not None and user.is_authenticated:
        instance.actor = user
        instance.actor_email = user.email


def log_patient_read(request, record):
    """Record that the request's user was shown ``record`` (a patient, specimen, image or
    result): one "access" entry in the audit log with the user, the record, the time, the
    client address and the path. Every view that shows patient data calls it once, after
    accounts.access has loaded the record; a second call in the same request adds nothing.
    """
    underlying = getattr(request, "_request", request)  # DRF's request wraps Django's
    if getattr(underlying, "_patient_read_logged", False):
        return
    underlying._patient_read_logged = True
    user = request.user if request.user.is_authenticated else None
    LogEntry.objects.log_create(record, action=LogEntry.Action.ACCESS, force_log=True,
                                actor=user, additional_data={"path": request.path})


def log_patient_list_read(request, records):
    """Record that the request's user was shown ``records`` in a list (the patient list or a
    search, the worklist, a case queue, an API list): one "access" entry for each, as
    :func:`log_patient_read` writes for one record, all in one INSERT. An entry's
    ``additional_data`` says it was a list ("listed": true) and where."""
    records = list(records)
    if not records:
        return
    from auditlog.cid import get_cid

    underlying = getattr(request, "_request", request)  # DRF's request wraps Django's
    user = request.user if request.user.is_authenticated else None
    address = None if settings.AUDITLOG_DISABLE_REMOTE_ADDR else client_address(underlying)
    shared = LogEntry(action=LogEntry.Action.ACCESS, actor=user, remote_addr=address,
                      actor_email=getattr(user, "email", None), cid=get_cid(),
                      additional_data={"path": request.path, "listed": True})
    insert_alike(shared, [
        {"content_type_id": ContentType.objects.get_for_model(record).pk,
         "object_pk": str(record.pk), "object_id": record.pk, "object_repr": str(record)}
        for record in records])


def insert_alike(shared, rows):
    """Insert one entry per row: ``shared``'s values, with each row's (attribute: value) in
    their place. What ``bulk_create`` writes, each shared value made ready for the database
    once instead of once a row (a list page's 25 entries were a sixth of its CPU)."""
    fields = [field for field in LogEntry._meta.concrete_fields if not field.primary_key]
    fixed = {field.attname: field.get_db_prep_save(field.pre_save(shared, add=True), connection)
             for field in fields if field.attname not in rows[0]}
    values = [[fixed[field.attname] if field.attname in fixed
               else field.get_db_prep_save(row[field.attname], connection) for field in fields]
              for row in rows]
    quote = connection.ops.quote_name
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(LogEntry._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES {', '.join([placeholders] * len(rows))}",
            [value for row in values for value in row])


def reads_of_patient(patient):
    """The access entries of the patient and of its specimens, images and results, newest
    first, with their users: who viewed this record."""
    from diagnostics.models import CellResult
    from imaging.models import ImageAsset, Specimen
    from patients.models import Patient

    def entries_of(model, ids):
        return Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)

    specimens = Specimen.objects.filter(patient=patient).values("pk")
    images = ImageAsset.objects.filter(specimen__patient=patient).values("pk")
    results = CellResult.objects.filter(image__specimen__patient=patient).values("pk")
    return (LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
            .filter(entries_of(Patient, [patient.pk]) | entries_of(Specimen, specimens)
                    | entries_of(ImageAsset, images) | entries_of(CellResult, results))
            .select_related("actor", "content_type").order_by("-timestamp", "-pk"))


class PatientReadsLoggedAdmin:
    """A ModelAdmin mixin: opening one record's page in the admin site is a read of patient
    data, logged as the pages' are, and so is each record of a list page shown (one "listed"
    entry per row, as the product's lists write). ``patient_record`` says which record the
    entry names (the patient, specimen, image or result that the access log lists)."""

    def patient_record(self, obj):
        return obj

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        change_list = (getattr(response, "context_data", None) or {}).get("cl")
        if change_list is not None:  # not a redirect after an action, nor an error page
            log_patient_list_read(
                request, [self.patient_record(obj) for obj in change_list.result_list])
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        if obj is not None:
            log_patient_read(request, self.patient_record(obj))
        return super().render_change_form(request, context, add=add, change=change,
                                          form_url=form_url, obj=obj)
