import functools
import io
import time
import zipfile
from importlib import import_module
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from pytest_django.plugin import blocking_manager_key

from accounts.access import assign_doctor
from accounts.roles import ADMINISTRATOR, CLINICIAN, CYTOTECHNOLOGIST, LAB_STAFF, PATHOLOGIST
from cases.models import Lab
from celinsight.celery import app as celery_app
from diagnostics.models import CellResult
from imaging.models import FieldOfView, ImageAsset, Specimen
from patients.models import Patient

SAMPLE_CELLS_DIR = Path(__file__).resolve().parent.parent / "demo" / "sample_cells"
SCREENSHOTS_DIR = Path(__file__).resolve().parent.parent / "screenshots"
PASSWORD = "a-long-test-password-1"


def pytest_configure(config):
    # Importing the settings creates no folder; the test databases live in VAR_DIR.
    django_settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    report_jinja_renders_to_the_test_client()
    if not hasattr(config, "workerinput"):  # once a run, before pytest-xdist's processes start
        empty_screenshots_folder()


def pytest_unconfigure(config):
    # Django deletes its SQLite test database but not the two files of its write-ahead log.
    name = django_settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if not name or "sqlite" not in django_settings.DATABASES["default"]["ENGINE"]:
        return
    if not Path(name).exists():  # a kept database (--reuse-db) keeps its log
        for side_file in (Path(f"{name}-wal"), Path(f"{name}-shm")):
            side_file.unlink(missing_ok=True)


def empty_screenshots_folder():
    """screenshots/ (git-ignored, kept by CI as artefacts) holds the browser tests' of this run."""
    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    for old in SCREENSHOTS_DIR.iterdir():
        old.unlink()


def report_jinja_renders_to_the_test_client():
    """response.context and response.templates for the pages' Jinja2 templates too: Django's
    test set-up reports renders of its own templates only (template_rendered)."""
    from django.template.backends import jinja2 as jinja2_backend
    from django.test.signals import template_rendered

    render = jinja2_backend.Template.render

    def render_and_report(template, context=None, request=None):
        context = {} if context is None else context
        html = render(template, context, request)
        template_rendered.send(sender=template, template=template.template, context=context)
        return html

    jinja2_backend.Template.render = render_and_report


