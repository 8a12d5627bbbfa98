"""Whole-slide uploads: a pyramidal TIFF of demo cells on glass stored once as a slide, scanned
by the worker tile by tile, rows kept only for the top-scored and flagged cells, every cell in
its Parquet table; a file that is not a slide refused by name; the specimen page's queries do
not grow with the slides and their cells."""
import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from diagnostics import tasks
from diagnostics.engine.cell_table import read_cell_table
from diagnostics.engine.synthetic_slide import SlideLayout, write_pyramidal_tiff
from diagnostics.models import NILM_CATEGORY, CellResult
from diagnostics.triage import suspicious_cells
from imaging.models import FieldOfView, ImageAsset
from tests.imaging.field_images import png_upload, synthetic_field


def slide_upload(tmp_path, name="smear.tiff", seed=0):
    """A 1,500 x 1,100 two-level pyramidal TIFF: four fields of demo cells on glass."""
    fields = [synthetic_field(seed=seed + 6 * index) for index in range(4)]
    layout = SlideLayout.grid(fields, width=1500, height=1100, gap=60)
    path = write_pyramidal_tiff(tmp_path / name, layout, mpp=0.275)
    return SimpleUploadedFile(name, path.read_bytes(), content_type="image/tiff")


def upload(client, specimen, files, content="auto"):
    return client.post(reverse("imaging:upload", args=[specimen.pk]),
                       {"files": files, "content": content}, follow=True)


def scan_queued_slides():
    return tasks.find_cells_in_fields(
        list(FieldOfView.objects.filter(status="queued").values_list("pk", flat=True)))


def test_a_slide_is_scanned_and_keeps_rows_only_for_its_top_and_flagged_cells(
        client_for, lab_staff, specimen, tmp_path, settings):
    settings.SLIDE_CELL_ROWS, settings.SLIDE_FLAGGED_ROWS = 3, 4
    page = upload(client_for(lab_staff), specimen, [slide_upload(tmp_path)])
    [slide] = ImageAsset.objects.all()
    assert slide.kind == "slide" and slide.field_of_view.status == "queued"
    assert (slide.width, slide.height) == (1500, 1100)
    assert "1 whole slide(s) stored" in page.content.decode()

    scan_queued_slides()
    scan = FieldOfView.objects.get()
    assert scan.status == "done", scan.error
    assert scan.tiles_done == scan.tiles_total > 0
    with scan.cell_table.open("rb") as stored:
        table = read_cell_table(stored).to_pydict()
    assert len(table["x"]) == scan.cells_found > 3
    probabilities = np.array([values for name, values in table.items() if name.startswith("p_")])
    assert np.allclose(probabilities.sum(axis=0), 1, atol=1e-4)
    bethesda = np.array([values for name, values in table.items() if name.startswith("b_")])
    assert bethesda.shape[0] == 6 and np.allclose(bethesda.sum(axis=0), 1, atol=1e-4)
    names = [name.removeprefix("b_") for name in table if name.startswith("b_")]
    assert table["bethesda_category"] == [names[i] for i in bethesda.argmax(axis=0)]
    # The Bethesda model is served: the cells it calls abnormal are the flagged ones.
    flagged = sum(category != NILM_CATEGORY for category in table["bethesda_category"])
    crops = ImageAsset.objects.filter(source_field=scan)
    assert crops.count() == scan.cells_cut == min(4, flagged) + min(3, len(table["x"]) - flagged)
    # Classified in the scan, from its tiles' pass: no result is queued for a second one.
    results = CellResult.objects.filter(image__in=crops)
    assert results.filter(status="done").count() == crops.count()
    row_at = {(round(x), round(y)): row for row, (x, y) in enumerate(zip(table["x"], table["y"]))}
    for result in results.select_related("image"):
        row = row_at[(round(result.image.field_x), round(result.image.field_y))]
        assert result.predicted_class == table["predicted_class"][row]
        assert result.bethesda_category == table["bethesda_category"][row]
        assert result.refer_to_cytologist == table["referred"][row]
        assert abs(result.probabilities[result.predicted_class]
                   - table[f"p_{result.predicted_class}"][row]) < 1e-5
    if flagged < len(table["x"]):  # the best-scored unflagged cell has a row
        best = max(score for score, category in zip(
            table["detector_score"], table["bethesda_category"]) if category == NILM_CATEGORY)
        assert np.isclose(crops.values_list("detection_score", flat=True), best).any()


def test_a_slides_suspicious_cells_are_the_bethesda_models_where_it_answers():
    bethesda_classes = ["ASC-US", NILM_CATEGORY, "HSIL"]
    flagged, suspicion = suspicious_cells(
        np.array([[0.2, 0.7, 0.1], [0.5, 0.2, 0.3]]), bethesda_classes)
    assert flagged.tolist() == [False, True]
    assert np.allclose(suspicion, [0.3, 0.8])
    # Without a Bethesda model: the morphology model's abnormal classes, and its referrals.
    morphology_classes = ["Dyskeratotic", "Koilocytotic", "Parabasal"]
    flagged, suspicion = suspicious_cells(
        np.array([[0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]), morphology_classes,
        referred=np.array([False, True, False]))
    assert flagged.tolist() == [False, True, True]
    assert np.allclose(suspicion, [0.2, 0.2, 0.8])


def test_a_file_named_svs_that_is_no_slide_is_refused_by_name_and_the_batch_goes_on(
        client_for, lab_staff, specimen, tmp_path):
    fake = SimpleUploadedFile("scan.svs", b"not a slide at all" * 100)
    page = upload(client_for(lab_staff), specimen,
                  [fake, png_upload("field.png", synthetic_field())]).content.decode()
    assert list(ImageAsset.objects.values_list("original_name", "kind")) == [("field.png", "field")]
    assert "scan.svs is not a whole-slide image OpenSlide can read" in page


def test_the_specimen_page_runs_as_many_queries_with_more_slides_and_cells(
        client_for, lab_staff, specimen, tmp_path, settings):
    client = client_for(lab_staff)

    def page_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(specimen.get_absolute_url()).status_code == 200
        return len(queries)

    settings.SLIDE_CELL_ROWS = 2
    upload(client, specimen, [slide_upload(tmp_path, "first.tiff")])
    scan_queued_slides()
    one_slide = page_queries()
    settings.SLIDE_CELL_ROWS = 8
    upload(client, specimen, [slide_upload(tmp_path, "second.tiff", seed=3)])
    scan_queued_slides()
    assert ImageAsset.objects.filter(kind="cell").count() > 10
    assert page_queries() == one_slide
