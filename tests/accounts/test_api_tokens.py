"""API tokens have a lifetime and are revoked on logout, lockout and password change."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

PATIENTS_URL = reverse("api:patients")


def api_with(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def aged(token, hours):
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(hours=hours))
    token.refresh_from_db()
    return token


@pytest.fixture
def token(doctor):
    return Token.objects.create(user=doctor)


def test_a_token_within_its_lifetime_works(token, patient):
    assert api_with(aged(token, 11)).get(PATIENTS_URL).status_code == 200


def test_a_token_older_than_its_lifetime_gets_401(token, patient):
    response = api_with(aged(token, 12.01)).get(PATIENTS_URL)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert not Token.objects.filter(pk=token.pk).exists()


def test_the_lifetime_is_a_setting(settings, token, patient):
    settings.API_TOKEN_HOURS = 1
    assert api_with(aged(token, 2)).get(PATIENTS_URL).status_code == 401


def test_asking_again_after_expiry_gives_a_new_token_that_works(token, doctor, patient):
    expired = aged(token, 13)
    response = APIClient().post(reverse("api:token"), {"username": doctor.username, "password": PASSWORD})
    new_key = response.json()["token"]
    assert new_key != expired.key
    assert api_with(Token.objects.get(key=new_key)).get(PATIENTS_URL).status_code == 200


def test_asking_again_within_the_lifetime_gives_the_same_token(token, doctor):
    response = APIClient().post(reverse("api:token"), {"username": doctor.username, "password": PASSWORD})
    assert response.json()["token"] == token.key


def test_logging_out_of_the_pages_revokes_the_users_tokens(client, token, doctor):
    client.force_login(doctor)
    client.post(reverse("logout"))
    assert api_with(token).get(PATIENTS_URL).status_code == 401


def test_api_logout_revokes_the_token(token, patient):
    client = api_with(token)
    assert client.post(reverse("api:logout")).status_code == 204
    assert client.get(PATIENTS_URL).status_code == 401


def test_api_logout_needs_credentials(db):
    assert APIClient().post(reverse("api:logout")).status_code == 401


def test_a_lockout_revokes_the_users_tokens(client, token, doctor, security_lines):
    for _ in range(5):
        client.post(reverse("login"), {"username": doctor.username, "password": "wrong-guess"})
    assert not Token.objects.filter(user=doctor).exists()
    assert [line["reason"] for line in security_lines if line["event"] == "api_tokens_revoked"] == [
        "locked out"]


def test_set_password_revokes_the_users_tokens(token, doctor):
    doctor.set_password("another-long-password-2")
    doctor.save()
    assert not Token.objects.filter(user=doctor).exists()


def test_a_password_changed_in_admin_revokes_the_users_tokens(client_for, administrator, token, doctor):
    url = reverse("admin:auth_user_password_change", args=[doctor.pk])
    response = client_for(administrator).post(url, {
        "password1": "changed-by-admin-123!", "password2": "changed-by-admin-123!",
        "usable_password": "true"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=doctor).exists()


def test_saving_other_fields_keeps_the_token(token, doctor):
    doctor.first_name = "Ada"
    doctor.save()
    doctor.refresh_from_db()
    doctor.save(update_fields=["last_login"])
    assert Token.objects.filter(user=doctor).exists()


def test_a_password_hash_upgraded_at_login_keeps_the_token(settings, doctor):
    # Django re-hashes a password at login when the hasher changed: same password, no revocation.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    doctor.set_password(PASSWORD)
    doctor.save()
    token = Token.objects.create(user=doctor)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    assert doctor.check_password(PASSWORD)
    assert doctor.password.startswith("pbkdf2_")
    assert Token.objects.filter(pk=token.pk).exists()
