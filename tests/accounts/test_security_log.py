import logging

import pytest
from django.urls import reverse

PASSWORD = "a-long-test-password-1"


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def security_lines():
    handler = Collect()
    logger = logging.getLogger("celinsight.security")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_failed_login_is_logged_with_user_ip_and_path(client, lab_staff, security_lines):
    client.post(reverse("login"), {"username": "lab_tech", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    assert "login_failed user=lab_tech ip=10.1.2.3 path=/accounts/login/" in security_lines


def test_lockout_is_logged(client, lab_staff, security_lines):
    for _ in range(5):
        client.post(reverse("login"), {"username": "lab_tech", "password": "wrong"})
    assert any(line.startswith("locked_out user=lab_tech ") for line in security_lines)


def test_permission_denial_is_logged(client_for, doctor, security_lines):
    # Doctors may not create patients: the view answers 403.
    response = client_for(doctor).get(reverse("patients:create"))
    assert response.status_code == 403
    assert f"permission_denied user=dr_assigned ip=127.0.0.1 path={reverse('patients:create')}" in security_lines


def test_successful_login_is_not_logged(client, lab_staff, security_lines):
    client.post(reverse("login"), {"username": "lab_tech", "password": PASSWORD})
    assert security_lines == []


def test_security_log_writes_to_a_file(settings):
    handlers = settings.LOGGING["loggers"]["celinsight.security"]["handlers"]
    assert settings.LOGGING["handlers"][handlers[0]]["filename"].endswith("security.log")
