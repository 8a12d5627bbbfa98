"""Demo users, patients and specimens for a first look at CelInsight (demo mode only): three
cases waiting in the demo lab's screening queue (the worker classifies their cells), and three
signed Bethesda reports whose few cells are classified here, with the shipped model."""
import datetime
import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from accounts.models import StaffProfile
from accounts.roles import ADMINISTRATOR, CLINICIAN, CYTOTECHNOLOGIST, LAB_STAFF, PATHOLOGIST
from cases.accessioning import accession
from cases.models import Lab, Requisition
from diagnostics import review
from diagnostics.models import CellResult
from diagnostics.tasks import classify_results
from imaging.models import Specimen
from imaging.uploads import store_upload
from patients.models import Patient

SAMPLE_CELLS_DIR = settings.BASE_DIR / "demo" / "sample_cells"
DEMO_LAB = "Demo cytology lab"
DEMO_USERS = [
    # username, first name, last name, role, member of the demo lab
    ("labstaff", "Lee", "Lab", LAB_STAFF, True),
    ("cytotech", "Casey", "Cytotech", CYTOTECHNOLOGIST, True),
    ("doctor", "Dana", "Pathologist", PATHOLOGIST, True),
    ("doctor2", "Drew", "Second-Pathologist", PATHOLOGIST, True),
    ("clinician", "Chris", "Clinician", CLINICIAN, False),
    ("clinician2", "Cory", "Other-Clinician", CLINICIAN, False),
    ("admin", "Alex", "Admin", ADMINISTRATOR, False),
]
# Printed with the signer's name on reports (accounts.models.StaffProfile); made-up numbers.
DEMO_QUALIFICATIONS = {
    "cytotech": ("CT(ASCP)", "ASCP BOC 000123 (demo)"),
    "doctor": ("MD, FCAP", "Medical licence 0004567 (demo)"),
    "doctor2": ("MD, FRCPath", "GMC 7654321 (demo)"),
}
DEMO_PATIENTS = [
    # MRN, name, date of birth, ordering clinician, HPV result, sample images
    ("DEMO-0001", "Maria Example", datetime.date(1981, 3, 14), "clinician", "positive_16", slice(0, 12)),
    ("DEMO-0002", "Ana Sample", datetime.date(1975, 9, 2), "clinician", "not_done", slice(12, 22)),
    ("DEMO-0003", "Eva Specimen", datetime.date(1990, 12, 30), "clinician2", "negative", slice(22, 30)),
]


# Reports the demo pathologist signs for the demo clinician's patients; the sample images of
# each specimen are classified synchronously first (none: an unsatisfactory slide).
NILM_CANDIDA = {"specimen_type": "liquid_based", "adequacy": "satisfactory",
                "transformation_zone": "present", "interpretation": "nilm",
                "organisms": ["candida"], "hpv_result": "not_done",
                "recommendations": ["routine_screening"]}
LSIL_HPV16 = {"specimen_type": "liquid_based", "adequacy": "satisfactory",
              "transformation_zone": "present", "interpretation": "lsil",
              "hpv_result": "positive_16", "recommendations": ["colposcopy"]}
LSIL_AMENDED = {**LSIL_HPV16, "educational_note": (
    "HPV 16 with LSIL carries a higher risk of a high-grade lesion than LSIL alone; "
    "colposcopy is recommended rather than repeat cytology.")}
UNSATISFACTORY = {"specimen_type": "conventional", "adequacy": "unsatisfactory",
                  "unsatisfactory_kind": "processed", "unsatisfactory_reason": "obscuring_blood",
                  "hpv_result": "not_done", "recommendations": ["repeat_2_4_months"]}
SIGNED_PATIENTS = [
    # MRN, name, date of birth, sample images, report, (amendment reason, amended report)
    ("DEMO-0004", "Clara Negative", datetime.date(1986, 6, 1), slice(0, 3), NILM_CANDIDA, None),
    ("DEMO-0005", "Lucia Lowgrade", datetime.date(1993, 2, 20), slice(3, 6), LSIL_HPV16,
     ("Educational note on HPV 16 added at the clinician's request.", LSIL_AMENDED)),
    ("DEMO-0006", "Rita Repeat", datetime.date(1979, 8, 8), slice(0, 0), UNSATISFACTORY, None),
]


