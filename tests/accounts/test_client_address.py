"""A client cannot choose its own address with X-Forwarded-For: not to escape the API's rate
limits, a lockout, or to put another address in the audit trail. Behind the configured
number of proxies, the address the outermost one saw is the client's, everywhere."""
import runpy
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse

from celinsight import settings as settings_module
from patients.models import Patient
from tests.conftest import PASSWORD

PROXY = "172.18.0.2"


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def proxies(settings):
    """Strict rates; and trust this many proxies, as CELINSIGHT_TRUSTED_PROXIES=count
    does, or (None) the settings as shipped."""
    def trust(count):
        rest = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": {
            **rest["DEFAULT_THROTTLE_RATES"], "anon": "2/min", "login": "2/min"}}
        if count is not None:
            settings.TRUSTED_PROXIES = count
            settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}
    return trust


def settings_with(**environment):
    """The settings module's values under this environment (importing it only reads)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        return runpy.run_path(str(Path(settings_module.__file__)))


def test_one_variable_sets_the_rule_for_throttles_audit_and_axes():
    shipped = settings_with()
    assert (shipped["TRUSTED_PROXIES"], shipped["REST_FRAMEWORK"]["NUM_PROXIES"]) == (0, 0)
    behind_one = settings_with(CELINSIGHT_TRUSTED_PROXIES="1")
    assert (behind_one["TRUSTED_PROXIES"], behind_one["REST_FRAMEWORK"]["NUM_PROXIES"]) == (1, 1)
    assert behind_one["AXES_CLIENT_IP_CALLABLE"] == "accounts.audit.client_address"


def forwarded(n, last_hop=None):
    """An X-Forwarded-For a client made up (a new address each time), as a proxy passes it
    on: with the address the proxy saw appended, if any."""
    made_up = f"198.51.100.{n}"
    return {"HTTP_X_FORWARDED_FOR": f"{made_up}, {last_hop}" if last_hop else made_up}


def test_by_default_a_made_up_address_does_not_escape_the_rate_limit(client, proxies):
    proxies(None)
    statuses = [client.get(reverse("api:patients"), REMOTE_ADDR="203.0.113.9",
                           **forwarded(n)).status_code for n in range(3)]
    assert statuses == [401, 401, 429]


def test_by_default_token_requests_stay_throttled(client, lab_staff, proxies):
    proxies(None)
    statuses = [client.post(reverse("api:token"), {"username": "x", "password": "y"},
                            REMOTE_ADDR="203.0.113.9", **forwarded(n)).status_code
                for n in range(3)]
    assert statuses[-1] == 429


def test_behind_one_proxy_the_address_it_saw_is_the_clients(client, proxies):
    proxies(1)
    url = reverse("api:patients")
    statuses = [client.get(url, REMOTE_ADDR=PROXY, **forwarded(n, "203.0.113.9")).status_code
                for n in range(3)]
    assert statuses == [401, 401, 429]
    # Another client behind the same proxy has a count of its own.
    assert client.get(url, REMOTE_ADDR=PROXY, **forwarded(9, "203.0.113.10")).status_code == 401


@pytest.mark.parametrize("trusted, expected", [(None, "203.0.113.9"), (1, "192.0.2.44")])
def test_the_audit_trail_records_the_same_address(client_for, lab_staff, proxies, trusted,
                                                  expected):
    proxies(trusted)
    client_for(lab_staff).post(reverse("patients:create"), {
        "mrn": "MRN-5", "full_name": "New Patient", "date_of_birth": "1990-05-06",
        "consent_given": "on"}, REMOTE_ADDR="203.0.113.9", **forwarded(1, "192.0.2.44"))
    entry = LogEntry.objects.get_for_object(Patient.objects.get(mrn="MRN-5")).get()
    assert entry.remote_addr == expected


@pytest.mark.parametrize("trusted, expected", [(None, "203.0.113.9"), (1, "192.0.2.44")])
def test_axes_records_the_same_address_and_locks_whatever_the_header(
        client, lab_staff, proxies, trusted, expected):
    proxies(trusted)
    for n in range(5):  # a new made-up address at each try
        client.post(reverse("login"), {"username": lab_staff.username, "password": "wrong"},
                    REMOTE_ADDR="203.0.113.9", **forwarded(n, "192.0.2.44"))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {expected}
    locked = client.post(reverse("login"), {"username": lab_staff.username,
                                            "password": PASSWORD},
                         REMOTE_ADDR="203.0.113.9", **forwarded(7, "192.0.2.44"))
    assert locked.status_code == 429
