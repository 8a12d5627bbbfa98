"""The zoomable viewer of a field or a whole slide: who may open it, its Deep Zoom descriptor
and tiles, the cells it marks (a slide's from its Parquet table, region by region), one
access entry per page opened rather than per tile, and queries that do not grow with cells."""
import hashlib
import io
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from auditlog.models import LogEntry
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from diagnostics.engine.cell_table import CellTableWriter
from diagnostics.engine.synthetic_slide import SlideLayout, write_mirax, write_pyramidal_tiff
from diagnostics.models import NILM_CATEGORY, CellResult
from imaging import deep_zoom, viewer_cells
from imaging.models import FieldOfView, ImageAsset, Specimen
from tests.imaging.field_images import synthetic_field
from tests.imaging.pathless_storage import PathlessStorage
from tests.imaging.test_field_pages import add_field, add_image

ABNORMAL = {"Dyskeratotic": 0.8, "Parabasal": 0.2}
DZI = "{http://schemas.microsoft.com/deepzoom/2008}"


@pytest.fixture(autouse=True)
def empty_caches():
    for cache in (deep_zoom.fields_cache, deep_zoom.slides_cache, viewer_cells.cell_tables_cache):
        cache.clear()


def png_bytes(picture):
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def with_pixels(field, picture):
    """Store ``picture`` as the field's image, as an upload would."""
    data = png_bytes(picture)
    image = field.image
    image.file.save(f"{field.pk}.png", ContentFile(data), save=False)
    image.sha256, (image.width, image.height) = hashlib.sha256(data).hexdigest(), picture.size
    image.save()
    return field


def add_flagged_crop(field, x=400.0, y=300.0):
    crop = add_image(field.image.specimen, kind="cell", width=128, height=128,
                     source_field=field, field_x=x, field_y=y, nucleus_radius=10.0,
                     detection_score=0.9)
    return CellResult.objects.create(image=crop, model_version="test-model", status="done",
                                     probabilities=ABNORMAL, predicted_class="Dyskeratotic",
                                     refer_to_cytologist=True)


def urls(specimen, field):
    args = [specimen.pk, field.pk]
    return {"page": reverse("imaging:viewer", args=args),
            "cells": reverse("imaging:viewer_cells", args=args),
            "dzi": reverse("imaging:deep_zoom", args=args) + f"?v={field.image.version}",
            "tile": lambda level, column, row: reverse(
                "imaging:deep_zoom_tile", args=[*args, level, column, row])
            + f"?v={field.image.version}"}


@pytest.fixture
def field(specimen):
    return with_pixels(add_field(specimen, cells=3, name="north.png"), synthetic_field())


def test_the_viewer_page_names_each_class_and_loads_the_vendored_viewer(
        client_for, lab_staff, specimen, field):
    add_flagged_crop(field)
    page = client_for(lab_staff).get(urls(specimen, field)["page"]).content.decode()
    assert "Superficial-Intermediate: 3 cells" in page and "Dyskeratotic: 1 cell" in page
    assert "4 cells marked, 1 flagged" in page
    assert "vendor/openseadragon-5.0.1.min.js" in page and "js/slide_viewer.js" in page
    assert "<noscript>" in page and reverse("imaging:field", args=[specimen.pk, field.pk]) in page
    assert " style=" not in page and " onclick" not in page


def test_the_cells_of_a_field_link_to_their_pages_and_the_flagged_ones_can_be_asked_alone(
        client_for, lab_staff, specimen, field):
    flagged = add_flagged_crop(field)
    client = client_for(lab_staff)
    answer = client.get(urls(specimen, field)["cells"]).json()
    assert answer["shown"] == answer["in_region"] == 4 and not answer["truncated"]
    names = [kind["name"] for kind in answer["classes"]]
    first = answer["cells"][0]  # the most suspicious first
    assert names[first[3]] == "Dyskeratotic" and first[4] == 1
    assert first[:3] == [400.0, 300.0, 10.0] and first[6] == flagged.image_id
    assert first[5] == reverse("diagnostics:cell", args=[specimen.pk, flagged.pk])
    links = {cell[5] for cell in answer["cells"]}
    for crop in field.crops.all():
        assert reverse("diagnostics:cell", args=[specimen.pk, crop.results.get().pk]) in links
    only = client.get(urls(specimen, field)["cells"], {"flagged": "1"}).json()
    assert [cell[6] for cell in only["cells"]] == [flagged.image_id]


