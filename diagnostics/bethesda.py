"""The Bethesda System 2014 for reporting cervical cytology: its vocabulary, codes and the
model fields a report (and a screener's findings) record it in.

The consistency rules between these fields live in diagnostics/bethesda_rules.py.

Codes: each SNOMED CT / LOINC id below was found in a published value set (sources in
CODE_SOURCES). A value whose id could not be confirmed maps to UNCONFIRMED (None), never to
a guessed id; `snomed_code()` then returns "" and the report shows the value without a code.
"""
from django.core.exceptions import ValidationError
from django.db import models

SNOMED_SYSTEM = "http://snomed.info/sct"
LOINC_SYSTEM = "http://loinc.org"
UNCONFIRMED = None  # a value whose concept id was not confirmed in a published source

CODE_SOURCES = {
    "snomed": (
        "HL7 Lithuania cervical IG, ValueSet cytology-conclusion-lt-cervical and "
        "cervical-pathogen (github.com/HL7LT/ig-lt-cervical, input/fsh/terminology/); "
        "ccsm-cds-tools CervicalCytologyResult value set (SNOMED CT 2022-03-01 edition, "
        "github.com/ccsm-cds-tools/ccsm-cds-with-tests, fsh-tank/input/fsh/)"
    ),
    "loinc": "Taiwan NHI PAS ValueSet report-type (build.fhir.org/ig/TWNHIFHIR/pas)",
}

# The report as a whole (LOINC "Cytology report of Cervical or vaginal smear or scraping").
REPORT_LOINC = {
    "conventional": ("47528-5", "Cytology report of Cervical or vaginal smear or scraping Cyto stain"),
    "liquid_based": ("47527-7", "Cytology report of Cervical or vaginal smear or scraping Cyto "
                                "stain.thin prep"),
}
DEFAULT_REPORT_LOINC = REPORT_LOINC["conventional"]
# Section codes (general category, adequacy, interpretation...) seen only in a list without
# their names: not confirmed, so not stored. 10524-7, 19762-4, 19764-0, 19765-7, 19766-5.
SECTION_LOINC = UNCONFIRMED


class SpecimenType(models.TextChoices):
    CONVENTIONAL = "conventional", "Conventional smear (Pap smear)"
    LIQUID_BASED = "liquid_based", "Liquid-based preparation"


class Adequacy(models.TextChoices):
    SATISFACTORY = "satisfactory", "Satisfactory for evaluation"
    UNSATISFACTORY = "unsatisfactory", "Unsatisfactory for evaluation"


class TransformationZone(models.TextChoices):
    PRESENT = "present", "Endocervical/transformation zone component present"
    ABSENT = "absent", "Endocervical/transformation zone component absent"


class QualityIndicator(models.TextChoices):
    PARTLY_OBSCURING_BLOOD = "obscuring_blood", "Partly obscuring blood"
    PARTLY_OBSCURING_INFLAMMATION = "obscuring_inflammation", "Partly obscuring inflammation"
    AIR_DRYING = "air_drying", "Air-drying artefact"
    THICK_AREAS = "thick_areas", "Thick areas"
    SCANT_CELLULARITY = "scant_cellularity", "Scant cellularity (borderline)"
    POOR_FIXATION = "poor_fixation", "Poor fixation or preservation"


class UnsatisfactoryKind(models.TextChoices):
    REJECTED = "rejected", "Specimen rejected, not processed"
    PROCESSED = "processed", "Specimen processed and examined, but unsatisfactory"


class UnsatisfactoryReason(models.TextChoices):
    UNLABELLED = "unlabelled", "Unlabelled or mislabelled specimen"
    SLIDE_BROKEN = "slide_broken", "Slide broken, cannot be repaired"
    SCANT_SQUAMOUS = "scant_squamous", "Scant squamous epithelial component"
    OBSCURING_BLOOD = "obscuring_blood", "Obscuring blood (> 75% of cells)"
    OBSCURING_INFLAMMATION = "obscuring_inflammation", "Obscuring inflammation (> 75% of cells)"
    AIR_DRYING = "air_drying", "Air-drying artefact"
    OTHER = "other", "Other (see comment)"


