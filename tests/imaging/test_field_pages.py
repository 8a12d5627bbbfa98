"""The pages of fields of view: the specimen page lists each field with how many cells it
held (or why it failed) and the adequacy help; a cell cut from a field links to its place on
the field's page; none of them makes more queries for more fields or cells."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Requisition
from diagnostics.models import CellResult
from imaging.models import FieldOfView, ImageAsset

NORMAL = {"Superficial-Intermediate": 0.9, "Parabasal": 0.1}
counter = iter(range(1, 10**6))


def add_image(specimen, **fields):
    number = next(counter)
    return ImageAsset.objects.create(
        specimen=specimen, file=f"specimens/{specimen.pk}/{number}.png",
        original_name=fields.pop("original_name", f"image{number}.png"),
        sha256=f"{number:064x}", image_format="PNG", size_bytes=100, **fields)


def add_field(specimen, cells=3, status="done", error="", name=None):
    """A field of view the worker searched, with ``cells`` classified crops cut from it."""
    image = add_image(specimen, kind="field", width=1280, height=960,
                      original_name=name or f"field{next(counter)}.jpg")
    field = FieldOfView.objects.create(image=image, status=status, error=error,
                                       cells_found=cells + 2 if status == "done" else None,
                                       cells_cut=cells if status == "done" else None,
                                       detector_version="log-boosted-1")
    for index in range(cells):
        crop = add_image(specimen, kind="cell", width=128, height=128, source_field=field,
                         field_x=100.0 + 50 * index, field_y=200.0, nucleus_radius=9.0,
                         detection_score=0.8)
        CellResult.objects.create(image=crop, model_version="test-model", status="done",
                                  probabilities=NORMAL, predicted_class="Superficial-Intermediate")
    return field


@pytest.fixture
def page_of(client_for, lab_staff, specimen):
    client = client_for(lab_staff)
    return lambda url=None: client.get(url or specimen.get_absolute_url()).content.decode()


def test_the_specimen_page_lists_each_field_with_the_cells_found_in_it(page_of, specimen):
    add_field(specimen, cells=3, name="good.jpg")
    add_field(specimen, cells=0, status="failed", name="broken.jpg",
              error="The stored field could not be read (truncated); upload it again.")
    page = page_of()
    assert 'id="fields"' in page and "good.jpg" in page and "broken.jpg" in page
    assert "<td>5</td>" in page and "<td>3</td>" in page  # found, classified from it
    assert "could not be read (truncated)" in page


def test_fields_are_not_listed_as_cells(page_of, specimen):
    field = add_field(specimen, cells=2)
    page = page_of()
    fields_table, images_table = page.split("<h2>Images and results</h2>")
    assert field.image.original_name in fields_table
    assert field.image.original_name not in images_table
    assert "2 classified cells" in page


def test_adequacy_help_shows_the_squamous_count_beside_the_requisitions_minimum(
        page_of, specimen, clinician):
    Requisition.objects.create(specimen=specimen, ordering_clinician=clinician,
                               specimen_type="liquid_based")
    add_field(specimen, cells=4)
    page = page_of()
    assert "<strong>4</strong> squamous cells detected" in page
    assert "0.1% of the 5000 a liquid-based preparation needs" in page
    assert "5000 well-preserved" in page and "8000 on a conventional smear" in page
    assert "only a sample" in page and "whole slide" in page


def test_adequacy_help_gives_both_minimums_without_a_requisition(page_of, specimen):
    add_field(specimen, cells=1)
    page = page_of()
    assert "no requisition gives this specimen's type" in page and "needs" not in page.split(
        'id="adequacy"')[1].split("</p>")[0]


def test_a_cell_cut_from_a_field_links_to_its_place_on_the_field(page_of, specimen):
    field = add_field(specimen, cells=2, name="north.jpg")
    crop = field.crops.order_by("pk").last()
    result = crop.results.get()
    page = page_of(reverse("diagnostics:cell", args=[specimen.pk, result.pk]))
    field_url = reverse("imaging:field", args=[specimen.pk, field.pk])
    assert f'href="{field_url}?cell={crop.pk}#cell-{crop.pk}"' in page
    assert "north.jpg</a> at x 150, y 200 px" in page


def test_the_field_page_marks_every_cell_and_the_one_asked_for(page_of, specimen):
    field = add_field(specimen, cells=3)
    chosen = field.crops.order_by("pk").first()
    page = page_of(reverse("imaging:field", args=[specimen.pk, field.pk]) + f"?cell={chosen.pk}")
    assert page.count("<circle") == 3
    assert f'id="cell-{chosen.pk}" cx="100" cy="200" r="9" fill="none" stroke="#ff7f00"' in page
    for crop in field.crops.all():
        assert reverse("diagnostics:cell", args=[specimen.pk, crop.results.get().pk]) in page


def test_another_specimens_field_is_not_found(client_for, lab_staff, specimen, patient):
    from imaging.models import Specimen

    other = Specimen.objects.create(patient=patient, accession_number="ACC-2",
                                    collected_on="2026-11-02")
    field = add_field(other, cells=1)
    response = client_for(lab_staff).get(reverse("imaging:field", args=[specimen.pk, field.pk]))
    assert response.status_code == 404


def test_the_specimen_and_field_pages_make_as_many_queries_for_many_fields_as_for_few(
        page_of, specimen, django_assert_max_num_queries):
    field = add_field(specimen, cells=2)
    add_field(specimen, cells=0, status="failed", error="broken")
    field_url = reverse("imaging:field", args=[specimen.pk, field.pk])
    page_of(), page_of(field_url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        page_of()
    with CaptureQueriesContext(connection) as few_on_field:
        page_of(field_url)
    for _ in range(6):
        add_field(specimen, cells=5)
    for index in range(20):
        crop = add_image(specimen, kind="cell", width=128, height=128, source_field=field,
                         field_x=10.0 * index, field_y=30.0, nucleus_radius=8.0,
                         detection_score=0.5)
        CellResult.objects.create(image=crop, model_version="test-model", status="done",
                                  probabilities=NORMAL, predicted_class="Parabasal")
    with django_assert_max_num_queries(len(few)):
        page_of()
    with django_assert_max_num_queries(len(few_on_field)):
        page_of(field_url)