def test_a_region_gives_its_cells_and_a_bad_one_is_refused_by_name(
        client_for, lab_staff, specimen, field):
    client = client_for(lab_staff)
    region = {"left": 120, "top": 150, "right": 180, "bottom": 250}  # the cell at x 150
    answer = client.get(urls(specimen, field)["cells"], region).json()
    assert [cell[:2] for cell in answer["cells"]] == [[150.0, 200.0]]
    refused = client.get(urls(specimen, field)["cells"], {"left": "west", "top": 1})
    assert refused.status_code == 400 and "left, top, right and bottom" in refused.json()["error"]


def test_the_deep_zoom_descriptor_and_tiles_are_valid_and_kept_for_good(
        client_for, lab_staff, specimen, field):
    client, url = client_for(lab_staff), urls(specimen, field)
    response = client.get(url["dzi"])
    descriptor = ElementTree.fromstring(response.content)
    size = descriptor.find(f"{DZI}Size")
    assert (size.get("Width"), size.get("Height")) == ("640", "480")
    assert descriptor.get("TileSize") == "254" and descriptor.get("Format") == "jpeg"
    assert "immutable" in response["Cache-Control"] and "private" in response["Cache-Control"]
    top_level = 10  # ceil(log2(640)): the field at full size
    tile = client.get(url["tile"](top_level, 1, 0))
    assert tile["Content-Type"] == "image/jpeg" and "immutable" in tile["Cache-Control"]
    with Image.open(io.BytesIO(tile.content)) as picture:
        assert picture.size == (256, 255)  # 254 and a pixel of overlap each side but the top
    with Image.open(io.BytesIO(client.get(url["tile"](0, 0, 0)).content)) as smallest:
        assert smallest.size == (1, 1)
    assert client.get(url["tile"](top_level, 3, 0)).status_code == 404  # beyond the edge
    assert client.get(url["tile"](top_level + 1, 0, 0)).status_code == 404
    unversioned = client.get(url["tile"](top_level, 0, 0).split("?")[0])
    assert unversioned["Cache-Control"] == "private, no-cache"


def test_opening_the_viewer_logs_one_read_not_one_per_tile(
        client_for, lab_staff, doctor, specimen, field):
    client, url = client_for(lab_staff), urls(specimen, field)
    reads = LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
    client.get(url["page"])
    assert reads.count() == 1 and reads.get().object_id == field.image_id
    client.get(url["dzi"]), client.get(url["cells"])
    for column in range(3):
        assert client.get(url["tile"](10, column, 1)).status_code == 200
    assert reads.count() == 1
    # A tile fetched without the page (a script) is a read of its own.
    client_for(doctor).get(url["tile"](9, 0, 0))
    assert reads.filter(actor=doctor, object_id=field.image_id).count() == 1


@pytest.mark.parametrize("who", ["clinician", "other_doctor"])
def test_who_may_not_see_the_specimen_gets_nothing_of_the_viewer(
        client_for, request, specimen, field, who):
    client, url = client_for(request.getfixturevalue(who)), urls(specimen, field)
    for address in (url["page"], url["cells"], url["dzi"], url["tile"](10, 0, 0)):
        assert client.get(address).status_code == 404, address


def test_screeners_of_the_lab_and_the_assigned_doctor_open_the_viewer(
        client_for, doctor, cytotechnologist, lab, specimen, field):
    from accounts.access import assign_doctor
    from cases.models import Case

    Case.objects.create(specimen=specimen, lab=lab)
    assign_doctor(specimen.patient, doctor)
    for user in (doctor, cytotechnologist):
        assert client_for(user).get(urls(specimen, field)["page"]).status_code == 200


