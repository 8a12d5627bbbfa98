"""A specimen's results counted in one query, for the pages that show several counts of them.

The review page counted the same cells five times (cells pending and flagged unreviewed; per
morphology class; per Bethesda category; the suggested category's abnormal cells; the cell
list's length): five queries to build, compile and run. Here they are grouped once by every
value those counts read, and each count is a sum over the groups.
"""
from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper

from celinsight.compiled_queries import CompiledQuery
from diagnostics.models import CellResult
from diagnostics.triage import RESULT_CUT_FROM_FIELD

Status = CellResult.Status


@dataclass(frozen=True)
class CellGroup:
    """Results that agree on every value below; ``reviewed_class`` is None where unreviewed."""

    status: str
    model_version: str
    predicted_class: str
    bethesda_model_version: str
    bethesda_category: str
    referred: bool
    reviewed_class: str | None
    cut_from_field: bool  # a crop the worker cut from a field of view or a slide
    count: int


GROUPS_OF_SPECIMEN = CompiledQuery(lambda key: (
    CellResult.objects.filter(image__specimen_id=key)
    .values_list("status", "model_version", "predicted_class", "bethesda_model_version",
                 "bethesda_category", "refer_to_cytologist", "review__reviewed_class",
                 ExpressionWrapper(RESULT_CUT_FROM_FIELD, output_field=BooleanField()))
    .annotate(count=Count("pk")).order_by()), -1)


class CellSummary:
    """The groups of one specimen's results (``of``), and the counts pages read from them."""

    def __init__(self, groups):
        self.groups = groups
        self.done = [group for group in groups if group.status == Status.DONE]

    @classmethod
    def of(cls, specimen):
        return cls([CellGroup(*row) for row in GROUPS_OF_SPECIMEN.rows(specimen.pk)])

    def cells(self, groups, test=lambda group: True):
        return sum(group.count for group in groups if test(group))

    @property
    def done_count(self):
        return self.cells(self.done)

    @property
    def pending_count(self):
        return self.cells(self.groups,
                          lambda group: group.status in (Status.QUEUED, Status.RUNNING))

    @property
    def unreviewed_flagged_count(self):
        return self.cells(self.done, lambda group: group.referred and group.reviewed_class is None)
