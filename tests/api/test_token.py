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