@pytest.fixture(autouse=True, scope="session")
def in_memory_broker():
    """Tests never write to the demo's broker folder; a test worker reads this queue."""
    celery_app.conf.broker_url = "memory://"
    celery_app.conf.broker_transport = None  # the URL's: not the settings' folder broker
    celery_app.conf.broker_transport_options = {}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test (live server, real worker) ends by emptying every table, the rows
    the data migrations made with them: they are made again for the tests after it in this
    process (which ones those are depends on how pytest-xdist shares the files out). Not
    before a serialized-rollback test, which loads the rows as they were itself."""
    result = yield
    if nextitem is not None and empties_the_tables(item) and not reloads_its_rows(nextitem):
        with item.config.stash[blocking_manager_key].unblock():
            restore_migrated_rows()
    return result


def empties_the_tables(item):
    marker = item.get_closest_marker("django_db")
    return (bool(marker and marker.kwargs.get("transaction"))
            or not {"transactional_db", "live_server"}.isdisjoint(item.fixturenames))


def reloads_its_rows(item):
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("serialized_rollback"))


def restore_migrated_rows():
    """After a serialized-rollback test the flush left even the permissions out."""
    if not Permission.objects.exists():
        emit_post_migrate_signal(verbosity=0, interactive=False, db=DEFAULT_DB_ALIAS)
    restore_roles()


def make_user(username, role):
    user = User.objects.create_user(username, is_staff=(role == ADMINISTRATOR))
    user.password = hashed_test_password()
    user.save(update_fields=["password"])
    user.groups.add(role_group(role))
    return user


@functools.cache
def hashed_test_password():
    """PASSWORD hashed once a test process, by the deployment's own hasher (PBKDF2 with a
    million rounds, about 0.4 s a hash here): the users tests make share it, and a login
    through the form still checks it for real."""
    return make_password(PASSWORD)


@pytest.fixture
def db(db):
    """pytest-django's ``db``, with the data migrations' roles there: product code (seed_demo,
    the synthetic load) reads them, and a flush this process did not see coming drops them."""
    role_group(ADMINISTRATOR)
    return db


def role_group(role):
    """The role's group; made again as the data migrations made it if a flush this process
    did not see coming dropped it."""
    if not Group.objects.filter(name=role).exists():
        restore_roles()
    return Group.objects.get(name=role)


def restore_roles():
    roles = import_module("accounts.migrations.0001_roles").ROLE_PERMISSIONS
    sign_off = import_module("accounts.migrations.0002_doctors_sign_off")
    gdpr = import_module("accounts.migrations.0003_gdpr_permission")
    for role, permission_names in roles.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permission(name) for name in permission_names))
    for role in sign_off.ROLES_THAT_SIGN_OFF:
        Group.objects.get(name=role).permissions.add(permission(".".join(sign_off.SIGN_OFF)))
    gdpr_permission, _ = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Patient), codename=gdpr.CODENAME,
        defaults={"name": gdpr.NAME})
    Group.objects.get(name=ADMINISTRATOR).permissions.add(gdpr_permission)
    doctor_views = import_module("accounts.migrations.0004_doctors_without_global_views")
    Group.objects.get(name="Doctor").permissions.remove(
        *(permission(name) for name in doctor_views.REVOKED_FROM_DOCTORS))
    import_module("accounts.migrations.0006_screening_roles").grant_roles(Group, Permission)
    import_module("accounts.migrations.0007_staff_profile").grant_profiles(Group, Permission)
    holdouts = import_module("diagnostics.migrations.0013_administrators_see_holdout_evaluations")
    Group.objects.get(name=ADMINISTRATOR).permissions.add(permission(f"diagnostics.{holdouts.CODENAME}"))


def permission(dotted_name):
    app_label, codename = dotted_name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def doctor(db):
    """A pathologist, assigned to ``patient`` (an object permission) and in no lab."""
    return make_user("dr_assigned", PATHOLOGIST)


@pytest.fixture
def other_doctor(db):
    return make_user("dr_other", PATHOLOGIST)


@pytest.fixture
def lab(db):
    return Lab.objects.create(name="North lab", address="1 North Road")


@pytest.fixture
def other_lab(db):
    return Lab.objects.create(name="South lab", address="2 South Road")


@pytest.fixture
def cytotechnologist(lab):
    user = make_user("ct_north", CYTOTECHNOLOGIST)
    lab.members.add(user)
    return user


@pytest.fixture
def clinician(db):
    return make_user("clin_ordering", CLINICIAN)


@pytest.fixture
def other_clinician(db):
    return make_user("clin_other", CLINICIAN)


@pytest.fixture
def lab_staff(db):
    return make_user("lab_tech", LAB_STAFF)


@pytest.fixture
def administrator(db):
    return make_user("lab_admin", ADMINISTRATOR)


@pytest.fixture
def client_for(client):
    def log_in(user):
        client.force_login(user)
        return client
    return log_in


@pytest.fixture
def patient(db, lab_staff, doctor):
    patient = Patient.objects.create(
        mrn="MRN-1", full_name="Test Patient", date_of_birth="1980-01-02",
        consent_given=True, created_by=lab_staff,
    )
    assign_doctor(patient, doctor)
    return patient


@pytest.fixture
def specimen(patient, lab_staff):
    return Specimen.objects.create(
        patient=patient, accession_number="ACC-1", collected_on="2026-11-01", created_by=lab_staff
    )


@pytest.fixture
def sample_cell_paths():
    return sorted(SAMPLE_CELLS_DIR.glob("*.png"))


@pytest.fixture
def sample_upload(sample_cell_paths):
    """Uploaded-file objects for the first n sample cells."""
    def make(count, start=0):
        return [SimpleUploadedFile(p.name, p.read_bytes(), content_type="image/png")
                for p in sample_cell_paths[start:start + count]]
    return make


@pytest.fixture
def truncated_png(sample_cell_paths):
    data = sample_cell_paths[-1].read_bytes()
    return SimpleUploadedFile("broken_cell.png", data[: len(data) // 2], content_type="image/png")


def zip_of(named_bytes, name="cells.zip"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member_name, data in named_bytes:
            archive.writestr(member_name, data)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


@pytest.fixture
def make_zip():
    return zip_of


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (solo pool, in a thread) consuming the in-memory queue."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING") as worker:
        yield worker


def wait_until(condition, timeout=120, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"Gave up after {timeout} s waiting for the worker")


@pytest.fixture
def wait_for():
    return wait_until


@pytest.fixture
def make_result(db):
    """A finished CellResult for a new image of the specimen, without running the classifier."""
    def make(specimen, probabilities, refer=False, status="done"):
        number = ImageAsset.objects.count() + 1
        image = ImageAsset.objects.create(
            specimen=specimen, file=f"specimens/{specimen.pk}/cell{number}.png",
            original_name=f"cell{number}.png", sha256=f"{number:064x}", image_format="PNG",
            width=8, height=8, size_bytes=100,
        )
        predicted = max(probabilities, key=probabilities.get) if status == "done" else ""
        return CellResult.objects.create(
            image=image, model_version="test-model", status=status,
            probabilities=probabilities if status == "done" else {},
            predicted_class=predicted, refer_to_cytologist=refer,
            finished_at=timezone.now() if status == "done" else None,
        )
    return make


@pytest.fixture
def cut_from_a_field(db):
    """Make a result's image a crop the worker cut from a (new) field of view."""
    def cut(result):
        image = result.image
        field_image = ImageAsset.objects.create(
            specimen=image.specimen, file=f"specimens/{image.specimen_id}/field{image.pk}.png",
            original_name=f"field{image.pk}.png", sha256=f"f{image.pk:063x}",
            image_format="PNG", width=64, height=64, size_bytes=100,
            kind=ImageAsset.Kind.FIELD)
        field = FieldOfView.objects.create(image=field_image, status="done")
        ImageAsset.objects.filter(pk=image.pk).update(source_field=field)
    return cut
