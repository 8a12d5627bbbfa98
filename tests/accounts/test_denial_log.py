"""Refusals leave a trace: a 404 for a record the user may not see (an IDOR probe), 401 and
429 answers, in the security log, at a bounded rate; many of them from one user or address
alert the administrators."""
import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import security_alerts
from accounts.models import SecurityAlert
from tests.conftest import PASSWORD


def events(lines, name):
    return [line for line in lines if line["event"] == name]


@pytest.fixture
def clock(monkeypatch):
    """The time the rate limits and alert windows read, moved by hand."""
    class Clock:
        now = 1_800_000_000.0  # the start of a minute and of a ten-minute window

        def advance(self, seconds):
            self.now += seconds
    clock = Clock()
    monkeypatch.setattr(security_alerts, "now", lambda: clock.now)
    return clock


@pytest.fixture
def api_of(db):
    def client_of(user):
        client = APIClient()
        client.force_authenticate(user)
        return client
    return client_of


def test_an_api_idor_probe_leaves_a_line(api_of, other_doctor, patient, security_lines):
    assert api_of(other_doctor).get(reverse("api:patient", args=[patient.pk])).status_code == 404
    [line] = events(security_lines, "access_denied")
    assert (line["user"], line["record"], line["id"], line["exists"]) == (
        "dr_other", "patient", str(patient.pk), True)
    assert line["path"] == reverse("api:patient", args=[patient.pk])


def test_a_page_idor_probe_leaves_a_line(client_for, other_doctor, specimen, security_lines):
    response = client_for(other_doctor).get(reverse("imaging:specimen", args=[specimen.pk]))
    assert response.status_code == 404
    [line] = events(security_lines, "access_denied")
    assert (line["user"], line["record"], line["exists"]) == ("dr_other", "specimen", True)


def test_probing_a_result_that_does_not_exist_leaves_a_line(api_of, other_doctor, security_lines):
    assert api_of(other_doctor).get(reverse("api:result", args=[424242])).status_code == 404
    [line] = events(security_lines, "access_denied")
    assert (line["record"], line["id"], line["exists"]) == ("result", "424242", False)


def test_allowed_access_leaves_no_line(api_of, doctor, patient, security_lines):
    assert api_of(doctor).get(reverse("api:patient", args=[patient.pk])).status_code == 200
    assert security_lines == []


def test_a_401_leaves_a_line(db, security_lines):
    APIClient().get(reverse("api:patients"), REMOTE_ADDR="10.3.3.3")
    [line] = events(security_lines, "unauthenticated")
    assert (line["user"], line["ip"], line["status"]) == ("-", "10.3.3.3", 401)


def test_a_429_leaves_a_line(settings, api_of, doctor, security_lines):
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": {
        **rest["DEFAULT_THROTTLE_RATES"], "user": "1/min"}}
    client = api_of(doctor)
    assert [client.get(reverse("api:patients")).status_code for _ in range(2)] == [200, 429]
    [line] = events(security_lines, "too_many_requests")
    assert (line["user"], line["status"]) == ("dr_assigned", 429)


def probe(client, count, first_id=10_000):
    for offset in range(count):
        assert client.get(reverse("api:patient", args=[first_id + offset])).status_code == 404


def test_a_burst_of_probes_leaves_a_bounded_number_of_lines(settings, clock, api_of, other_doctor,
                                                           security_lines):
    settings.SECURITY_LOG_LINES_PER_MINUTE = 10
    client = api_of(other_doctor)
    probe(client, 100)
    assert len(events(security_lines, "access_denied")) == 10
    [notice] = events(security_lines, "log_rate_limited")
    assert (notice["user"], notice["limit_per_minute"]) == ("dr_other", 10)
    assert len(security_lines) <= 10 + 2  # the probes, the notice, the alert

    clock.advance(60)
    probe(client, 1)
    [suppressed] = events(security_lines, "log_suppressed")
    assert (suppressed["user"], suppressed["suppressed"]) == ("dr_other", 90)
    assert len(events(security_lines, "access_denied")) == 11


def test_other_users_are_not_silenced_by_one_users_burst(settings, clock, api_of, other_doctor,
                                                        doctor, security_lines):
    settings.SECURITY_LOG_LINES_PER_MINUTE = 3
    probe(api_of(other_doctor), 10)
    probe(api_of(doctor), 1)
    assert [line["user"] for line in events(security_lines, "access_denied")] == [
        "dr_other"] * 3 + ["dr_assigned"]


@pytest.fixture
def administrator_with_email(administrator):
    administrator.email = "security@lab.example"
    administrator.save()
    return administrator


def test_the_alert_email_is_sent_once_per_window(settings, clock, api_of, other_doctor,
                                                 administrator_with_email):
    settings.SECURITY_ALERT_THRESHOLD = 5
    settings.SECURITY_ALERT_WINDOW_MINUTES = 10
    client = api_of(other_doctor)
    probe(client, 30)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["security@lab.example"]
    assert "dr_other" in mail.outbox[0].subject
    assert "5 refused requests" in mail.outbox[0].body

    clock.advance(10 * 60)
    probe(client, 5)
    assert len(mail.outbox) == 2
    assert SecurityAlert.objects.count() == 2


def test_failed_logins_and_lockouts_from_one_address_raise_an_alert(settings, clock, client, doctor,
                                                                    administrator_with_email):
    settings.SECURITY_ALERT_THRESHOLD = 6
    for _ in range(5):  # five failures, then the lockout
        client.post(reverse("login"), {"username": doctor.username, "password": "wrong"},
                    REMOTE_ADDR="10.6.6.6")
    [alert] = SecurityAlert.objects.all()
    assert (alert.ip_address, alert.username) == ("10.6.6.6", "")
    assert len(mail.outbox) == 1


def test_the_alert_also_goes_to_the_settings_admins(settings, clock, api_of, other_doctor, db):
    settings.SECURITY_ALERT_THRESHOLD = 2
    settings.ADMINS = [("Security desk", "desk@lab.example")]
    probe(api_of(other_doctor), 2)
    assert mail.outbox[0].to == ["desk@lab.example"]


def test_the_dashboard_shows_alerts_to_administrators(settings, clock, api_of, client_for,
                                                     other_doctor, administrator):
    settings.SECURITY_ALERT_THRESHOLD = 3
    probe(api_of(other_doctor), 3)
    page = client_for(administrator).get(reverse("diagnostics:dashboard")).content.decode()
    assert "Security alerts" in page
    assert "dr_other" in page
    assert client_for(other_doctor).get(reverse("diagnostics:dashboard")).status_code == 403


def test_the_dashboard_says_when_there_is_no_alert(client_for, administrator):
    page = client_for(administrator).get(reverse("diagnostics:dashboard")).content.decode()
    assert "No security alert" in page


def test_successful_token_requests_count_nothing(settings, clock, doctor, db):
    settings.SECURITY_ALERT_THRESHOLD = 2
    for _ in range(3):
        APIClient().post(reverse("api:token"), {"username": doctor.username, "password": PASSWORD})
    assert not SecurityAlert.objects.exists()
