"""Demo users, patients and specimens for a first look at CelInsight (demo mode only)."""
import datetime
import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ADMINISTRATOR, CLINICIAN, CYTOTECHNOLOGIST, LAB_STAFF, PATHOLOGIST
from cases.accessioning import accession
from cases.models import Lab, Requisition
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
DEMO_PATIENTS = [
    # MRN, name, date of birth, ordering clinician, HPV result, sample images
    ("DEMO-0001", "Maria Example", datetime.date(1981, 3, 14), "clinician", "positive_16", slice(0, 12)),
    ("DEMO-0002", "Ana Sample", datetime.date(1975, 9, 2), "clinician", "not_done", slice(12, 22)),
    ("DEMO-0003", "Eva Specimen", datetime.date(1990, 12, 30), "clinician2", "negative", slice(22, 30)),
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
        lab = Lab.objects.get(name=DEMO_LAB)
        sample_files = sorted(SAMPLE_CELLS_DIR.glob("*.png"))
        for number, (mrn, name, born, clinician, hpv, files) in enumerate(DEMO_PATIENTS, start=1):
            patient = Patient.objects.create(
                mrn=mrn, full_name=name, date_of_birth=born, consent_given=True, created_by=lab_user
            )
            specimen = Specimen(patient=patient, accession_number=f"DEMO-S{number:03d}",
                                collected_on=datetime.date(2026, 11, number))
            requisition = Requisition(
                ordering_clinician=User.objects.get(username=clinician), hpv_result=hpv,
                specimen_type=Requisition.SpecimenType.LIQUID_BASED,
                previous_abnormal_result=hpv.startswith("positive"))
            accession(specimen, requisition, lab, lab_user)  # in the demo lab's screening queue
            uploads = [SimpleUploadedFile(path.name, path.read_bytes()) for path in sample_files[files]]
            batch = store_upload(specimen, lab_user, uploads)
            self.stdout.write(f"Patient {patient}: specimen {specimen} with {batch.stored_count} images queued.")