def test_a_field_of_another_specimen_is_not_found_through_this_one(
        client_for, lab_staff, specimen, patient):
    other = Specimen.objects.create(patient=patient, accession_number="ACC-2",
                                    collected_on="2026-11-02")
    elsewhere = with_pixels(add_field(other, cells=1), synthetic_field())
    client, url = client_for(lab_staff), urls(specimen, elsewhere)
    for address in (url["page"], url["cells"], url["dzi"], url["tile"](10, 0, 0)):
        assert client.get(address).status_code == 404, address


def test_a_field_whose_bytes_are_gone_answers_not_found_not_an_error(
        client_for, lab_staff, specimen):
    lost = add_field(specimen, cells=1)  # no bytes stored
    url = urls(specimen, lost)
    assert client_for(lab_staff).get(url["dzi"]).status_code == 404
    assert client_for(lab_staff).get(url["page"]).status_code == 200


def test_the_viewer_and_its_cells_make_as_many_queries_for_many_cells_as_for_few(
        client_for, lab_staff, specimen, field, django_assert_max_num_queries):
    client, url = client_for(lab_staff), urls(specimen, field)
    client.get(url["page"]), client.get(url["cells"])  # warm the session and permissions
    counted = {}
    for name in ("page", "cells"):
        with CaptureQueriesContext(connection) as queries:
            client.get(url[name])
        counted[name] = len(queries)
    for index in range(30):
        add_flagged_crop(field, x=20.0 * index, y=400.0)
    for name in ("page", "cells"):
        with django_assert_max_num_queries(counted[name]):
            assert client.get(url[name]).status_code == 200


def test_the_gallery_links_a_cell_cut_from_a_field_to_its_place_in_the_viewer(
        client_for, lab_staff, specimen, field):
    crop = field.crops.order_by("pk").first()
    page = client_for(lab_staff).get(specimen.get_absolute_url()).content.decode()
    place = (f'{reverse("imaging:viewer", args=[specimen.pk, field.pk])}'
             f'?x=100&amp;y=200&amp;cell={crop.pk}')
    assert place in page


def test_the_viewer_centres_where_a_link_asks(client_for, lab_staff, specimen, field):
    page = client_for(lab_staff).get(urls(specimen, field)["page"], {
        "x": "150", "y": "200.5", "cell": "7"}).content.decode()
    assert 'data-focus-x="150.0" data-focus-y="200.5" data-focus-cell="7"' in page
    odd = client_for(lab_staff).get(urls(specimen, field)["page"], {"x": "nan", "y": "1"})
    assert "data-focus-x" not in odd.content.decode()


# Whole slides: OpenSlide's Deep Zoom tiles and the cells of the Parquet table.

def add_slide(specimen, tmp_path, cells=5000, seed=0):
    """A 1,500 x 1,100 pyramidal TIFF slide, scanned: ``cells`` cells in its table (one in
    ten flagged), and one crop, for the first cell, with its result."""
    layout = SlideLayout.grid([synthetic_field()], width=1500, height=1100, gap=60)
    path = write_pyramidal_tiff(tmp_path / "smear.tiff", layout, mpp=0.275)
    data = path.read_bytes()
    image = ImageAsset(specimen=specimen, kind="slide", original_name="smear.tiff",
                       sha256=hashlib.sha256(data).hexdigest(), image_format="TIFF",
                       width=1500, height=1100, size_bytes=len(data))
    image.file.save("smear.tiff", ContentFile(data), save=False)
    image.save()
    field = FieldOfView.objects.create(image=image, status="done", cells_found=cells,
                                       cells_cut=1, tiles_done=2, tiles_total=2)
    random = np.random.default_rng(seed)
    x, y = random.uniform(0, 1500, cells), random.uniform(0, 1100, cells)
    classes = ["Dyskeratotic", "Parabasal", "Superficial-Intermediate"]
    probabilities = np.tile([0.05, 0.15, 0.8], (cells, 1))
    probabilities[::10] = [0.9, 0.05, 0.05]
    table = tmp_path / "cells.parquet"
    with CellTableWriter(table, classes) as writer:
        writer.write(x, y, np.full(cells, 11.0), random.uniform(0.5, 1, cells), probabilities,
                     np.zeros(cells, dtype=bool))
    field.cell_table.save("cells.parquet", ContentFile(table.read_bytes()))
    crop = add_image(specimen, kind="cell", width=128, height=128, source_field=field,
                     field_x=float(x[0]), field_y=float(y[0]), nucleus_radius=11.0,
                     detection_score=0.9)
    result = CellResult.objects.create(image=crop, model_version="test-model", status="done",
                                       probabilities=ABNORMAL, predicted_class="Dyskeratotic")
    return field, result, (x, y)