class GeneralCategory(models.TextChoices):
    NILM = "nilm", "Negative for intraepithelial lesion or malignancy"
    EPITHELIAL_ABNORMALITY = "epithelial_abnormality", "Epithelial cell abnormality"
    OTHER = "other", "Other"


class Interpretation(models.TextChoices):
    NILM = "nilm", "Negative for intraepithelial lesion or malignancy (NILM)"
    # Squamous cell
    ASC_US = "asc_us", "Atypical squamous cells of undetermined significance (ASC-US)"
    ASC_H = "asc_h", "Atypical squamous cells, cannot exclude HSIL (ASC-H)"
    LSIL = "lsil", "Low-grade squamous intraepithelial lesion (LSIL)"
    HSIL = "hsil", "High-grade squamous intraepithelial lesion (HSIL)"
    HSIL_SUSPICIOUS_INVASION = "hsil_invasion", "HSIL with features suspicious for invasion"
    SQUAMOUS_CARCINOMA = "squamous_carcinoma", "Squamous cell carcinoma"
    # Glandular cell
    AGC_ENDOCERVICAL = "agc_endocervical", "Atypical endocervical cells (NOS)"
    AGC_ENDOMETRIAL = "agc_endometrial", "Atypical endometrial cells (NOS)"
    AGC_NOS = "agc_nos", "Atypical glandular cells (NOS)"
    AGC_ENDOCERVICAL_FAVOUR_NEOPLASTIC = "agc_endocervical_neoplastic", \
        "Atypical endocervical cells, favour neoplastic"
    AGC_FAVOUR_NEOPLASTIC = "agc_neoplastic", "Atypical glandular cells, favour neoplastic"
    AIS = "ais", "Endocervical adenocarcinoma in situ (AIS)"
    ADENOCARCINOMA = "adenocarcinoma", "Adenocarcinoma"
    # Other
    ENDOMETRIAL_CELLS = "endometrial_cells", "Endometrial cells (in a woman ≥ 45 years of age)"
    # Only on reports migrated from the former "Abnormal: refer" sign-off; never chosen anew.
    SEE_COMMENT = "see_comment", "Epithelial cell abnormality, see comment"


SQUAMOUS = [Interpretation.ASC_US, Interpretation.ASC_H, Interpretation.LSIL, Interpretation.HSIL,
            Interpretation.HSIL_SUSPICIOUS_INVASION, Interpretation.SQUAMOUS_CARCINOMA]
GLANDULAR = [Interpretation.AGC_ENDOCERVICAL, Interpretation.AGC_ENDOMETRIAL, Interpretation.AGC_NOS,
             Interpretation.AGC_ENDOCERVICAL_FAVOUR_NEOPLASTIC, Interpretation.AGC_FAVOUR_NEOPLASTIC,
             Interpretation.AIS, Interpretation.ADENOCARCINOMA]
EPITHELIAL_ABNORMALITIES = [*SQUAMOUS, *GLANDULAR, Interpretation.SEE_COMMENT]
MIGRATED_ONLY = [Interpretation.SEE_COMMENT]
CHOOSABLE_INTERPRETATIONS = [(value, label) for value, label in Interpretation.choices
                             if value not in MIGRATED_ONLY]

# The general category each interpretation belongs to.
INTERPRETATION_CATEGORY = {
    Interpretation.NILM: GeneralCategory.NILM,
    **{value: GeneralCategory.EPITHELIAL_ABNORMALITY for value in EPITHELIAL_ABNORMALITIES},
    Interpretation.ENDOMETRIAL_CELLS: GeneralCategory.OTHER,
}
ENDOMETRIAL_CELLS_MIN_AGE = 45


