from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

PASSWORD = "a-long-test-password-1"


def log_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_lab_staff_can_log_in(client, lab_staff):
    response = log_in(client, "lab_tech", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("patients:list")).status_code == 200


def test_wrong_password_is_refused(client, lab_staff):
    response = log_in(client, "lab_tech", "not-the-password")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_account_locks_after_five_failed_logins(client, lab_staff):
    for _ in range(5):
        log_in(client, "lab_tech", "not-the-password")
    response = log_in(client, "lab_tech", PASSWORD)
    assert response.status_code == 429
    assert "This account is locked" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 302


@pytest.mark.parametrize("url_name, args", [
    ("home", []), ("patients:list", []), ("patients:create", []), ("patients:detail", [1]),
    ("imaging:specimen", [1]), ("imaging:progress", [1]), ("imaging:image_file", [1]),
    ("imaging:specimen_create", [1]), ("admin:index", []),
])
def test_every_page_but_login_requires_authentication(client, db, url_name, args):
    response = client.get(reverse(url_name, args=args))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_login_page_is_public(client, db):
    assert client.get(reverse("login")).status_code == 200


def test_session_ends_after_fifteen_idle_minutes(client, lab_staff, settings):
    log_in(client, "lab_tech", PASSWORD)
    client.get(reverse("patients:list"))
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert client.session.get_expiry_age() == 15 * 60


def session_expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_requests_restart_the_idle_clock_at_most_once_a_minute(client, lab_staff, monkeypatch):
    from accounts import idle_sessions

    now = [1_000_000.0]
    monkeypatch.setattr(idle_sessions.time, "time", lambda: now[0])
    log_in(client, "lab_tech", PASSWORD)
    client.get(reverse("patients:list"))
    first = session_expiry(client)
    Session.objects.update(expire_date=first - timedelta(minutes=5))  # as if 5 minutes passed
    now[0] += 30
    client.get(reverse("patients:list"))
    assert session_expiry(client) == first - timedelta(minutes=5)  # not written again yet
    now[0] += 31
    client.get(reverse("patients:list"))
    assert session_expiry(client) > first - timedelta(minutes=1)  # the clock restarted


def test_an_anonymous_visit_creates_no_session(client, db):
    client.get(reverse("login"))
    assert not Session.objects.exists()