def test_a_slides_tiles_come_from_openslide_at_its_full_size(
        client_for, lab_staff, specimen, tmp_path):
    slide, _, _ = add_slide(specimen, tmp_path, cells=10)
    client, url = client_for(lab_staff), urls(specimen, slide)
    size = ElementTree.fromstring(client.get(url["dzi"]).content).find(f"{DZI}Size")
    assert (size.get("Width"), size.get("Height")) == ("1500", "1100")
    tile = client.get(url["tile"](11, 2, 1))  # ceil(log2(1500)) = 11: full size
    with Image.open(io.BytesIO(tile.content)) as picture:
        assert picture.size == (256, 256) and picture.format == "JPEG"
    assert client.get(url["tile"](11, 6, 0)).status_code == 404


def test_a_slides_cells_come_from_its_table_region_by_region_at_most_a_few_thousand(
        client_for, lab_staff, specimen, tmp_path):
    slide, result, (x, y) = add_slide(specimen, tmp_path, cells=5000)
    client, url = client_for(lab_staff), urls(specimen, slide)
    page = client.get(url["page"]).content.decode()
    assert "5000 cells marked, 500 flagged" in page and "Dyskeratotic: 500 cells" in page
    everything = client.get(url["cells"]).json()
    assert everything["in_region"] == 5000 and everything["truncated"]
    assert everything["shown"] == viewer_cells.MARKS_PER_REQUEST
    assert all(cell[4] == 1 for cell in everything["cells"][:500])  # flagged first
    region = {"left": 0, "top": 0, "right": 300, "bottom": 300}
    inside = (x <= 300) & (y <= 300)
    part = client.get(url["cells"], region).json()
    assert part["in_region"] == part["shown"] == int(inside.sum()) and not part["truncated"]
    flagged = client.get(url["cells"], {"flagged": "1"}).json()
    assert flagged["in_region"] == 500 and all(cell[4] for cell in flagged["cells"])
    linked = [cell for cell in everything["cells"] + part["cells"] if cell[5]]
    around_first = client.get(url["cells"], {"left": x[0] - 1, "top": y[0] - 1,
                                             "right": x[0] + 1, "bottom": y[0] + 1}).json()
    [first] = around_first["cells"]
    assert first[5] == reverse("diagnostics:cell", args=[specimen.pk, result.pk])
    assert first[6] == result.image_id
    assert all(cell[6] == result.image_id for cell in linked)


class RemoteFile:
    """A stored file as django-storages' S3 backend gives it: a name, a storage, no path."""

    def __init__(self, storage, name):
        self.storage, self.name = storage, name

    @property
    def path(self):
        raise NotImplementedError("This backend doesn't support absolute paths.")

    def open(self, mode):
        return self.storage.open(self.name, mode)