class Organism(models.TextChoices):
    TRICHOMONAS = "trichomonas", "Trichomonas vaginalis"
    CANDIDA = "candida", "Fungal organisms morphologically consistent with Candida spp."
    SHIFT_IN_FLORA = "shift_in_flora", "Shift in flora suggestive of bacterial vaginosis"
    ACTINOMYCES = "actinomyces", "Bacteria morphologically consistent with Actinomyces spp."
    HSV = "hsv", "Cellular changes consistent with herpes simplex virus"
    CMV = "cmv", "Cellular changes consistent with cytomegalovirus"


class NonNeoplasticFinding(models.TextChoices):
    REACTIVE_INFLAMMATION = "reactive_inflammation", \
        "Reactive cellular changes associated with inflammation (includes typical repair)"
    REACTIVE_RADIATION = "reactive_radiation", "Reactive cellular changes associated with radiation"
    REACTIVE_IUD = "reactive_iud", "Reactive cellular changes associated with an intrauterine device"
    GLANDULAR_POST_HYSTERECTOMY = "glandular_post_hysterectomy", \
        "Glandular cells status post hysterectomy"
    ATROPHY = "atrophy", "Atrophy"
    SQUAMOUS_METAPLASIA = "squamous_metaplasia", "Squamous metaplasia"
    KERATOTIC_CHANGES = "keratotic_changes", "Keratotic changes"
    TUBAL_METAPLASIA = "tubal_metaplasia", "Tubal metaplasia"
    PREGNANCY_CHANGES = "pregnancy_changes", "Pregnancy-associated changes"


class HpvResult(models.TextChoices):
    NOT_DONE = "not_done", "Not done"
    NEGATIVE = "negative", "High-risk HPV not detected"
    POSITIVE_OTHER = "positive_other", "High-risk HPV detected (not 16/18)"
    POSITIVE_16 = "positive_16", "HPV 16 detected"
    POSITIVE_18 = "positive_18", "HPV 18 detected"
    POSITIVE_16_18 = "positive_16_18", "HPV 16 and 18 detected"
    POSITIVE_UNTYPED = "positive", "High-risk HPV detected (not genotyped)"
    INVALID = "invalid", "Invalid or indeterminate result"


class Recommendation(models.TextChoices):
    ROUTINE_SCREENING = "routine_screening", "Routine screening as per national guidelines"
    REPEAT_CYTOLOGY_12_MONTHS = "repeat_12_months", "Repeat cytology in 12 months"
    REPEAT_2_4_MONTHS = "repeat_2_4_months", "Repeat cytology in 2–4 months"
    REPEAT_AFTER_TREATMENT = "repeat_after_treatment", "Repeat cytology after treatment of infection"
    HPV_TESTING = "hpv_testing", "HPV testing"
    COLPOSCOPY = "colposcopy", "Colposcopy"
    ENDOMETRIAL_SAMPLING = "endometrial_sampling", "Endometrial sampling"
    CLINICAL_CORRELATION = "clinical_correlation", "Clinical correlation"


