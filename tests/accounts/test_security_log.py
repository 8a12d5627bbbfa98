import json

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.security_log import log_security_event

PASSWORD = "a-long-test-password-1"


def events(lines, name):
    return [line for line in lines if line["event"] == name]


def test_failed_login_is_logged_with_user_ip_and_path(client, lab_staff, security_lines):
    client.post(reverse("login"), {"username": "lab_tech", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    [line] = events(security_lines, "login_failed")
    assert (line["user"], line["ip"], line["path"]) == ("lab_tech", "10.1.2.3", "/accounts/login/")


def test_lockout_is_logged(client, lab_staff, security_lines):
    for _ in range(5):
        client.post(reverse("login"), {"username": "lab_tech", "password": "wrong"})
    assert [line["user"] for line in events(security_lines, "locked_out")] == ["lab_tech"]


def test_permission_denial_is_logged(client_for, doctor, security_lines):
    # Doctors may not create patients: the view answers 403.
    response = client_for(doctor).get(reverse("patients:create"))
    assert response.status_code == 403
    [line] = events(security_lines, "permission_denied")
    assert (line["user"], line["ip"], line["path"]) == ("dr_assigned", "127.0.0.1", reverse("patients:create"))


def test_successful_login_is_not_logged(client, lab_staff, security_lines):
    client.post(reverse("login"), {"username": "lab_tech", "password": PASSWORD})
    assert security_lines == []


def test_security_log_writes_to_a_file(settings):
    handlers = settings.LOGGING["loggers"]["celinsight.security"]["handlers"]
    assert settings.LOGGING["handlers"][handlers[0]]["filename"].endswith("security.log")


def test_each_line_is_one_json_object_with_time_and_level(client, lab_staff, security_log_text):
    client.post(reverse("login"), {"username": "lab_tech", "password": "wrong"})
    line = json.loads(security_log_text.getvalue())
    assert line["event"] == "login_failed"
    assert line["level"] == "WARNING"
    assert line["time"].endswith("Z")


def test_a_username_with_a_newline_cannot_forge_a_log_line(client, db, security_log_text):
    forged = 'nobody\n2026-12-01 09:00:00 WARNING {"event": "login_ok", "user": "admin"}'
    client.post(reverse("login"), {"username": forged, "password": "wrong"})
    lines = security_log_text.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["user"] == forged


HOSTILE = {
    "newline": "a\nb", "carriage return": "a\rb", "nul": "a\x00b", "escape sequence": "a\x1b[2Jb",
    "delete": "a\x7fb", "next line": "a\x85b", "line separator": "a\u2028b",
    "paragraph separator": "a\u2029b", "right-to-left override": "a\u202eb",
    "isolate": "a\u2066b\u2069", "zero-width joiner": "a\u200db",
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_control_and_bidi_characters_are_escaped_in_every_field(db, security_log_text, value):
    request = RequestFactory().get("/patients/")
    request.path = f"/patients/{value}/"
    log_security_event("login_failed", request, username=value)
    text = security_log_text.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert all(" " <= character <= "~" for character in text[:-1]), repr(text)
    line = json.loads(text)
    assert (line["user"], line["path"]) == (value, f"/patients/{value}/")
