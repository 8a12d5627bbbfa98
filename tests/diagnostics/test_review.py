import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from diagnostics.models import CellReview, SpecimenSignOff

PROBABILITIES = {"Dyskeratotic": 0.45, "Koilocytotic": 0.35, "Parabasal": 0.2}


@pytest.fixture
def flagged(specimen, make_result):
    return make_result(specimen, PROBABILITIES, refer=True)


@pytest.fixture
def confident(specimen, make_result):
    return make_result(specimen, {"Parabasal": 0.97, "Dyskeratotic": 0.03})


def review(client, result, reviewed_class):
    url = reverse("diagnostics:review_cell", args=[result.image.specimen_id, result.pk])
    return client.post(url, {"reviewed_class": reviewed_class}, follow=True)


def report(interpretation, **fields):
    return {"adequacy": "satisfactory", "interpretation": interpretation, **fields}


def sign_off(client, specimen, interpretation="hsil", comment=""):
    url = reverse("diagnostics:sign_off", args=[specimen.pk])
    return client.post(url, report(interpretation, comment=comment), follow=True)


def amend(client, specimen, interpretation, reason, **fields):
    url = reverse("diagnostics:amend", args=[specimen.pk])
    return client.post(url, report(interpretation, amendment_reason=reason, **fields), follow=True)


def test_doctor_sees_flagged_cells_first_on_the_review_page(
        client_for, doctor, specimen, confident, flagged):
    response = client_for(doctor).get(reverse("diagnostics:review", args=[specimen.pk]))
    assert [result for result, form in response.context["cells"]] == [flagged, confident]
    assert "Refer to cytologist" in response.content.decode()



def test_review_page_shows_cells_a_page_at_a_time_and_returns_to_the_page_reviewed(
        client_for, doctor, specimen, make_result, monkeypatch):
    import diagnostics.views

    monkeypatch.setattr(diagnostics.views, "CELLS_PER_REVIEW_PAGE", 2)
    flagged, *normal = [make_result(specimen, PROBABILITIES, refer=True)] + [
        make_result(specimen, {"Parabasal": 0.97, "Dyskeratotic": 0.03}) for _ in range(2)]
    client = client_for(doctor)
    url = reverse("diagnostics:review", args=[specimen.pk])
    first = client.get(url)
    assert [result for result, _ in first.context["cells"]] == [flagged, normal[0]]
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(url + "?page=2")
    assert [result for result, _ in second.context["cells"]] == [normal[1]]
    review_url = reverse("diagnostics:review_cell", args=[specimen.pk, normal[1].pk])
    response = client.post(review_url, {"reviewed_class": "Parabasal", "page": "2"})
    assert response.url == url + "?page=2"

def test_specimen_page_links_doctors_to_the_review(client_for, doctor, lab_staff, specimen):
    review_url = reverse("diagnostics:review", args=[specimen.pk])
    assert review_url in client_for(doctor).get(specimen.get_absolute_url()).content.decode()
    assert review_url not in client_for(lab_staff).get(specimen.get_absolute_url()).content.decode()


def test_accepting_records_the_models_class(client_for, doctor, flagged):
    review(client_for(doctor), flagged, "Dyskeratotic")
    assert CellReview.objects.get(result=flagged).accepted


def test_override_is_recorded_as_labelled_data(client_for, doctor, flagged):
    response = review(client_for(doctor), flagged, "Koilocytotic")
    cell_review = CellReview.objects.get(result=flagged)
    assert (cell_review.accepted, cell_review.reviewed_class, cell_review.reviewer) == (
        False, "Koilocytotic", doctor)
    assert "overridden to Koilocytotic" in response.content.decode()
    assert LogEntry.objects.get_for_object(cell_review).exists()


def test_a_class_the_model_does_not_know_is_refused(client_for, doctor, flagged):
    review(client_for(doctor), flagged, "Unicorn")
    assert not CellReview.objects.exists()


def test_sign_off_is_blocked_until_flagged_cells_are_reviewed(client_for, doctor, specimen, flagged):
    client = client_for(doctor)
    response = sign_off(client, specimen)
    assert "1 cell(s) flagged" in response.content.decode()
    assert not SpecimenSignOff.objects.exists()
    review(client, flagged, "Dyskeratotic")
    sign_off(client, specimen, comment="HSIL pattern")
    signed = SpecimenSignOff.objects.get()
    assert (signed.version, signed.interpretation, signed.signed_by, signed.comment) == (
        1, "hsil", doctor, "HSIL pattern")


def test_sign_off_is_blocked_while_images_are_being_classified(
        client_for, doctor, specimen, make_result):
    make_result(specimen, {}, status="queued")
    assert "still being classified" in sign_off(client_for(doctor), specimen).content.decode()
    assert not SpecimenSignOff.objects.exists()


def test_reviews_are_read_only_after_sign_off(client_for, doctor, specimen, flagged):
    client = client_for(doctor)
    review(client, flagged, "Dyskeratotic")
    sign_off(client, specimen)
    response = review(client, flagged, "Parabasal")
    assert "its reviews are read-only" in response.content.decode()
    assert CellReview.objects.get().reviewed_class == "Dyskeratotic"


def test_a_second_sign_off_is_refused(client_for, doctor, specimen, confident):
    client = client_for(doctor)
    sign_off(client, specimen, "nilm")
    response = sign_off(client, specimen, "asc_us")
    assert "amend the sign-off" in response.content.decode()
    assert list(SpecimenSignOff.objects.values_list("interpretation", flat=True)) == ["nilm"]


def test_amendment_creates_version_2_and_keeps_version_1(client_for, doctor, specimen, confident):
    client = client_for(doctor)
    sign_off(client, specimen, "nilm")
    amend(client, specimen, "asc_us", "Atypical cells seen on second look")
    first, second = SpecimenSignOff.objects.order_by("version")
    assert (first.version, first.interpretation, first.amendment_reason) == (1, "nilm", "")
    assert (second.version, second.interpretation) == (2, "asc_us")
    assert second.amendment_reason == "Atypical cells seen on second look"
    page = client.get(specimen.get_absolute_url()).content.decode()
    assert "(ASC-US)" in page and "(NILM)" in page


def test_amendment_needs_a_reason(client_for, doctor, specimen, confident):
    client = client_for(doctor)
    sign_off(client, specimen, "nilm")
    amend(client, specimen, "asc_us", "  ")
    assert SpecimenSignOff.objects.count() == 1


def test_lab_staff_cannot_sign_off(client_for, lab_staff, specimen, confident):
    client = client_for(lab_staff)
    assert sign_off(client, specimen).status_code == 403
    assert client.get(reverse("diagnostics:review", args=[specimen.pk])).status_code == 403
    assert not SpecimenSignOff.objects.exists()


def test_administrators_cannot_sign_off(client_for, administrator, specimen, confident):
    assert sign_off(client_for(administrator), specimen).status_code == 403


def test_doctor_not_assigned_to_the_patient_gets_404(client_for, other_doctor, specimen, flagged):
    client = client_for(other_doctor)
    assert client.get(reverse("diagnostics:review", args=[specimen.pk])).status_code == 404
    assert review(client, flagged, "Parabasal").status_code == 404
    assert sign_off(client, specimen).status_code == 404
    assert not CellReview.objects.exists() and not SpecimenSignOff.objects.exists()