# SNOMED CT concept ids by field, then value (values repeat across fields: "obscuring_blood"
# is a quality indicator and an unsatisfactory reason, coded differently), with the fully
# specified name from the source value set.
SNOMED_CODES = {
    "adequacy": {
        Adequacy.SATISFACTORY: "125152006",  # Specimen satisfactory for evaluation (finding)
        Adequacy.UNSATISFACTORY: "125154007",  # Specimen unsatisfactory for evaluation (finding)
    },
    "interpretation": {
        Interpretation.NILM: "373887005",  # Negative for intraepithelial lesion or malignancy
        Interpretation.ASC_US: "441087007",  # ASC-US on cervical Papanicolaou smear (finding)
        Interpretation.ASC_H: "441088002",  # ASC on cervical Pap smear cannot exclude HSIL
        Interpretation.LSIL: "62051000119105",  # LSIL on cervical Papanicolaou smear (finding)
        Interpretation.HSIL: "62061000119107",  # HSIL on cervical Papanicolaou smear (finding)
        Interpretation.HSIL_SUSPICIOUS_INVASION: UNCONFIRMED,
        Interpretation.SQUAMOUS_CARCINOMA: "1162767002",  # Squamous cell carcinoma (morph. abn.)
        Interpretation.AGC_ENDOCERVICAL: "441094005",  # Atypical endocervical cells on Pap smear
        Interpretation.AGC_ENDOMETRIAL: "103646000",  # Atypical endometrial cells of undetermined
        # significance (morphologic abnormality)
        Interpretation.AGC_NOS: "441219009",  # Atypical glandular cells on cervical Pap smear
        Interpretation.AGC_ENDOCERVICAL_FAVOUR_NEOPLASTIC: "373882004",  # Atypical endocervical
        # cells, favor neoplastic (morphologic abnormality)
        Interpretation.AGC_FAVOUR_NEOPLASTIC: "373883009",  # AGC, favor neoplastic (morph. abn.)
        Interpretation.AIS: "447760009",  # Endocervical adenocarcinoma in situ (disorder)
        Interpretation.ADENOCARCINOMA: "1187332001",  # Adenocarcinoma (morphologic abnormality)
        # "Endometrial cells in a woman forty years of age or older, negative for squamous
        # intraepithelial lesion" (Bethesda 2001's age; 2014 raised it to 45): the closest
        # confirmed concept.
        Interpretation.ENDOMETRIAL_CELLS: "373885002",
        Interpretation.SEE_COMMENT: UNCONFIRMED,
    },
    "transformation_zone": {
        TransformationZone.PRESENT: UNCONFIRMED,
        TransformationZone.ABSENT: "412716005",  # Cervical smear transformation zone cells absent
    },
    "unsatisfactory_reason": {
        UnsatisfactoryReason.SCANT_SQUAMOUS: "125161006",  # ... due to scant squamous component
        UnsatisfactoryReason.OBSCURING_BLOOD: "123836007",  # ... due to obscuring blood
        UnsatisfactoryReason.OBSCURING_INFLAMMATION: "123837003",  # ... due to obscuring inflam.
        UnsatisfactoryReason.AIR_DRYING: "125162004",  # ... due to air drying artifact
    },
    "organisms": {
        Organism.CANDIDA: "168418000",  # Cervical smear - candida (finding)
        Organism.TRICHOMONAS: "168417005",  # Cervical smear - trichomonas (finding)
        Organism.ACTINOMYCES: "168422005",  # Cervical smear - actinomyces (finding)
        Organism.HSV: "373875003",  # Cellular changes consistent with Herpes simplex (finding)
        Organism.SHIFT_IN_FLORA: UNCONFIRMED,
        Organism.CMV: UNCONFIRMED,
    },
    "other_findings": {
        NonNeoplasticFinding.REACTIVE_INFLAMMATION: "125513006",  # Reactive cellular changes
        # (morphologic abnormality); radiation, IUD, atrophy...: unconfirmed
    },
}


def snomed_code(field, value):
    """The confirmed SNOMED CT id of a field's Bethesda value, or "" (unconfirmed, not coded)."""
    return SNOMED_CODES.get(field, {}).get(value) or ""


def coded_value(field, value):
    code = snomed_code(field, value)
    return {"field": field, "value": value, "system": SNOMED_SYSTEM if code else "", "code": code}


def report_loinc(specimen_type):
    """(code, display) of the LOINC report code for the specimen type."""
    return REPORT_LOINC.get(specimen_type, DEFAULT_REPORT_LOINC)