def test_a_slide_on_a_storage_without_paths_is_read_from_a_local_copy(tmp_path, monkeypatch):
    layout = SlideLayout.grid([synthetic_field()], width=800, height=600, gap=40)
    data = write_pyramidal_tiff(tmp_path / "remote.tiff", layout, mpp=0.275).read_bytes()
    storage = PathlessStorage()
    storage.save("specimens/1/remote.tiff", ContentFile(data))
    monkeypatch.setattr(deep_zoom, "SLIDE_COPIES_DIR", tmp_path / "copies")
    tiles = deep_zoom.slide_tiles(RemoteFile(storage, "specimens/1/remote.tiff"), "ab" * 32)
    assert tiles.level_dimensions[-1] == (800, 600)
    assert [copy.name for copy in (tmp_path / "copies").iterdir()] == ["ab" * 32]


def test_a_slide_of_several_files_is_copied_whole_from_a_storage_without_paths(
        tmp_path, monkeypatch):
    layout = SlideLayout.grid([synthetic_field()], width=800, height=600, gap=40)
    slide = write_mirax(tmp_path / "scan.mrxs", layout, mpp=0.275)
    storage = PathlessStorage()
    folder = "specimens/1/cd.slide"
    storage.save(f"{folder}/slide.mrxs", ContentFile(slide.read_bytes()))
    for part in slide.with_suffix("").iterdir():
        storage.save(f"{folder}/slide/{part.name}", ContentFile(part.read_bytes()))
    monkeypatch.setattr(deep_zoom, "SLIDE_COPIES_DIR", tmp_path / "copies")
    tiles = deep_zoom.slide_tiles(RemoteFile(storage, f"{folder}/slide.mrxs"), "cd" * 32)
    width, height = tiles.level_dimensions[-1]  # MIRAX: whole camera tiles of 256 px
    assert 800 <= width < 800 + 256 and 600 <= height < 600 + 256
    tiles.get_tile(tiles.level_count - 1, (0, 0))


def test_the_specimen_page_opens_fields_and_slides_in_the_viewer(
        client_for, lab_staff, specimen, field, tmp_path):
    slide, _, _ = add_slide(specimen, tmp_path, cells=10)
    page = client_for(lab_staff).get(specimen.get_absolute_url()).content.decode()
    assert f'<a href="{reverse("imaging:viewer", args=[specimen.pk, slide.pk])}">smear.tiff</a>' in page
    assert f'href="{reverse("imaging:viewer", args=[specimen.pk, field.pk])}"' in page


def test_the_review_list_links_a_detected_cell_to_its_place(
        client_for, doctor, specimen, field):
    from accounts.access import assign_doctor

    assign_doctor(specimen.patient, doctor)
    crop = field.crops.order_by("pk").last()
    page = client_for(doctor).get(reverse("diagnostics:review", args=[specimen.pk])).content
    assert (f'{reverse("imaging:viewer", args=[specimen.pk, field.pk])}?x=200&amp;y=200&amp;'
            f'cell={crop.pk}" aria-label="Where {crop.original_name} was found"') in page.decode()


class LocalTable:
    """A stored cell table as the viewer opens it."""

    def __init__(self, path):
        self.path = path

    def open(self, mode):
        return open(self.path, mode)


def test_a_slides_cells_are_flagged_by_the_bethesda_model_where_it_answered(tmp_path):
    path = tmp_path / "cells.parquet"
    two = (np.array([10.0, 20.0]), np.array([10.0, 20.0]), np.full(2, 11.0), np.ones(2))
    morphology = np.array([[0.9, 0.1], [0.1, 0.9]])  # Dyskeratotic, then Parabasal
    with CellTableWriter(path, ["Dyskeratotic", "Parabasal"], ["HSIL", NILM_CATEGORY]) as writer:
        # A tile the Bethesda model answered: it flags the Parabasal cell, not the other.
        writer.write(*two, morphology, np.zeros(2, dtype=bool), np.array([[0.1, 0.9],
                                                                          [0.7, 0.3]]))
        # A tile it gave nothing for: the morphology model's abnormal class and referral.
        writer.write(*two, morphology, np.array([False, True]), None)
    marks = viewer_cells.table_marks(LocalTable(path))
    assert marks.flagged.tolist() == [False, True, True, True]
    assert np.allclose(marks.suspicion, [0.1, 0.7, 0.9, 0.1])