class Command(BaseCommand):
    help = "Create demo users (passwords printed once), patients and specimens with sample cells."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo only runs in demo mode (CELINSIGHT_DEMO=1).")
        self.create_users()
        if Patient.objects.filter(mrn__startswith="DEMO-").exists():
            self.stdout.write("Demo patients already exist.")
            return
        self.create_patients()
        self.create_signed_reports()

    def create_users(self):
        created = []
        lab, _ = Lab.objects.get_or_create(name=DEMO_LAB, defaults={"address": "1 Demo Street"})
        for username, first_name, last_name, role, in_lab in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(
                username, password=password, first_name=first_name, last_name=last_name,
                is_staff=(role == ADMINISTRATOR),
            )
            user.groups.add(Group.objects.get(name=role))
            if in_lab:
                lab.members.add(user)
            if username in DEMO_QUALIFICATIONS:
                qualifications, registration = DEMO_QUALIFICATIONS[username]
                StaffProfile.objects.create(user=user, qualifications=qualifications,
                                            registration=registration)
            created.append((username, role, password))
        if not created:
            self.stdout.write("Demo users exist; their passwords were printed when they were "
                              "created (reset one with: manage.py changepassword USERNAME).")
            return
        self.stdout.write(self.style.WARNING("Demo users (shown once, demo mode only):"))
        for username, role, password in created:
            self.stdout.write(f"  {username:<10} {role:<16} password: {password}")

    def create_patients(self):
        lab_user = User.objects.get(username="labstaff")
        sample_files = sorted(SAMPLE_CELLS_DIR.glob("*.png"))
        for number, (mrn, name, born, clinician, hpv, files) in enumerate(DEMO_PATIENTS, start=1):
            # In the demo lab's screening queue; the worker classifies the images.
            specimen = self.accession_demo(
                mrn, name, born, number, clinician, hpv_result=hpv,
                specimen_type=Requisition.SpecimenType.LIQUID_BASED,
                previous_abnormal_result=hpv.startswith("positive"))
            uploads = [SimpleUploadedFile(path.name, path.read_bytes()) for path in sample_files[files]]
            batch = store_upload(specimen, lab_user, uploads)
            self.stdout.write(f"Patient {specimen.patient}: specimen {specimen} with "
                              f"{batch.stored_count} images queued.")

    def accession_demo(self, mrn, name, born, number, clinician, **requisition_fields):
        lab_user = User.objects.get(username="labstaff")
        patient = Patient.objects.create(
            mrn=mrn, full_name=name, date_of_birth=born, consent_given=True, created_by=lab_user)
        specimen = Specimen(patient=patient, accession_number=f"DEMO-S{number:03d}",
                            collected_on=datetime.date(2026, 11, number))
        requisition = Requisition(ordering_clinician=User.objects.get(username=clinician),
                                  **requisition_fields)
        accession(specimen, requisition, Lab.objects.get(name=DEMO_LAB), lab_user)
        return specimen

    def create_signed_reports(self):
        """Signed reports, one amended, for the demo clinician's patients: their few cells
        are classified here, flagged ones accepted, then the demo pathologist signs."""
        lab_user, pathologist = (User.objects.get(username=name) for name in ("labstaff", "doctor"))
        sample_files = sorted(SAMPLE_CELLS_DIR.glob("*.png"))
        first = len(DEMO_PATIENTS) + 1
        for number, (mrn, name, born, files, report, amendment) in enumerate(
                SIGNED_PATIENTS, start=first):
            specimen = self.accession_demo(
                mrn, name, born, number, "clinician", specimen_type=report["specimen_type"],
                hpv_result=report["hpv_result"])
            uploads = [SimpleUploadedFile(path.name, path.read_bytes()) for path in sample_files[files]]
            if uploads:
                store_upload(specimen, lab_user, uploads)
                # Classified now, with the shipped model: the worker starts after seed_demo.
                classify_results(list(CellResult.objects.filter(image__specimen=specimen)
                                      .values_list("pk", flat=True)))
                review.accept_all_flagged(specimen, pathologist)
            signed = review.sign_off_specimen(specimen, pathologist, **report)
            if amendment:
                reason, amended = amendment
                signed = review.amend_sign_off(specimen, pathologist, reason, **amended)
            self.stdout.write(f"Patient {specimen.patient}: specimen {specimen} signed off "
                              f"({signed.headline()}, version {signed.version}).")
