"""Getting around the screener's bench: the worklist opens the specimen page, whose review
link says "Amend" once the specimen is signed off, and people are named by full name."""
import pytest
from django.urls import reverse

from diagnostics.models import CellReview, SpecimenReopening, SpecimenSignOff
from diagnostics.triage import update_triage_score

NEGATIVE = SpecimenSignOff.Interpretation.NILM


@pytest.fixture
def classified(specimen, make_result):
    make_result(specimen, {"Dyskeratotic": 0.8, "Parabasal": 0.2})
    update_triage_score(specimen)
    return specimen


def signed(specimen, doctor, version=1):
    return SpecimenSignOff.objects.create(specimen=specimen, signed_by=doctor, version=version,
                                          interpretation=NEGATIVE)


def review_link_text(client, specimen):
    page = client.get(specimen.get_absolute_url()).content.decode()
    review_url = reverse("diagnostics:review", args=[specimen.pk])
    start = page.index(f'href="{review_url}"')
    return page[page.index(">", start) + 1:page.index("</a>", start)]


def test_the_worklist_opens_the_specimen_page(client_for, doctor, classified):
    page = client_for(doctor).get(reverse("diagnostics:worklist")).content.decode()
    assert f'<a href="{classified.get_absolute_url()}">{classified.accession_number}</a>' in page


def test_an_open_specimen_links_to_review_and_sign_off(client_for, doctor, classified):
    assert review_link_text(client_for(doctor), classified) == "Review and sign off"


def test_a_signed_off_specimen_links_to_amend(client_for, doctor, classified):
    signed(classified, doctor)
    assert review_link_text(client_for(doctor), classified) == "Amend"


def test_a_reopened_specimen_links_to_review_and_sign_off_again(client_for, doctor, classified):
    sign_off = signed(classified, doctor)
    SpecimenReopening.objects.create(specimen=classified, reopened_by=doctor,
                                     reopened_version=sign_off.version, reason="More slides")
    assert review_link_text(client_for(doctor), classified) == "Review and sign off"


def test_people_are_named_by_full_name_everywhere(client_for, doctor, classified, make_result):
    doctor.first_name, doctor.last_name = "Ada", "Lovelace"
    doctor.save()
    result = make_result(classified, {"Koilocytotic": 0.6, "Parabasal": 0.4}, refer=True)
    CellReview.objects.create(result=result, reviewer=doctor, reviewed_class="Parabasal",
                              accepted=False)
    signed(classified, doctor)
    client = client_for(doctor)
    for url in [classified.get_absolute_url(), classified.patient.get_absolute_url(),
                reverse("diagnostics:review", args=[classified.pk]),
                reverse("diagnostics:report", args=[classified.pk])]:
        page = client.get(url).content.decode()
        assert "Ada Lovelace" in page, url
        assert doctor.username not in page, url


def test_a_person_without_a_full_name_is_named_by_username(client_for, doctor, classified):
    signed(classified, doctor)
    page = client_for(doctor).get(classified.get_absolute_url()).content.decode()
    assert f"version 1 · {doctor.username} ·" in page
