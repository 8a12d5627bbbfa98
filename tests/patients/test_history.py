from imaging.models import Specimen


def test_history_lists_specimens_in_collection_order(client_for, patient, lab_staff, doctor):
    for accession, day in [("LATER", "2026-10-20"), ("EARLIER", "2025-02-01")]:
        Specimen.objects.create(patient=patient, accession_number=accession, collected_on=day)
    page = client_for(doctor).get(patient.get_absolute_url()).content.decode()
    assert page.index("EARLIER") < page.index("LATER")


def test_specimen_of_unassigned_patient_is_404(client_for, specimen, other_doctor):
    client = client_for(other_doctor)
    assert client.get(specimen.get_absolute_url()).status_code == 404
