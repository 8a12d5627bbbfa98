"""Reviewing cells in place: htmx posts answer with the cell's row, not a page; a note per
cell; every flagged cell accepted in one step, audited per review; only reviewers may."""
from types import SimpleNamespace

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from diagnostics import review
from diagnostics.models import CellReview, SpecimenSignOff

PROBABILITIES = {"Dyskeratotic": 0.45, "Koilocytotic": 0.35, "Parabasal": 0.2}
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def flagged(specimen, make_result):
    return [make_result(specimen, PROBABILITIES, refer=True) for _ in range(3)]


@pytest.fixture
def confident(specimen, make_result):
    return make_result(specimen, {"Parabasal": 0.97, "Dyskeratotic": 0.03})


@pytest.fixture
def ada(doctor):
    doctor.first_name, doctor.last_name = "Ada", "Lovelace"
    doctor.save()
    return doctor


def review_url(result):
    return reverse("diagnostics:review_cell", args=[result.image.specimen_id, result.pk])


def accept_all_url(specimen):
    return reverse("diagnostics:accept_all_flagged", args=[specimen.pk])


def test_accept_from_htmx_answers_with_the_cells_row(client_for, ada, flagged):
    cell = flagged[0]
    response = client_for(ada).post(review_url(cell), {"action": "accept", "note": ""}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<tr id="cell-{cell.pk}"')
    assert "Accepted" in html and "Ada Lovelace" in html and "<html" not in html
    assert "2 flagged cells still to review." in html  # the count, swapped out of band
    assert CellReview.objects.get(result=cell).accepted


def test_override_with_a_note_shows_the_models_class_too(client_for, ada, flagged):
    cell = flagged[0]
    response = client_for(ada).post(review_url(cell), {
        "action": "set", "reviewed_class": "Koilocytotic", "note": "  perinuclear halo  "}, **HTMX)
    html = response.content.decode()
    assert "Overridden to <strong>Koilocytotic</strong>" in html and "(model: Dyskeratotic)" in html
    saved = CellReview.objects.get(result=cell)
    assert (saved.reviewed_class, saved.accepted, saved.note) == (
        "Koilocytotic", False, "perinuclear halo")
    assert "perinuclear halo</textarea>" in html


def test_a_review_without_a_note_field_keeps_the_note(client_for, doctor, flagged):
    cell = flagged[0]
    client = client_for(doctor)
    client.post(review_url(cell), {"reviewed_class": "Parabasal", "note": "odd chromatin"})
    client.post(review_url(cell), {"reviewed_class": "Dyskeratotic"})  # the API's form
    assert CellReview.objects.get(result=cell).note == "odd chromatin"


def test_a_note_longer_than_free_text_allows_is_refused(client_for, doctor, flagged):
    response = client_for(doctor).post(review_url(flagged[0]), {
        "action": "accept", "note": "x" * 2001}, **HTMX)
    assert "keep the note under 2000 characters" in response.content.decode()
    assert not CellReview.objects.exists()


def test_without_javascript_a_review_goes_back_to_the_page(client_for, doctor, flagged):
    response = client_for(doctor).post(review_url(flagged[0]), {"action": "accept", "page": "1"})
    assert response.status_code == 302
    assert response.url == reverse("diagnostics:review", args=[flagged[0].image.specimen_id]) + "?page=1"


def test_the_last_flagged_review_asks_the_page_for_its_sign_off_form(client_for, doctor, flagged):
    client = client_for(doctor)
    for cell in flagged[:2]:
        response = client.post(review_url(cell), {"action": "accept"}, **HTMX)
        assert "HX-Trigger-After-Settle" not in response
    response = client.post(review_url(flagged[2]), {"action": "accept"}, **HTMX)
    assert response["HX-Trigger-After-Settle"] == "signOffChanged"
    assert "Every flagged cell is reviewed." in response.content.decode()


def test_accept_all_flagged_accepts_only_unreviewed_flagged_cells(ada, specimen, flagged,
                                                                   confident):
    review.review_cell(flagged[0], ada, "Parabasal")
    accepted = review.accept_all_flagged(specimen, ada)
    assert sorted(r.result_id for r in accepted) == sorted(cell.pk for cell in flagged[1:])
    reviews = {r.result_id: r for r in CellReview.objects.all()}
    assert reviews[flagged[0].pk].reviewed_class == "Parabasal"  # kept
    assert all(reviews[cell.pk].accepted and reviews[cell.pk].reviewer == ada
               for cell in flagged[1:])
    assert confident.pk not in reviews
    assert review.sign_off_blockers(specimen) == []


def test_each_review_accepted_in_bulk_has_its_audit_entry_naming_the_reviewer(
        client_for, ada, specimen, flagged):
    client_for(ada).post(accept_all_url(specimen), {})
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(CellReview),
        action=LogEntry.Action.CREATE)
    assert sorted(entry.object_id for entry in entries) == sorted(
        CellReview.objects.values_list("pk", flat=True))
    assert {entry.actor for entry in entries} == {ada}
    assert all(entry.changes_dict["reviewed_class"][1] == "Dyskeratotic" for entry in entries)


