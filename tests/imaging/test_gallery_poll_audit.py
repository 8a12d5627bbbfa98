"""The gallery's 3-second poll for heat maps leaves one access entry per user and specimen
per AUDIT_POLL_READ_MINUTES, not one per poll; opening the page is always logged."""
from datetime import timedelta

import pytest
from auditlog.models import LogEntry

HX_POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "gallery"}


@pytest.fixture
def reads_of(db):
    def count(specimen, user):
        return LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor=user,
                                       object_id=specimen.pk,
                                       content_type__model="specimen").count()
    return count


def test_polls_after_the_page_was_opened_add_no_entry(client_for, doctor, specimen, reads_of):
    client = client_for(doctor)
    client.get(specimen.get_absolute_url())
    for _ in range(5):
        assert client.get(specimen.get_absolute_url(), **HX_POLL).status_code == 200
    assert reads_of(specimen, doctor) == 1


def test_a_poll_is_logged_once_the_window_has_passed(client_for, doctor, lab_staff, specimen,
                                                     reads_of, settings):
    settings.AUDIT_POLL_READ_MINUTES = 10
    client = client_for(doctor)
    client.get(specimen.get_absolute_url())
    LogEntry.objects.filter(actor=doctor).update(
        timestamp=LogEntry.objects.get(actor=doctor).timestamp - timedelta(minutes=11))
    client.get(specimen.get_absolute_url(), **HX_POLL)
    client.get(specimen.get_absolute_url(), **HX_POLL)
    assert reads_of(specimen, doctor) == 2
    client_for(lab_staff).get(specimen.get_absolute_url(), **HX_POLL)  # another user: logged
    assert reads_of(specimen, lab_staff) == 1


def test_opening_the_page_again_is_always_logged(client_for, doctor, specimen, reads_of):
    client = client_for(doctor)
    client.get(specimen.get_absolute_url())
    client.get(specimen.get_absolute_url())
    assert reads_of(specimen, doctor) == 2
