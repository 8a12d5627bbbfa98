from django.urls import reverse

from tests.conftest import PASSWORD

TOKEN_URL = reverse("api:token")
PATIENTS_URL = reverse("api:patients")


def test_a_token_is_issued_for_a_username_and_password(api_client, doctor, patient):
    response = api_client.post(TOKEN_URL, {"username": doctor.username, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = api_client.get(PATIENTS_URL)
    assert listed.status_code == 200
    assert [row["mrn"] for row in listed.json()["results"]] == [patient.mrn]


def test_a_wrong_password_gets_no_token(api_client, doctor):
    response = api_client.post(TOKEN_URL, {"username": doctor.username, "password": "wrong-guess"})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_requests_without_credentials_get_401_json_not_a_login_page(api_client, patient):
    response = api_client.get(PATIENTS_URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_is_refused(api_client, patient):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get(PATIENTS_URL).status_code == 401


def test_the_session_of_the_pages_also_works(client_for, doctor, patient):
    assert client_for(doctor).get(PATIENTS_URL).status_code == 200


def guess_passwords(api_client, username, times):
    for _ in range(times):
        api_client.post(TOKEN_URL, {"username": username, "password": "wrong-guess"})


def test_five_wrong_passwords_lock_the_account_for_tokens_too(api_client, doctor):
    guess_passwords(api_client, doctor.username, 5)
    response = api_client.post(TOKEN_URL, {"username": doctor.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "This account is locked" in response.json()["detail"]


def test_guessing_through_the_api_locks_the_login_page(api_client, client, doctor):
    guess_passwords(api_client, doctor.username, 5)
    response = client.post(reverse("login"), {"username": doctor.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "This account is locked" in response.content.decode()


def test_an_account_locked_on_the_login_page_gets_no_token(client, api_client, doctor):
    for _ in range(5):
        client.post(reverse("login"), {"username": doctor.username, "password": "wrong-guess"})
    response = api_client.post(TOKEN_URL, {"username": doctor.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "This account is locked" in response.json()["detail"]
