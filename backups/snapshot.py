"""A consistent point in time of the database, and the stored files it refers to."""
from contextlib import contextmanager

from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import FileField

FORMAT = "celinsight-jsonl"  # backups/serializer.py
# Sessions and API tokens are credentials, not records: after a restore everyone signs in again.
EXCLUDED_APPS = ["sessions", "authtoken"]


@contextmanager
def consistent_snapshot(database=connection):
    """Every read inside the block sees the database as it was at one moment, while other
    processes go on writing."""
    if database.in_atomic_block:
        # Already inside a transaction (a caller's, a test's): its view is what is read.
        yield
    elif database.vendor == "postgresql":
        with transaction.atomic(using=database.alias):
            with database.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    elif database.vendor == "sqlite":
        # transaction.atomic() would BEGIN IMMEDIATE (see settings) and hold off the workers'
        # writes for the whole backup. A deferred transaction takes a snapshot at its first
        # read (WAL mode) and lets writers carry on.
        database.ensure_connection()
        with database.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
            cursor.execute("SELECT count(*) FROM sqlite_master")
        try:
            yield
        finally:
            with database.cursor() as cursor:
                cursor.execute("ROLLBACK")
    else:
        with transaction.atomic(using=database.alias):
            yield


def backed_up_models():
    """The models dumpdata writes: concrete, managed, not in EXCLUDED_APPS."""
    return [model for model in apps.get_models()
            if model._meta.app_label not in EXCLUDED_APPS and not model._meta.proxy
            and model._meta.can_migrate(connection)]


def model_counts():
    return {model._meta.label_lower: model._base_manager.count() for model in backed_up_models()}


def applied_migrations():
    return sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())


def dump_database(path):
    """Every row but sessions and tokens, as JSON lines with primary keys (no natural keys)."""
    call_command("dumpdata", format=FORMAT, output=str(path), exclude=EXCLUDED_APPS,
                 use_base_manager=True, verbosity=0)


def referenced_files():
    """The names of every stored file that a FileField of any row refers to."""
    names = set()
    for model in backed_up_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, FileField):
                rows = model._base_manager.exclude(**{field.name: ""}).exclude(
                    **{f"{field.name}__isnull": True})
                names.update(rows.values_list(field.name, flat=True).distinct())
    return sorted(names)