def test_accept_all_flagged_is_refused_once_signed_off(client_for, doctor, specimen, confident,
                                                       make_result):
    SpecimenSignOff.objects.create(specimen=specimen, version=1, interpretation="negative",
                                   signed_by=doctor)
    make_result(specimen, PROBABILITIES, refer=True)
    with pytest.raises(review.SpecimenClosed):
        review.accept_all_flagged(specimen, doctor)
    response = client_for(doctor).post(accept_all_url(specimen), {}, **HTMX)
    assert "its reviews are read-only" in response.content.decode()
    assert not CellReview.objects.exists()


def test_accept_all_asks_first_saying_how_many(client_for, doctor, specimen, flagged, confident):
    client = client_for(doctor)
    page = client.get(reverse("diagnostics:review", args=[specimen.pk])).content.decode()
    assert 'hx-confirm="Accept 3 flagged cells as predicted?"' in page
    confirmation = client.get(accept_all_url(specimen)).content.decode()  # without JavaScript
    assert "Accept 3 flagged cells as predicted?" in confirmation
    assert not CellReview.objects.exists()
    response = client.post(accept_all_url(specimen), {"page": "1"}, follow=True)
    assert "3 flagged cells accepted as predicted." in response.content.decode()
    assert CellReview.objects.count() == 3


def test_accept_all_from_htmx_answers_with_the_cell_list(client_for, doctor, specimen, flagged):
    response = client_for(doctor).post(accept_all_url(specimen), {"page": "1"}, **HTMX)
    html = response.content.decode()
    assert html.startswith('<section id="cells"') and html.count("Accepted") == 3
    assert response["HX-Trigger-After-Settle"] == "signOffChanged"


def test_lab_staff_may_not_review_cells(client_for, lab_staff, specimen, flagged):
    client = client_for(lab_staff)
    assert client.post(review_url(flagged[0]), {"action": "accept"}, **HTMX).status_code == 403
    assert client.post(accept_all_url(specimen), {}).status_code == 403
    assert client.get(accept_all_url(specimen)).status_code == 403
    assert not CellReview.objects.exists()


def test_screeners_and_doctors_who_sign_off_may_review_cells():
    def user_with(*permissions):
        return SimpleNamespace(has_perm=lambda name: name in permissions)
    assert review.may_review_cells(user_with(review.SIGN_OFF_PERMISSION))
    assert review.may_review_cells(user_with("cases.screen_case"))
    assert not review.may_review_cells(user_with("imaging.add_imageasset"))


def test_the_review_page_lists_its_keyboard_shortcuts_and_a_key_per_class(
        client_for, doctor, specimen, flagged):
    page = client_for(doctor).get(reverse("diagnostics:review", args=[specimen.pk]))
    html = page.content.decode()
    assert "Keyboard shortcuts" in html
    assert page.context["class_keys"] == list(PROBABILITIES)
    assert 'data-class-key="2" data-class="Koilocytotic"' in html
