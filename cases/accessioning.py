"""Accessioning: a specimen arrives with its requisition and enters its lab's screening queue
at once; the ordering clinician may then read that patient's record."""
from django.db import transaction

from accounts.access import share_patient_with
from cases.models import Case, HandOver


def accession(specimen, requisition, lab, user):
    """Save the (unsaved) specimen and requisition and open the specimen's case in ``lab``."""
    with transaction.atomic():
        specimen.created_by = user
        specimen.save()
        requisition.specimen = specimen
        requisition.save()
        case = Case.objects.create(specimen=specimen, lab=lab)
        HandOver.objects.create(case=case, stage=case.stage, by=user,
                                note="Accessioned; in the screening queue.")
        share_patient_with(requisition.ordering_clinician, specimen.patient)
    return case
