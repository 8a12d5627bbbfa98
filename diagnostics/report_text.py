"""The exact text of a signed report version, and what it names: the lab, the patient's age
and the signer's credentials. Rendered once, when the version is signed, and kept."""
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.utils.dateparse import parse_date

from accounts.people import display_name
from accounts.roles import ALL_ROLES


def lab():
    return {"lab_name": settings.CELINSIGHT_LAB_NAME,
            "lab_address": settings.CELINSIGHT_LAB_ADDRESS}


def patient_age(specimen):
    """The patient's age in whole years on the collection date; None if either is unknown."""
    # A specimen just created from strings holds them until reloaded.
    born, collected = as_date(specimen.patient.date_of_birth), as_date(specimen.collected_on)
    if born is None or collected is None:
        return None
    return collected.year - born.year - ((collected.month, collected.day) < (born.month, born.day))


def as_date(value):
    return parse_date(value) if isinstance(value, str) else value


def signer_credentials(user):
    """The signer as the report names them: full name (else username), qualifications and
    professional registration where their profile has them, and role(s)."""
    roles = sorted(group.name for group in user.groups.all() if group.name in ALL_ROLES)
    try:
        profile = user.profile
    except ObjectDoesNotExist:
        profile = None
    parts = [display_name(user)]
    if profile and profile.qualifications:
        parts.append(profile.qualifications)
    if roles:
        parts.append(" / ".join(roles))
    if profile and profile.registration:
        parts.append(profile.registration)
    return ", ".join(parts)


def requisition_of(specimen):
    """The specimen's requisition, or None (specimens from before accessioning had none)."""
    try:
        return specimen.requisition
    except ObjectDoesNotExist:
        return None


def render_report_text(report):
    """The plain text of one report version (SpecimenSignOff, saved or about to be)."""
    specimen = report.specimen
    requisition = requisition_of(specimen)
    return render_to_string("diagnostics/report_version.txt", {
        **lab(), "report": report, "specimen": specimen, "patient": specimen.patient,
        "requisition": requisition,
        "last_menstrual_period": as_date(requisition and requisition.last_menstrual_period),
        "date_of_birth": as_date(specimen.patient.date_of_birth),
        "collected_on": as_date(specimen.collected_on),
        "age": patient_age(specimen), "time_zone": settings.TIME_ZONE,
    }).strip() + "\n"
