"""'Awaiting my review' lists what is a pathologist's: not cases still with the screeners."""
from django.urls import reverse

from accounts.access import assign_doctor
from diagnostics.triage import update_triage_score
from tests.cases.conftest import ABNORMAL
from tests.cases.test_routing import screen

WORKLIST = reverse("diagnostics:worklist")


def listed(client):
    return [s.accession_number for s in client.get(WORKLIST).context["page"].object_list]


def test_cases_in_screening_are_not_on_the_worklist(client_for, accessioned, lab, pathologist,
                                                     cytotechnologist, make_result):
    waiting, screening, sent = (accessioned(lab, n) for n in (1, 2, 3))
    for case in (waiting, screening, sent):
        make_result(case.specimen, ABNORMAL)
        update_triage_score(case.specimen)
        assign_doctor(case.specimen.patient, pathologist)  # visible through a grant, too
    screener = client_for(cytotechnologist)
    screener.post(reverse("cases:claim", args=[screening.pk]))
    screener.post(reverse("cases:claim", args=[sent.pk]))
    screen(screener, sent, "lsil")
    assert listed(client_for(pathologist)) == [sent.specimen.accession_number]


def test_a_specimen_without_a_case_is_listed_as_before(client_for, doctor, specimen, make_result):
    make_result(specimen, ABNORMAL)
    update_triage_score(specimen)
    assert listed(client_for(doctor)) == [specimen.accession_number]


def test_the_screening_page_links_cytotechnologists_to_cell_review(client_for, case,
                                                                    cytotechnologist):
    client = client_for(cytotechnologist)
    client.post(reverse("cases:claim", args=[case.pk]))
    page = client.get(reverse("cases:screen", args=[case.pk])).content.decode()
    assert reverse("diagnostics:review", args=[case.specimen.pk]) in page
