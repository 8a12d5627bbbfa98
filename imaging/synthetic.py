"""A synthetic load of records for sizing pages and load tests.

Patients, specimens with their requisitions and cases in one synthetic lab's queues,
upload batches, images, classification results, reviews, Bethesda sign-offs, doctors' and
the ordering clinician's access (django-guardian object permissions) and the audit entries
their creation would have written, all inserted with bulk_create in chunks of patients, one
transaction per chunk, with no vendor-specific SQL (SQLite and PostgreSQL alike).

Synthetic patients have MRNs starting ``SYN-``. Images do not each get a file: one tiny PNG
per class is written to storage once and referenced by every image of that class, each
row with its own sha256 so that the one-copy-per-specimen constraint holds.
"""
import hashlib
import io
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from auditlog.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from guardian.models import UserObjectPermission
from PIL import Image

from accounts.roles import CLINICIAN, CYTOTECHNOLOGIST, LAB_STAFF, PATHOLOGIST
from cases.models import Case, HandOver, Lab, Requisition
from diagnostics.bethesda import INTERPRETATION_CATEGORY, Interpretation, NonNeoplasticFinding
from diagnostics.models import CellResult, CellReview, SpecimenSignOff
from diagnostics.triage import ABNORMAL_CLASSES, triage_score
from imaging.models import ImageAsset, Specimen, UploadBatch
from patients.models import Patient

SYNTHETIC_PREFIX = "SYN-"
LAB_USERNAME = "syn-lab"
CLINICIAN_USERNAME = "syn-clinician"
LAB_NAME = "Synthetic lab"
MODEL_VERSION = "synthetic-1"
CLASSES = ("Dyskeratotic", "Koilocytotic", "Metaplastic", "Parabasal", "Superficial-Intermediate")
# Cell class mix of a normal and of an abnormal specimen (SIPaKMeD's class names).
NORMAL_MIX = (0.02, 0.03, 0.2, 0.15, 0.6)
ABNORMAL_MIX = (0.25, 0.25, 0.15, 0.1, 0.25)
ABNORMAL_SPECIMEN_SHARE = 0.12
REFERRAL_CONFIDENCE = 0.6  # a cell below this confidence is flagged "refer to cytologist"
FAILED_SHARE = 0.005
PENDING_SPECIMEN_SHARE = 0.03  # latest specimens whose images are still queued
SIGNED_LATEST_SHARE = 0.5  # older specimens are always signed off
OVERRIDE_SHARE = 0.15
AMENDED_SHARE = 0.03
CELL_SIZE = 32
FIRST_NAMES = ("Ana", "Maria", "Elena", "Ioana", "Sofia", "Laura", "Irina", "Daria", "Clara",
               "Mona", "Alina", "Eva", "Diana", "Nora", "Lucia", "Vera", "Olga", "Rita")
LAST_NAMES = ("Popescu", "Ionescu", "Novak", "Horvat", "Kowalska", "Schmidt", "Rossi", "Silva",
              "Garcia", "Dubois", "Jensen", "Nagy", "Petrova", "Smith", "Costa", "Marin")
# Fields copied into each creation's audit entry, as django-auditlog records them.
AUDITED_FIELDS = {
    Patient: ("mrn", "full_name"),
    Specimen: ("accession_number", "collected_on"),
    Requisition: ("specimen_type", "hpv_result"),
    Case: ("stage",),
    HandOver: ("stage", "note"),
    UploadBatch: ("stored_count",),
    ImageAsset: ("original_name", "sha256"),
    CellResult: ("model_version", "status", "predicted_class"),
    CellReview: ("reviewed_class", "accepted"),
    SpecimenSignOff: ("version", "interpretation"),
}


class SyntheticLoadRefused(Exception):
    """The database holds real patients; the message says how to go ahead anyway."""


@dataclass
class LoadSize:
    patients: int
    specimens_per_patient: int = 1
    images_per_specimen: int = 20
    doctors: int = 10
    cytotechnologists: int = 4  # screeners of the synthetic lab (syn-ct-01, ...)
    seed: int = 0
    batch_size: int = 200  # patients per transaction


