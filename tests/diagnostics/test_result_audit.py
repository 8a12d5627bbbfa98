"""The worker's predictions are in the audit trail: one entry per result, the worker's (no
user), naming the model version, written with the results in one statement per batch."""
import json
import re

import numpy as np
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diagnostics.cell_predictions import apply_predictions
from diagnostics.services import save_results

CLASSES = ["Dyskeratotic", "Parabasal", "Superficial-Intermediate"]


def classified(results):
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.85, 0.05]])[:len(results)]
    apply_predictions(results, probabilities, [True, False], CLASSES, 0.01)
    return results


def test_stored_predictions_are_audited_as_the_workers(specimen, make_result):
    result = make_result(specimen, {}, status="running")
    save_results(classified([result]))

    [entry] = LogEntry.objects.get_for_object(result).filter(action=LogEntry.Action.UPDATE)
    assert entry.actor is None
    assert entry.additional_data == {"model_version": "test-model", "by": "worker"}
    assert entry.changes["status"] == ["running", "done"]
    assert entry.changes["predicted_class"] == ["", "Dyskeratotic"]
    assert entry.changes["refer_to_cytologist"] == ["False", "True"]
    assert json.loads(entry.changes["probabilities"][1]) == {
        "Dyskeratotic": 0.7, "Parabasal": 0.2, "Superficial-Intermediate": 0.1}


def test_a_batch_is_stored_and_audited_in_one_statement_each(specimen, make_result):
    results = classified([make_result(specimen, {}, status="running") for _ in range(2)])
    LogEntry.objects.get_for_object(results[0])  # content types cached, as in a worker
    with CaptureQueriesContext(connection) as queries:
        save_results(results)
    # An executemany is captured once, as "2 times: UPDATE ...".
    writes = [q["sql"][:60] for q in queries.captured_queries
              if re.match(r"(\d+ times: )?(UPDATE|INSERT)", q["sql"])]
    assert len(writes) == 2, writes
    assert LogEntry.objects.filter(action=LogEntry.Action.UPDATE,
                                   additional_data__by="worker").count() == 2
