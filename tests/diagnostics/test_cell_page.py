"""The cell page: one classified cell large, with its probabilities and the previous and
next cells of the gallery's ranked order."""
import re

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from diagnostics.models import CellReview, CellResult

NORMAL = {"Dyskeratotic": 0.02, "Koilocytotic": 0.03, "Metaplastic": 0.05, "Parabasal": 0.1,
          "Superficial-Intermediate": 0.8}


def suspicious(abnormal):
    return {"Dyskeratotic": abnormal * 0.6, "Koilocytotic": abnormal * 0.4,
            "Metaplastic": 0.0, "Parabasal": 0.0, "Superficial-Intermediate": 1 - abnormal}


def cell_url(result):
    return reverse("diagnostics:cell", args=[result.image.specimen_id, result.pk])


@pytest.fixture
def flagged(specimen, make_result):
    result = make_result(specimen, suspicious(0.9), refer=True)
    CellResult.objects.filter(pk=result.pk).update(heatmap=f"heatmaps/{specimen.pk}/1.png")
    result.refresh_from_db()
    return result


def test_it_shows_the_cell_its_probabilities_and_overlay(client_for, doctor, flagged):
    page = client_for(doctor).get(cell_url(flagged)).content.decode()
    assert f'src="{flagged.image.file_url()}"' in page  # content-addressed, cached a year
    assert f'src="{flagged.heatmap_url()}"' in page
    assert "regions that most raised the predicted class's score" in page
    assert "Refer to cytologist" in page and "below the model's referral threshold" in page
    rows = re.findall(r'<th scope="row">([^<]+)</th><td>([\d.]+)</td>', page)
    assert rows[0] == ("Dyskeratotic", "0.540")
    assert len(rows) == 5
    assert "Not reviewed" in page


def test_it_shows_the_reviewed_class(client_for, doctor, flagged):
    CellReview.objects.create(result=flagged, reviewer=doctor, reviewed_class="Metaplastic",
                              accepted=False)
    page = client_for(doctor).get(cell_url(flagged)).content.decode()
    assert "Metaplastic (overridden)" in page


def test_a_cell_without_overlay_says_so(client_for, doctor, specimen, make_result):
    normal = make_result(specimen, NORMAL)
    page = client_for(doctor).get(cell_url(normal)).content.decode()
    assert "heatmap" not in page and "data-overlay-toggle" not in page
    assert "No Grad-CAM overlay stored for this cell" in page
    assert "Not flagged" in page


def test_other_doctor_gets_404(client_for, other_doctor, flagged):
    assert client_for(other_doctor).get(cell_url(flagged)).status_code == 404


def test_lab_staff_see_it_as_they_see_the_specimen_page(client_for, lab_staff, flagged):
    client = client_for(lab_staff)
    specimen_page = client.get(flagged.image.specimen.get_absolute_url())
    assert client.get(cell_url(flagged)).status_code == specimen_page.status_code == 200


def test_a_result_of_another_specimen_is_404(client_for, doctor, flagged, specimen,
                                              make_result):
    other = specimen.__class__.objects.create(patient=specimen.patient, accession_number="ACC-2",
                                              collected_on="2026-11-02",
                                              created_by=specimen.created_by)
    elsewhere = make_result(other, NORMAL)
    url = reverse("diagnostics:cell", args=[specimen.pk, elsewhere.pk])
    assert client_for(doctor).get(url).status_code == 404


def test_a_queued_result_is_404(client_for, doctor, specimen, make_result):
    queued = make_result(specimen, {}, status="queued")
    assert client_for(doctor).get(cell_url(queued)).status_code == 404


def test_each_view_leaves_one_access_entry(client_for, doctor, flagged):
    before = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count()
    client_for(doctor).get(cell_url(flagged))
    entries = LogEntry.objects.filter(action=LogEntry.Action.ACCESS)[before:]
    assert [(entry.actor, entry.object_id) for entry in entries] == [(doctor, flagged.pk)]


def test_previous_and_next_follow_the_gallery_ranking(client_for, doctor, specimen,
                                                      make_result):
    middle = make_result(specimen, suspicious(0.5))
    least = make_result(specimen, NORMAL)
    most = make_result(specimen, suspicious(0.9))
    client = client_for(doctor)

    def steps(result):
        page = client.get(cell_url(result)).content.decode()
        found = dict((step, int(pk)) for pk, step in re.findall(
            r'/cells/(\d+)/" rel="\w+" data-cell-step="(\w+)"', page))
        return found.get("previous"), found.get("next")

    assert steps(most) == (None, middle.pk)
    assert steps(middle) == (most.pk, least.pk)
    assert steps(least) == (middle.pk, None)
    assert "Cell 2 of 3" in client.get(cell_url(middle)).content.decode()
    assert "→ or j next" in client.get(cell_url(most)).content.decode()


def test_the_review_page_links_each_cell_to_its_page_with_its_overlay(client_for, doctor,
                                                                       flagged):
    page = client_for(doctor).get(
        reverse("diagnostics:review", args=[flagged.image.specimen_id])).content.decode()
    assert f'href="{cell_url(flagged)}" aria-label="Open {flagged.image.original_name} large"' in page
    assert f'src="{flagged.heatmap_url()}"' in page
    assert f'src="{flagged.image.thumbnail_url()}"' in page  # the light, cached preview