@dataclass
class Chunk:
    """The rows of one chunk of patients, built in memory, then inserted model by model."""

    patients: list = field(default_factory=list)
    assignments: list = field(default_factory=list)  # (doctor, patient)
    specimens: list = field(default_factory=list)
    requisitions: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    hand_overs: list = field(default_factory=list)
    batches: list = field(default_factory=list)
    images: list = field(default_factory=list)
    results: list = field(default_factory=list)
    reviews: list = field(default_factory=list)
    sign_offs: list = field(default_factory=list)


def refuse_unless_only_synthetic(confirmed):
    real = Patient.objects.exclude(mrn__startswith=SYNTHETIC_PREFIX).count()
    if real and not confirmed:
        raise SyntheticLoadRefused(
            f"This database holds {real} patient(s) that are not synthetic; adding a synthetic "
            f"load would mix test records with them. Use an empty database, or pass --yes to "
            f"add the synthetic records anyway."
        )


def next_synthetic_number():
    """Numbering continues after earlier runs, so a second run adds rows without collisions."""
    last = (Patient.objects.filter(mrn__startswith=SYNTHETIC_PREFIX)
            .order_by("-mrn").values_list("mrn", flat=True).first())
    return int(last.removeprefix(SYNTHETIC_PREFIX)) + 1 if last else 1


def synthetic_users(doctor_count, password=None, cytotechnologist_count=0):
    """The synthetic doctors (syn-doctor-01, ...), the lab user and the ordering clinician,
    created when missing; the doctors, the cytotechnologists (syn-ct-01, ...) and the lab user
    are members of the synthetic lab.

    Without a password they cannot log in (tests and load tools log them in directly).
    """
    password_hash = make_password(password)
    doctor_group, lab_group = Group.objects.get(name=PATHOLOGIST), Group.objects.get(name=LAB_STAFF)

    def user(username, group):
        account, created = User.objects.get_or_create(
            username=username, defaults={"password": password_hash})
        if created:
            account.groups.add(group)
        return account

    doctors = [user(f"syn-doctor-{number:02d}", doctor_group)
               for number in range(1, doctor_count + 1)]
    lab_user = user(LAB_USERNAME, lab_group)
    clinician = user(CLINICIAN_USERNAME, Group.objects.get(name=CLINICIAN))
    lab, _ = Lab.objects.get_or_create(name=LAB_NAME, defaults={"address": "1 Synthetic Road"})
    screeners = [user(f"syn-ct-{number:02d}", Group.objects.get(name=CYTOTECHNOLOGIST))
                 for number in range(1, cytotechnologist_count + 1)]
    lab.members.add(lab_user, *doctors, *screeners)
    return doctors, lab_user, clinician, lab


