"""Schemathesis sends every operation of /api/schema/ generated requests, valid and invalid,
as a doctor and as lab staff: no request may end in a server error, and every answer must
match the schema. Seeded and bounded, so a run is repeatable and takes seconds."""
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis.errors import Unsatisfiable
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.api.conftest import PROBABILITIES

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
cases_sent = []


@pytest.fixture
def wsgi_app(settings):
    """The project's WSGI application, in the test's transaction, without throttling.

    Django closes the connection at the end of each request, which would end the test's
    transaction; its test client turns that off the same way.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # token guesses
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def real_ids(specimen, make_result):
    """Ids of records the users may see: requests then reach the views' logic, not just 404."""
    result = make_result(specimen, PROBABILITIES, refer=True)
    return {"patient_id": specimen.patient_id, "specimen_id": specimen.pk,
            "image_id": result.image_id, "result_id": result.pk}


def token_header(user):
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


def fuzz_operation(operation, mode, headers, path_parameters, failures):
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                         deadline=None, phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def send(case):
        cases_sent.append(case)
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, FailureGroup) as failure:
            failures.setdefault(f"{operation.label} [{mode}]", str(failure))

    try:
        send()
    except Unsatisfiable:  # nothing of the operation can be made invalid (a GET, no parameters)
        pass


def fuzz_schema(schema, headers, path_parameters):
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/auth/logout/":
            continue  # it revokes the token the other requests carry (tests/accounts/test_api_tokens.py)
        known = {name: value for name, value in path_parameters.items()
                 if f"{{{name}}}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(operation, mode, headers, known, failures)
    return failures


@pytest.mark.parametrize("role", ["doctor", "lab_staff"])
def test_no_request_ends_in_a_server_error_or_breaks_the_schema(role, request, wsgi_app, real_ids):
    headers = token_header(request.getfixturevalue(role))
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, headers=headers)
    before = len(cases_sent)
    failures = fuzz_schema(schema, headers, real_ids)
    sent = len(cases_sent) - before
    print(f"\nschemathesis: {sent} cases as {role}, {len(cases_sent)} in this session")
    assert sent > 0
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
