"""A GDPR erasure takes the patient's cases, requisitions, findings and corrections too."""
from cases.corrections import correct_fields
from cases.models import Case, Correction, HandOver, Requisition
from patients.gdpr import erase_patient, patient_data


def test_erasing_a_patient_erases_their_cases_and_corrections(case, lab_staff, administrator):
    patient = case.specimen.patient
    correct_fields(patient, {"full_name": "Renamed Patient"}, "Misspelt", lab_staff)
    assert patient_data(patient)["corrections"][0]["fields"]["old_value"] == "Case Patient 1"
    counts = erase_patient(patient, administrator)
    assert (counts["cases"], counts["requisitions"], counts["corrections"]) == (1, 1, 1)
    for model in (Case, Requisition, HandOver, Correction):
        assert not model.objects.exists()
