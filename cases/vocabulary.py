"""The screener's words: adequacy and a provisional interpretation.

A minimal stand-in for the Bethesda 2014 vocabulary of diagnostics/bethesda.py (branch
``report``); the keys are meant to match it, so swapping these for its TextChoices needs no
data migration.
"""
from django.db import models


class Adequacy(models.TextChoices):
    SATISFACTORY = "satisfactory", "Satisfactory for evaluation"
    UNSATISFACTORY = "unsatisfactory", "Unsatisfactory for evaluation"


class Interpretation(models.TextChoices):
    NILM = "nilm", "Negative for intraepithelial lesion or malignancy (NILM)"
    NILM_REACTIVE = "nilm_reactive", "NILM with reactive changes"
    ENDOMETRIAL_CELLS = "endometrial_cells", "Endometrial cells (woman ≥ 45)"
    ASC_US = "asc_us", "ASC-US"
    ASC_H = "asc_h", "ASC-H"
    LSIL = "lsil", "LSIL"
    HSIL = "hsil", "HSIL"
    SQUAMOUS_CARCINOMA = "squamous_carcinoma", "Squamous cell carcinoma"
    AGC = "agc", "Atypical glandular cells (AGC)"
    ADENOCARCINOMA = "adenocarcinoma", "Adenocarcinoma"


# The one interpretation a cytotechnologist may release on their own (cases.routing).
RELEASABLE = Interpretation.NILM
