"""Signing, amending and printing a Bethesda report version."""
import hashlib

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from diagnostics import review
from diagnostics.models import SignedVersionImmutable, SpecimenSignOff
from diagnostics.triage import TRIAGE_RULE

NORMAL = {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1}
ABNORMAL = {"Superficial-Intermediate": 0.2, "Koilocytotic": 0.8}
LSIL = {"specimen_type": "liquid_based", "adequacy": "satisfactory",
        "transformation_zone": "present", "interpretation": "lsil", "hpv_result": "positive_16",
        "recommendations": ["colposcopy"], "educational_note": "LSIL usually regresses."}


@pytest.fixture
def cells(specimen, make_result):
    return [make_result(specimen, NORMAL), make_result(specimen, ABNORMAL)]


def test_signing_freezes_codes_ai_section_and_text(doctor, specimen, cells):
    report = review.sign_off_specimen(specimen, doctor, **LSIL)
    report.refresh_from_db()
    assert report.general_category == "epithelial_abnormality"  # derived
    assert report.codes["report"]["code"] == "47527-7"  # liquid-based cytology report
    assert {"field": "interpretation", "value": "lsil", "system": "http://snomed.info/sct",
            "code": "62051000119105"} in report.codes["values"]
    assert (report.ai_used, report.cells_analysed, report.cells_flagged) == (True, 2, 1)
    assert report.morphology_counts == {"test-model": {"Koilocytotic": 1,
                                                       "Superficial-Intermediate": 1}}
    assert report.most_suspicious_cells[0]["result"] == cells[1].pk
    assert "Pathologist" in report.signer_credentials  # the role "Doctor" was renamed
    for words in ["Low-grade squamous intraepithelial lesion (LSIL)", "HPV 16 detected",
                  "Colposcopy", "The final interpretation is the signer's", "Test Patient",
                  "born 1980-01-02 · 46 years", "collected 2026-11-01"]:
        assert words in report.report_text
    assert report.report_sha256 == hashlib.sha256(report.report_text.encode()).hexdigest()


def test_a_signed_version_is_never_saved_again(doctor, specimen, cells):
    report = review.sign_off_specimen(specimen, doctor, **LSIL)
    report.comment = "changed afterwards"
    with pytest.raises(SignedVersionImmutable):
        report.save()
    assert SpecimenSignOff.objects.get().comment == ""


