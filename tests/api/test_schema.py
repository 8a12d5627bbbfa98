from django.urls import reverse
from drf_spectacular.validation import validate_schema


def test_the_schema_is_valid_openapi(api_as, doctor):
    response = api_as(doctor).get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert "/api/specimens/{specimen_id}/images/" in schema["paths"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_interactive_docs_are_served_from_this_server(client_for, doctor):
    response = client_for(doctor).get(reverse("api:docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page and "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower()
    # No inline script, so the Content-Security-Policy (script-src 'self') lets it run.
    assert "<script>" not in page
    script = client_for(doctor).get(reverse("api:docs") + "?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_the_schema_needs_a_signed_in_user(api_client, db):
    assert api_client.get(reverse("api:schema")).status_code == 401


def test_the_schema_asks_for_the_requisition_when_a_specimen_is_added(api_as, doctor):
    schema = api_as(doctor).get(reverse("api:schema"),
                                HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    body = schema["paths"]["/api/specimens/"]["post"]["requestBody"]["content"]["application/json"]
    component = body["schema"]["$ref"].rsplit("/", 1)[-1]
    request = schema["components"]["schemas"][component]
    assert {"patient", "accession_number", "collected_on", "lab", "ordering_clinician",
            "specimen_type"} <= set(request["required"])
    assert {"last_menstrual_period", "hpv_result", "other_risk_flags"} <= set(request["properties"])
    created = schema["paths"]["/api/specimens/"]["post"]["responses"]["201"]
    answer = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"requisition", "case"} <= set(schema["components"]["schemas"][answer]["properties"])
    assert "note" in schema["components"]["schemas"]["CellReview"]["properties"]


def test_the_signed_and_the_choosable_interpretations_are_named_apart(api_as, doctor):
    schemas = api_as(doctor).get(reverse("api:schema"),
                                 HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["components"]["schemas"]
    assert "see_comment" in schemas["InterpretationEnum"]["enum"]
    assert "see_comment" not in schemas["ChoosableInterpretationEnum"]["enum"]
