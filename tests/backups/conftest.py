import pytest
from cryptography.fernet import Fernet

from tests.backups.records import make_clinical_records


@pytest.fixture
def backup_key(settings):
    settings.BACKUP_KEY = Fernet.generate_key().decode()
    return settings.BACKUP_KEY


@pytest.fixture
def clinical_records(specimen, lab_staff, doctor, sample_upload):
    return make_clinical_records(specimen, lab_staff, doctor, sample_upload(3))