def api_as(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_text_of_a_version_is_retrieved_unchanged_after_amendments(
        doctor, specimen, make_result, cells):
    first = review.sign_off_specimen(specimen, doctor, **LSIL)
    signed_text = first.report_text
    make_result(specimen, ABNORMAL)  # e.g. a later result: the signed section must not move
    review.amend_sign_off(specimen, doctor, "Second look", **{**LSIL, "interpretation": "hsil"})
    review.amend_sign_off(specimen, doctor, "Third look", **{**LSIL, "interpretation": "asc_h"})
    first.refresh_from_db()
    assert first.report_text == signed_text and first.report_text_intact
    assert first.cells_analysed == 2
    assert SpecimenSignOff.objects.get(version=3).cells_analysed == 3
    history = api_as(doctor).get(reverse("api:sign_offs", args=[specimen.pk])).json()["results"]
    assert [row["version"] for row in history] == [3, 2, 1]
    assert history[2]["report_text"] == signed_text
    assert history[2]["interpretation_snomed"] == "62051000119105"
    assert "Reason for amendment: Third look".upper() in history[0]["report_text"].upper()


def test_the_service_refuses_an_inconsistent_report(doctor, specimen, cells):
    with pytest.raises(review.ReviewRefused, match="reported under NILM"):
        review.sign_off_specimen(specimen, doctor, **{**LSIL, "organisms": ["candida"]})
    with pytest.raises(review.ReviewRefused, match="only on reports migrated"):
        review.sign_off_specimen(specimen, doctor, **{**LSIL, "interpretation": "see_comment"})
    with pytest.raises(review.ReviewRefused, match="adequacy"):
        review.sign_off_specimen(specimen, doctor, interpretation="nilm")
    assert not SpecimenSignOff.objects.exists()


def test_an_unsatisfactory_report_has_no_interpretation(client_for, doctor, specimen, cells):
    report = review.sign_off_specimen(
        specimen, doctor, adequacy="unsatisfactory", unsatisfactory_kind="rejected",
        unsatisfactory_reason="unlabelled", recommendations=["repeat_2_4_months"])
    assert report.headline() == "Unsatisfactory for evaluation"
    assert "Unlabelled or mislabelled specimen" in report.report_text
    history = client_for(doctor).get(specimen.patient.get_absolute_url()).content.decode()
    assert "Unsatisfactory for evaluation" in history


def test_the_form_shows_consistency_errors_next_to_the_fields(client_for, doctor, specimen, cells):
    response = client_for(doctor).post(reverse("diagnostics:sign_off", args=[specimen.pk]), {
        "adequacy": "satisfactory", "general_category": "nilm", "interpretation": "hsil"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'class="field has-errors"' in page and "is in the general category" in page
    assert not SpecimenSignOff.objects.exists()


def test_the_ai_suggests_a_general_category_never_the_interpretation(
        client_for, doctor, specimen, cells):
    response = client_for(doctor).get(reverse("diagnostics:review", args=[specimen.pk]))
    form = response.context["sign_off_form"]
    assert form["general_category"].value() == "epithelial_abnormality"
    assert form["interpretation"].value() is None
    page = response.content.decode()
    assert "Suggested general category" in page and "Koilocytotic 1" in page


def test_the_printed_report_has_every_section_and_no_triage_sentence(
        client_for, doctor, specimen, cells):
    review.sign_off_specimen(specimen, doctor, **LSIL)
    review.amend_sign_off(specimen, doctor, "HPV result arrived", **LSIL)
    page = client_for(doctor).get(reverse("diagnostics:report", args=[specimen.pk])).content.decode()
    for section in ["CelInsight Demo Cytology Laboratory", "1 Example Street", "Test Patient",
                    "MRN-1", "age 46", "Liquid-based preparation", "Specimen adequacy",
                    "Endocervical/transformation zone component present",
                    "General categorisation", "Epithelial cell abnormality",
                    "Interpretation/result", "SNOMED CT 62051000119105", "LOINC 47527-7",
                    "Adjunctive testing (HPV)", "HPV 16 detected",
                    "Computer-assisted interpretation", "model version test-model",
                    "The final interpretation is the signer&#39;s", "Colposcopy",
                    "LSIL usually regresses.", "Report history", "HPV result arrived",
                    "amendment, version 2", "Text of version 1 as signed"]:
        assert section in page, section
    assert TRIAGE_RULE not in page and "Triage score" not in page


def test_the_printed_report_numbers_its_pages():
    assert 'counter(page) " of " counter(pages)' in open(finders.find("css/app.css")).read()


def test_the_api_signs_a_report_with_lists_and_refuses_an_inconsistent_one(
        doctor, specimen, cells):
    client, url = api_as(doctor), reverse("api:sign_offs", args=[specimen.pk])
    refused = client.post(url, {**LSIL, "organisms": ["candida"]}, format="json")
    assert refused.status_code == 400 and "organisms" in refused.json()
    nested = client.post(url, {**LSIL, "adequacy": ["satisfactory"]}, format="json")
    assert nested.status_code == 400 and "adequacy" in nested.json()
    signed = client.post(url, LSIL, format="json")
    assert signed.status_code == 201, signed.json()
    body = signed.json()
    assert (body["interpretation"], body["recommendations"], body["hpv_result"]) == (
        "lsil", ["colposcopy"], "positive_16")
    assert body["codes"]["report"]["code"] == "47527-7"


def test_the_signer_is_printed_with_qualifications_and_registration(doctor, specimen, cells):
    from accounts.models import StaffProfile
    doctor.first_name, doctor.last_name = "Dana", "Pathologist"
    doctor.save()
    StaffProfile.objects.create(user=doctor, qualifications="MD, FCAP", registration="GMC 1234567")
    report = review.sign_off_specimen(specimen, doctor, **LSIL)
    assert report.signer_credentials == "Dana Pathologist, MD, FCAP, Pathologist, GMC 1234567"
    assert report.signer_credentials in report.report_text


def test_the_admin_edits_qualifications_on_the_user_page(client_for, administrator, doctor):
    url = reverse("admin:auth_user_change", args=[doctor.pk])
    page = client_for(administrator).get(url)
    assert [formset.formset.prefix for formset in page.context["inline_admin_formsets"]] == ["profile"]
