"""The pathologist's report starts from the screener's findings and the requisition."""
from django.urls import reverse

from cases.models import Requisition
from tests.cases.conftest import ABNORMAL
from tests.cases.test_routing import screen


def sent_on(client_for, case, cytotechnologist, make_result):
    make_result(case.specimen, ABNORMAL)
    client = client_for(cytotechnologist)
    client.post(reverse("cases:claim", args=[case.pk]))
    screen(client, case, "asc_us", comment="Few atypical cells.")


def test_the_sign_off_form_starts_from_the_screeners_findings(client_for, case, cytotechnologist,
                                                               pathologist, make_result):
    Requisition.objects.filter(specimen=case.specimen).update(hpv_result="positive")
    sent_on(client_for, case, cytotechnologist, make_result)
    page = client_for(pathologist).get(reverse("diagnostics:review", args=[case.specimen.pk]))
    form = page.context["sign_off_form"]
    assert form["interpretation"].value() == "asc_us"
    assert form["adequacy"].value() == "satisfactory"
    assert form["transformation_zone"].value() == "present"
    assert form["specimen_type"].value() == "liquid_based"
    assert form["hpv_result"].value() == "positive"
    html = page.content.decode()
    assert "The screener's findings" in html and "Few atypical cells." in html
    assert cytotechnologist.username in html or cytotechnologist.get_full_name() in html


def test_a_specimen_without_a_case_has_an_empty_form(client_for, doctor, specimen, make_result):
    make_result(specimen, ABNORMAL)
    page = client_for(doctor).get(reverse("diagnostics:review", args=[specimen.pk]))
    assert page.context["sign_off_form"]["interpretation"].value() in (None, "")
    assert page.context["screener_findings"] is None
