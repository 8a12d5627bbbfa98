import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from diagnostics.models import CellResult, SpecimenSignOff
from imaging.models import ImageAsset, Specimen

NORMAL = {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1}
ABNORMAL = {"Superficial-Intermediate": 0.2, "Dyskeratotic": 0.8}


def add_cell(specimen, probabilities, refer=False):
    number = ImageAsset.objects.count() + 1
    image = ImageAsset.objects.create(
        specimen=specimen, file=f"specimens/{specimen.pk}/cell{number}.png",
        original_name=f"cell{number}.png", sha256=f"{number:064x}", image_format="PNG",
        width=8, height=8, size_bytes=100,
    )
    return CellResult.objects.create(
        image=image, model_version="test-model", status="done", probabilities=probabilities,
        predicted_class=max(probabilities, key=probabilities.get), refer_to_cytologist=refer,
    )


def add_specimen(patient, accession, collected_on, cells=(), triage_score=None):
    specimen = Specimen.objects.create(
        patient=patient, accession_number=accession, collected_on=collected_on,
        triage_score=triage_score,
    )
    for probabilities, refer in cells:
        add_cell(specimen, probabilities, refer)
    return specimen


def sign(specimen, doctor, interpretation, version=1, reason=""):
    return SpecimenSignOff.objects.create(
        specimen=specimen, signed_by=doctor, interpretation=interpretation,
        version=version, amendment_reason=reason,
    )


def history_page(client, patient):
    return client.get(patient.get_absolute_url()).content.decode()


def test_history_shows_the_current_signed_interpretation_and_who_signed(
    client_for, patient, doctor
):
    doctor.first_name, doctor.last_name = "Ada", "Lovelace"
    doctor.save()
    specimen = add_specimen(patient, "ACC-SIGNED", "2026-03-01", [(NORMAL, False)])
    sign(specimen, doctor, "nilm")
    sign(specimen, doctor, "see_comment", version=2, reason="second look at cell 1")
    page = history_page(client_for(doctor), patient)
    assert "Epithelial cell abnormality, see comment" in page
    assert "Ada Lovelace" in page
    assert "amended 1×, version 2" in page
    assert "Amended because: second look at cell 1" in page


def test_history_counts_classified_and_flagged_cells_and_abnormal_share(
    client_for, patient, doctor
):
    add_specimen(patient, "ACC-COUNTS", "2026-03-01", triage_score=0.625, cells=[
        (ABNORMAL, True), (NORMAL, True), (NORMAL, False), (ABNORMAL, False),
    ])
    page = history_page(client_for(doctor), patient)
    row = page[page.index("ACC-COUNTS</a>"):page.index("</tr>", page.index("ACC-COUNTS</a>"))]
    assert "not signed off" in row
    assert "<td>4</td>" in row                      # cells classified
    assert '<span class="flag refer">2</span>' in row  # refer to cytologist
    assert "0.500" in row and "0.625" in row        # abnormal share, triage score


def test_unsigned_and_empty_specimens_are_listed_without_errors(client_for, patient, doctor):
    add_specimen(patient, "ACC-EMPTY", "2026-03-01")
    page = history_page(client_for(doctor), patient)
    assert "ACC-EMPTY" in page and "not signed off" in page and "not scored" in page


def test_trend_plots_each_scored_specimen_by_collection_date(client_for, patient, doctor):
    add_specimen(patient, "ACC-JAN", "2026-01-10", [(NORMAL, False)], triage_score=0.1)
    add_specimen(patient, "ACC-JUN", "2026-06-10", [(ABNORMAL, False)], triage_score=0.8)
    page = history_page(client_for(doctor), patient)
    assert "<svg" in page
    assert page.count('<circle class="series triage"') == 2
    assert page.count('<circle class="series abnormal"') == 2
    assert "2026-01-10" in page and "2026-06-10" in page
    assert page.index("ACC-JAN") < page.index("ACC-JUN")


def test_no_trend_is_drawn_before_anything_is_scored(client_for, patient, doctor):
    add_specimen(patient, "ACC-NEW", "2026-03-01")
    assert "<svg" not in history_page(client_for(doctor), patient)


def test_each_specimen_links_to_its_printable_report(client_for, patient, doctor):
    specimen = add_specimen(patient, "ACC-R", "2026-03-01")
    assert f"/specimens/{specimen.pk}/report/" in history_page(client_for(doctor), patient)


def test_history_takes_the_same_number_of_queries_for_many_specimens(
    client_for, patient, doctor, django_assert_max_num_queries
):
    client = client_for(doctor)

    def add_signed_specimen(number):
        specimen = add_specimen(
            patient, f"ACC-{number}", datetime.date(2026, 1, 1) + datetime.timedelta(days=number),
            [(ABNORMAL, True), (NORMAL, False)], triage_score=number / 10,
        )
        sign(specimen, doctor, "nilm")
        sign(specimen, doctor, "asc_us", version=2, reason="amended")

    add_signed_specimen(1)
    client.get(patient.get_absolute_url())  # warm the session and permission caches
    with CaptureQueriesContext(connection) as one_specimen:
        history_page(client, patient)
    for number in range(2, 7):
        add_signed_specimen(number)
    with django_assert_max_num_queries(len(one_specimen.captured_queries)):
        page = history_page(client, patient)
    assert page.count('class="specimen-row"') == 6
