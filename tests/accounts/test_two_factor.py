import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "a-long-test-password-1"


def current_code(device):
    return str(TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()).zfill(6)


@pytest.fixture
def device(administrator):
    return TOTPDevice.objects.create(user=administrator, name="phone", confirmed=True)


def log_in(client, code=None, username="lab_admin"):
    data = {"username": username, "password": PASSWORD}
    if code is not None:
        data["otp_token"] = code
    return client.post(reverse("login"), data)


def test_user_without_a_device_logs_in_with_the_password(client, lab_staff):
    assert log_in(client, username="lab_tech").status_code == 302


def test_password_alone_is_not_enough_once_a_device_is_set_up(client, device):
    response = log_in(client)
    assert response.status_code == 200
    assert "enter the 6-digit code" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 302


def test_a_wrong_code_is_refused(client, device):
    wrong = "000000" if current_code(device) != "000000" else "111111"
    response = log_in(client, wrong)
    assert response.status_code == 200
    assert "code is wrong or has expired" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 302


def test_the_right_code_logs_in_and_verifies_the_session(client, device):
    response = log_in(client, current_code(device))
    assert response.status_code == 302
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_wrong_codes_count_towards_the_lockout(client, device):
    for _ in range(5):
        log_in(client, "000000" if current_code(device) != "000000" else "111111")
    assert log_in(client, current_code(device)).status_code == 429


def test_setup_page_shows_the_otpauth_uri_and_confirms_with_a_code(client_for, lab_staff):
    client = client_for(lab_staff)
    page = client.get(reverse("two_factor_setup")).content.decode()
    assert "otpauth://totp/" in page and "Secret key" in page
    device = TOTPDevice.objects.get(user=lab_staff, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"otp_token": current_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert "Two-factor login is on" in client.get(reverse("two_factor_setup")).content.decode()


def test_setup_refuses_a_wrong_code(client_for, lab_staff):
    client = client_for(lab_staff)
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"otp_token": "12"})
    assert "That code is wrong" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=lab_staff, confirmed=True).exists()


def test_admin_requires_a_verified_session_when_switched_on(settings, client_for, administrator):
    settings.CELINSIGHT_REQUIRE_ADMIN_OTP = True
    client = client_for(administrator)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("two_factor_setup")
    assert "needs two-factor login" in response.content.decode()


def test_admin_admits_staff_who_logged_in_with_a_code(settings, client, device):
    settings.CELINSIGHT_REQUIRE_ADMIN_OTP = True
    log_in(client, current_code(device))
    assert client.get(reverse("admin:index")).status_code == 200


def test_admin_without_the_switch_admits_staff_as_before(settings, client_for, administrator):
    settings.CELINSIGHT_REQUIRE_ADMIN_OTP = False
    assert client_for(administrator).get(reverse("admin:index")).status_code == 200


def test_admin_login_page_sends_anonymous_users_to_the_main_login(client, db):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admin_login_form_cannot_be_used_to_skip_the_code(client_for, lab_staff, device):
    client = client_for(lab_staff)  # logged in, but not allowed in the admin
    response = client.post(reverse("admin:login"), {"username": "lab_admin", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get(reverse("admin:index")).status_code == 302