def class_images():
    """class → (storage name, bytes): one small PNG per class, written once."""
    stored = {}
    for index, name in enumerate(CLASSES):
        path = f"synthetic/{name}.png"
        if not default_storage.exists(path):
            shade = 60 + 40 * index
            cell = Image.new("RGB", (CELL_SIZE, CELL_SIZE), (230, 220, 235))
            for offset in range(8, 24):
                for other in range(8, 24):
                    cell.putpixel((offset, other), (shade, 90, 200 - shade // 2))
            buffer = io.BytesIO()
            cell.save(buffer, format="PNG")
            default_storage.save(path, ContentFile(buffer.getvalue()))
        stored[name] = (path, default_storage.size(path))
    return stored


@contextmanager
def timestamps_as_given():
    """Make auto_now/auto_now_add fields keep the generated times instead of "now", so the
    history spans years and the dashboard's days differ. Only for this process's inserts."""
    fields = [model_field for model in AUDITED_FIELDS for model_field in model._meta.concrete_fields
              if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)]
    saved = [(model_field, model_field.auto_now, model_field.auto_now_add) for model_field in fields]
    for model_field in fields:
        model_field.auto_now = model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field, auto_now, auto_now_add in saved:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add


class SyntheticLoad:
    """Generates ``size`` worth of synthetic records; ``run()`` returns rows created per model."""

    def __init__(self, size, password=None, progress=None):
        self.size = size
        self.password = password
        self.progress = progress or (lambda message: None)
        self.rng = random.Random(size.seed)
        self.now = timezone.now()
        self.counts = {}

    def run(self):
        self.doctors, self.lab_user, self.clinician, self.lab = synthetic_users(
            self.size.doctors, self.password, self.size.cytotechnologists)
        self.files = class_images()
        self.view_patient = Permission.objects.get(
            codename="view_patient", content_type__app_label="patients")
        first = next_synthetic_number()
        started = time.monotonic()
        with timestamps_as_given():
            for offset in range(0, self.size.patients, self.size.batch_size):
                count = min(self.size.batch_size, self.size.patients - offset)
                with transaction.atomic():
                    self.insert(self.build(range(first + offset, first + offset + count)))
                rows = sum(self.counts.values())
                elapsed = time.monotonic() - started
                self.progress(f"{offset + count}/{self.size.patients} patients, {rows} rows, "
                              f"{rows / elapsed:.0f} rows/s")
        return self.counts

    # Building the rows in memory -------------------------------------------------------

    def build(self, numbers):
        chunk = Chunk()
        for number in numbers:
            patient = self.patient(number)
            chunk.patients.append(patient)
            doctors = [self.doctors[number % len(self.doctors)]]
            if len(self.doctors) > 1 and self.rng.random() < 0.1:
                doctors.append(self.doctors[(number + 1) % len(self.doctors)])
            chunk.assignments += [(doctor, patient) for doctor in [*doctors, self.clinician]]
            last_date = self.now.date() - timedelta(days=self.rng.randint(0, 60))
            count = self.size.specimens_per_patient
            for index in range(count):
                collected = last_date - timedelta(days=sum(
                    self.rng.randint(300, 1100) for _ in range(count - 1 - index)))
                self.add_specimen(chunk, patient, index, collected, doctors[0],
                                  latest=index == count - 1)
        return chunk

    def patient(self, number):
        born = date(1950, 1, 1) + timedelta(days=self.rng.randint(0, 50 * 365))
        created = self.at(self.now.date() - timedelta(days=self.size.specimens_per_patient * 1100))
        return Patient(
            mrn=f"{SYNTHETIC_PREFIX}{number:07d}",
            full_name=f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}",
            date_of_birth=born, consent_given=True, created_by=self.lab_user,
            created_at=created, updated_at=created,
        )

    def at(self, day, hours=0.0):
        midnight = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        return midnight + timedelta(hours=9 + hours)

    def add_specimen(self, chunk, patient, index, collected, doctor, latest):
        number = patient.mrn.removeprefix(SYNTHETIC_PREFIX)
        created = self.at(collected + timedelta(days=1))
        specimen = Specimen(
            patient=patient, accession_number=f"{SYNTHETIC_PREFIX}A{number}-{index + 1}",
            collected_on=collected, created_by=self.lab_user, created_at=created)
        chunk.requisitions.append(self.requisition(specimen, patient, collected))
        batch = UploadBatch(specimen=specimen, uploaded_by=self.lab_user,
                            created_at=created + timedelta(hours=1),
                            stored_count=self.size.images_per_specimen)
        pending = latest and self.rng.random() < PENDING_SPECIMEN_SHARE
        mix = ABNORMAL_MIX if self.rng.random() < ABNORMAL_SPECIMEN_SHARE else NORMAL_MIX
        results = [self.add_image(chunk, specimen, batch, position, mix, pending)
                   for position in range(self.size.images_per_specimen)]
        done = [result for result in results if result.status == CellResult.Status.DONE]
        specimen.triage_score = triage_score(result.probabilities for result in done)
        chunk.specimens.append(specimen)
        chunk.batches.append(batch)
        signed = bool(done) and not pending and (not latest or self.rng.random() < SIGNED_LATEST_SHARE)
        for result in done:
            if result.refer_to_cytologist and (signed or self.rng.random() < 0.5):
                chunk.reviews.append(self.review(result, doctor))
        if signed:
            chunk.sign_offs += self.sign_offs(specimen, done, doctor)
        specimen.awaiting_sign_off = bool(done) and not signed
        self.open_case(chunk, specimen, doctor, signed, classified=bool(done))

    def requisition(self, specimen, patient, collected):
        age = (collected - patient.date_of_birth).days // 365
        post_menopausal = age >= 52
        return Requisition(
            specimen=specimen, ordering_clinician=self.clinician,
            specimen_type="liquid_based" if self.rng.random() < 0.7 else "conventional",
            last_menstrual_period=None if post_menopausal
            else collected - timedelta(days=self.rng.randint(3, 30)),
            previous_abnormal_result=self.rng.random() < 0.05, post_menopausal=post_menopausal,
            hpv_result="negative" if self.rng.random() < 0.2 else "not_done")

    def open_case(self, chunk, specimen, doctor, signed, classified):
        """The specimen's case as accessioning opens it, then moved on: signed ones signed
        out by their doctor, classified unsigned ones half awaiting a pathologist."""
        if signed:
            stage = Case.Stage.SIGNED_OUT
        elif classified and self.rng.random() < 0.5:
            stage = Case.Stage.AWAITING_PATHOLOGIST
        else:
            stage = Case.Stage.AWAITING_SCREENING
        case = Case(specimen=specimen, lab=self.lab, stage=stage, created_at=specimen.created_at,
                    pathologist=doctor if signed else None)
        chunk.cases.append(case)
        chunk.hand_overs.append(HandOver(case=case, stage=Case.Stage.AWAITING_SCREENING,
                                         by=self.lab_user, at=specimen.created_at,
                                         note="Accessioned; in the screening queue."))

    def add_image(self, chunk, specimen, batch, position, mix, pending):
        cell_class = self.rng.choices(CLASSES, weights=mix)[0]
        path, size_bytes = self.files[cell_class]
        name = f"{specimen.accession_number}-cell{position + 1:04d}.png"
        uploaded = batch.created_at + timedelta(seconds=position)
        image = ImageAsset(
            specimen=specimen, file=path, original_name=name,
            sha256=hashlib.sha256(name.encode()).hexdigest(), image_format="PNG",
            width=CELL_SIZE, height=CELL_SIZE, size_bytes=size_bytes,
            uploaded_by=self.lab_user, uploaded_at=uploaded, upload_batch=batch)
        chunk.images.append(image)
        result = CellResult(image=image, model_version=MODEL_VERSION, queued_at=uploaded)
        if not pending:
            self.finish(result, cell_class)
        chunk.results.append(result)
        return result

    def finish(self, result, cell_class):
        result.started_at = result.queued_at + timedelta(seconds=self.rng.uniform(0.5, 30))
        result.seconds_taken = round(self.rng.uniform(0.004, 0.03), 4)
        result.finished_at = result.started_at + timedelta(seconds=result.seconds_taken)
        if self.rng.random() < FAILED_SHARE:
            result.status = CellResult.Status.FAILED
            result.error = "Synthetic failure: the image could not be read."
            return
        result.status = CellResult.Status.DONE
        result.probabilities = self.probabilities(cell_class)
        result.predicted_class = max(result.probabilities, key=result.probabilities.get)
        result.refer_to_cytologist = result.probabilities[result.predicted_class] < REFERRAL_CONFIDENCE

    def probabilities(self, cell_class):
        """A probability map that mostly favours ``cell_class``, now and then with low confidence."""
        confidence = 0.35 + 0.64 * self.rng.betavariate(5, 1.5)
        weights = {name: self.rng.random() for name in CLASSES if name != cell_class}
        total = sum(weights.values())
        probabilities = {name: round((1 - confidence) * weight / total, 4)
                         for name, weight in weights.items()}
        probabilities[cell_class] = round(1 - sum(probabilities.values()), 4)
        return {name: probabilities[name] for name in CLASSES}

    def review(self, result, doctor):
        ranked = sorted(result.probabilities, key=result.probabilities.get, reverse=True)
        reviewed_class = ranked[1] if self.rng.random() < OVERRIDE_SHARE else ranked[0]
        return CellReview(result=result, reviewer=doctor, reviewed_class=reviewed_class,
                          accepted=reviewed_class == result.predicted_class,
                          reviewed_at=result.finished_at + timedelta(hours=20))

    def sign_offs(self, specimen, done, doctor):
        """Valid Bethesda reports: satisfactory, NILM (now and then with reactive changes),
        an epithelial abnormality where many cells look abnormal; a few amended to HSIL."""
        abnormal = sum(result.predicted_class in ABNORMAL_CLASSES for result in done)
        findings = []
        if abnormal / len(done) > 0.2:
            interpretation = self.rng.choice([Interpretation.ASC_US, Interpretation.LSIL,
                                              Interpretation.HSIL])
        else:
            interpretation = Interpretation.NILM
            if self.rng.random() < 0.1:
                findings = [NonNeoplasticFinding.REACTIVE_INFLAMMATION]
        signed_at = max(result.finished_at for result in done) + timedelta(days=1)
        versions = [self.report(specimen, 1, doctor, signed_at, interpretation, findings)]
        if self.rng.random() < AMENDED_SHARE:
            versions.append(self.report(
                specimen, 2, doctor, signed_at + timedelta(days=3), Interpretation.HSIL, [],
                amendment_reason="Synthetic amendment: second opinion."))
        return versions

    def report(self, specimen, version, doctor, signed_at, interpretation, findings, **fields):
        report = SpecimenSignOff(
            specimen=specimen, version=version, signed_by=doctor, signed_at=signed_at,
            signer_credentials=f"{doctor.username}, {PATHOLOGIST}",
            specimen_type=specimen.requisition.specimen_type, adequacy="satisfactory",
            transformation_zone="present", interpretation=interpretation,
            general_category=INTERPRETATION_CATEGORY[interpretation], other_findings=findings,
            hpv_result=specimen.requisition.hpv_result, **fields)
        report.codes = report.coded_values()
        return report

    # Inserting ---------------------------------------------------------------------------

    def insert(self, chunk):
        for model, rows in ((Patient, chunk.patients), (Specimen, chunk.specimens),
                            (Requisition, chunk.requisitions), (Case, chunk.cases),
                            (HandOver, chunk.hand_overs), (UploadBatch, chunk.batches), (ImageAsset, chunk.images),
                            (CellResult, chunk.results), (CellReview, chunk.reviews),
                            (SpecimenSignOff, chunk.sign_offs)):
            model.objects.bulk_create(rows)
            self.count(model, len(rows))
            self.audit(model, rows)
        permissions = [
            UserObjectPermission(user=doctor, permission=self.view_patient,
                                 content_type=self.view_patient.content_type,
                                 object_pk=str(patient.pk))
            for doctor, patient in chunk.assignments]
        UserObjectPermission.objects.bulk_create(permissions)
        self.count(UserObjectPermission, len(permissions))

    def audit(self, model, rows):
        """The creation entries django-auditlog writes when these rows are saved one by one."""
        content_type = ContentType.objects.get_for_model(model)
        fields = AUDITED_FIELDS[model]
        entries = [
            LogEntry(content_type=content_type, object_pk=str(row.pk), object_id=row.pk,
                     object_repr=str(row), action=LogEntry.Action.CREATE,
                     changes={name: ["None", str(getattr(row, name))] for name in fields},
                     actor=self.actor(row), timestamp=self.created_at(row))
            for row in rows]
        LogEntry.objects.bulk_create(entries)
        self.count(LogEntry, len(entries))

    def actor(self, row):
        return getattr(row, "reviewer", None) or getattr(row, "signed_by", None) or self.lab_user

    def created_at(self, row):
        for name in ("created_at", "uploaded_at", "queued_at", "reviewed_at", "signed_at", "at"):
            if hasattr(row, name):
                return getattr(row, name)
        return self.now

    def count(self, model, rows):
        label = model._meta.label
        self.counts[label] = self.counts.get(label, 0) + rows


def generate_synthetic_load(size, confirmed=False, password=None, progress=None):
    """Insert a synthetic load of ``size`` (a LoadSize); return the rows created per model."""
    refuse_unless_only_synthetic(confirmed)
    return SyntheticLoad(size, password=password, progress=progress).run()