class ChoiceListField(models.JSONField):
    """A list of values of one TextChoices class, stored as JSON (several may apply: organisms,
    findings, quality indicators). The form shows checkboxes; validation rejects unknown values."""

    def __init__(self, *args, choices_class=None, **kwargs):
        self.choices_class = choices_class
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("choices_class", None)  # the validation needs no migration
        return name, path, args, kwargs

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if not isinstance(value, list):
            raise ValidationError("Expected a list of values.", code="invalid")
        if self.choices_class is not None:
            unknown = [item for item in value if item not in self.choices_class.values]
            if unknown:
                raise ValidationError(f"Unknown value(s): {', '.join(map(str, unknown))}.",
                                      code="invalid_choice")

    def formfield(self, **kwargs):
        from django import forms
        if self.choices_class is None:
            return super().formfield(**kwargs)
        return forms.MultipleChoiceField(
            choices=self.choices_class.choices, required=not self.blank,
            widget=forms.CheckboxSelectMultiple, label=self.verbose_name.capitalize(),
            help_text=self.help_text)


def labels(choices_class, values):
    """The display labels of stored values, in the stored order (unknown values as stored)."""
    names = dict(choices_class.choices)
    return [names.get(value, value) for value in values]


class BethesdaFindings(models.Model):
    """What a Bethesda report records: specimen type, adequacy, general category,
    interpretation, organisms and other findings, HPV. Used by the signed report version and
    by a screener's findings. Blank values mean "not recorded" (e.g. migrated reports)."""

    specimen_type = models.CharField(max_length=20, choices=SpecimenType.choices, blank=True)
    adequacy = models.CharField(max_length=20, choices=Adequacy.choices, blank=True)
    transformation_zone = models.CharField(
        "transformation zone component", max_length=10, choices=TransformationZone.choices,
        blank=True)
    quality_indicators = ChoiceListField("quality indicators", choices_class=QualityIndicator)
    unsatisfactory_kind = models.CharField(
        max_length=20, choices=UnsatisfactoryKind.choices, blank=True)
    unsatisfactory_reason = models.CharField(
        max_length=30, choices=UnsatisfactoryReason.choices, blank=True)
    general_category = models.CharField(
        "general categorisation", max_length=30, choices=GeneralCategory.choices, blank=True)
    interpretation = models.CharField(
        "interpretation/result", max_length=40, choices=Interpretation.choices, blank=True)
    organisms = ChoiceListField("organisms", choices_class=Organism)
    other_findings = ChoiceListField(
        "other non-neoplastic findings", choices_class=NonNeoplasticFinding)
    hpv_result = models.CharField(
        "HPV (adjunctive testing)", max_length=20, choices=HpvResult.choices, blank=True)

    class Meta:
        abstract = True

    def bethesda_values(self):
        return {name: getattr(self, name) for name in BETHESDA_FIELDS}

    def organism_labels(self):
        return labels(Organism, self.organisms)

    def other_finding_labels(self):
        return labels(NonNeoplasticFinding, self.other_findings)

    def quality_indicator_labels(self):
        return labels(QualityIndicator, self.quality_indicators)

    def coded_values(self):
        """Every recorded value with its code system and id ("" when unconfirmed): stored with
        a signed report so an HL7/FHIR export needs no mapping."""
        singles = ["specimen_type", "adequacy", "transformation_zone", "unsatisfactory_kind",
                   "unsatisfactory_reason", "general_category", "interpretation", "hpv_result"]
        entries = [(name, getattr(self, name)) for name in singles if getattr(self, name)]
        for name in ["quality_indicators", "organisms", "other_findings"]:
            entries += [(name, value) for value in getattr(self, name)]
        code, display = report_loinc(self.specimen_type)
        return {
            "report": {"system": LOINC_SYSTEM, "code": code, "display": display},
            "values": [coded_value(name, value) for name, value in entries],
        }


BETHESDA_FIELDS = ["specimen_type", "adequacy", "transformation_zone", "quality_indicators",
                   "unsatisfactory_kind", "unsatisfactory_reason", "general_category",
                   "interpretation", "organisms", "other_findings", "hpv_result"]
