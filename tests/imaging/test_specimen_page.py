import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from diagnostics.models import CellResult
from diagnostics.presentation import GALLERY_SIZE
from imaging.models import ImageAsset

CLASSES = ["Dyskeratotic", "Koilocytotic", "Metaplastic", "Parabasal", "Superficial-Intermediate"]
NORMAL = {"Dyskeratotic": 0.02, "Koilocytotic": 0.03, "Metaplastic": 0.05, "Parabasal": 0.1,
          "Superficial-Intermediate": 0.8}


def add_cell(specimen, probabilities, refer=False, heatmap=""):
    number = ImageAsset.objects.count() + 1
    image = ImageAsset.objects.create(
        specimen=specimen, file=f"specimens/{specimen.pk}/cell{number}.png",
        original_name=f"cell{number}.png", sha256=f"{number:064x}", image_format="PNG",
        width=8, height=8, size_bytes=100)
    return CellResult.objects.create(
        image=image, model_version="test-model", status="done", probabilities=probabilities,
        predicted_class=max(probabilities, key=probabilities.get), refer_to_cytologist=refer,
        heatmap=heatmap)


def suspicious(abnormal):
    """Probabilities with ``abnormal`` mass on the abnormal classes."""
    return {"Dyskeratotic": abnormal * 0.6, "Koilocytotic": abnormal * 0.4,
            "Metaplastic": 0.0, "Parabasal": 0.0, "Superficial-Intermediate": 1 - abnormal}


def gallery_of(page):
    return re.findall(r'class="cell-card[^"]*" data-result="(\d+)"', page)


@pytest.fixture
def page_of(client_for, lab_staff, specimen):
    client = client_for(lab_staff)
    return lambda: client.get(specimen.get_absolute_url()).content.decode()


def test_chart_data_counts_classes_and_lists_confidences(page_of, specimen):
    add_cell(specimen, NORMAL)
    add_cell(specimen, NORMAL)
    add_cell(specimen, suspicious(0.9))
    page = page_of()
    data = json.loads(re.search(r'<script id="specimen-charts" type="application/json">(.*?)'
                                r'</script>', page).group(1))
    assert data["classes"] == CLASSES
    assert data["counts"] == [1, 0, 0, 0, 2]
    assert sorted(data["confidences"]) == [0.54, 0.8, 0.8]


def test_charts_are_drawn_by_the_server_without_plotly_or_a_cdn(page_of, specimen):
    add_cell(specimen, NORMAL)
    add_cell(specimen, suspicious(0.9))
    page = page_of()
    assert "plotly" not in page.lower() and "cdn" not in page.lower()
    chart = page[page.index('<svg id="class-chart"'):].split("</svg>")[0]
    assert 'aria-label="Number of cells per predicted class: Dyskeratotic 1, ' in chart
    assert chart.count('<rect class="abnormal"') == 2  # Dyskeratotic and Koilocytotic
    assert "<title>Superficial-Intermediate: 1 cell</title>" in chart


def test_a_specimen_without_classified_cells_has_no_charts(page_of):
    page = page_of()
    assert "specimen-charts" not in page and "plotly" not in page


def test_gallery_ranks_the_most_suspicious_cells_first(page_of, specimen):
    low, high, middle = (add_cell(specimen, suspicious(p)) for p in (0.1, 0.95, 0.5))
    assert gallery_of(page_of()) == [str(high.pk), str(middle.pk), str(low.pk)]


def test_gallery_marks_flagged_cells_and_shows_stored_heatmaps(page_of, specimen):
    flagged = add_cell(specimen, suspicious(0.6), refer=True,
                       heatmap=f"heatmaps/{specimen.pk}/1.png")
    add_cell(specimen, NORMAL)
    page = page_of()
    card = page[page.index(f'data-result="{flagged.pk}"'):].split("</li>")[0]
    assert 'class="flag refer"' in card and "0.600" in card
    heatmap_url = reverse("imaging:heatmap_file", args=[flagged.image_id, flagged.pk])
    assert page.count(heatmap_url) == 1
    assert "1 flagged for a cytologist" in page


def test_gallery_pages_through_every_cell_and_says_how_many_there_are(
        client_for, lab_staff, specimen):
    for index in range(GALLERY_SIZE + 2):
        add_cell(specimen, suspicious(index / 100))
    client = client_for(lab_staff)
    first = client.get(specimen.get_absolute_url()).content.decode()
    assert len(gallery_of(first)) == GALLERY_SIZE
    assert f"Showing 1–{GALLERY_SIZE} of {GALLERY_SIZE + 2} classified cells" in first
    assert 'href="?cells=2#gallery"' in first  # the next page opens at the gallery
    second = client.get(specimen.get_absolute_url(), {"cells": 2}).content.decode()
    assert len(gallery_of(second)) == 2
    assert not set(gallery_of(first)) & set(gallery_of(second))
    assert 'aria-label="Cell 49: ' in second  # ranks continue across pages
    assert client.get(specimen.get_absolute_url(), {"cells": 3}).status_code == 404


def test_each_gallery_cell_is_a_link_named_for_what_it_shows(page_of, specimen):
    flagged = add_cell(specimen, {**NORMAL, "Koilocytotic": 0.93, "Superficial-Intermediate": 0.0,
                                  "Dyskeratotic": 0.07, "Metaplastic": 0.0, "Parabasal": 0.0},
                       refer=True)
    page = page_of()
    cell_page = reverse("diagnostics:cell", args=[specimen.pk, flagged.pk])
    assert (f'<a class="cell-link" href="{cell_page}" '
            f'aria-label="Cell 1: Koilocytotic 0.93, flagged">') in page


def test_gallery_polls_for_heatmaps_only_while_some_are_missing(client_for, lab_staff, specimen):
    flagged = add_cell(specimen, suspicious(0.8), refer=True)
    CellResult.objects.filter(pk=flagged.pk).update(finished_at=timezone.now())
    client = client_for(lab_staff)
    page = client.get(specimen.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 3s"' in page
    CellResult.objects.filter(pk=flagged.pk).update(heatmap=f"heatmaps/{specimen.pk}/1.png")
    poll = client.get(specimen.get_absolute_url(), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gallery")
    fragment = poll.content.decode()
    flagged.refresh_from_db()
    assert fragment.startswith('<section id="gallery"') and "<html" not in fragment
    assert "hx-trigger" not in fragment and flagged.heatmap_url() in fragment


def test_the_page_makes_as_many_queries_for_many_cells_as_for_few(
        page_of, specimen, django_assert_max_num_queries):
    add_cell(specimen, NORMAL)
    add_cell(specimen, suspicious(0.7), refer=True, heatmap=f"heatmaps/{specimen.pk}/2.png")
    page_of()  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        page_of()
    for index in range(20):
        add_cell(specimen, suspicious(index / 20), refer=index % 3 == 0,
                 heatmap=f"heatmaps/{specimen.pk}/{index}.png" if index % 2 else "")
    with django_assert_max_num_queries(len(few)):
        page_of()
