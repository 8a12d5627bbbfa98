"""The screening queue: ordered by triage score then age; claims, assignments and hand-overs
recorded and audited."""
from auditlog.models import LogEntry
from django.urls import reverse

from cases.models import Case, HandOver


def queue_order(client):
    page = client.get(reverse("cases:queue"))
    return [case.specimen.accession_number for case, _ in page.context["rows"]]


def test_the_queue_is_ordered_by_triage_score_then_age(client_for, accessioned, lab,
                                                       cytotechnologist):
    accessioned(lab, 1, triage_score=None, collected_on="2026-10-01")
    accessioned(lab, 2, triage_score=0.2, collected_on="2026-11-01")
    accessioned(lab, 3, triage_score=0.9, collected_on="2026-11-05")
    accessioned(lab, 4, triage_score=0.2, collected_on="2026-10-15")
    accessioned(lab, 5, triage_score=None, collected_on="2026-09-01")
    prefix = f"C{lab.pk}-"
    assert queue_order(client_for(cytotechnologist)) == [
        prefix + n for n in ("3", "4", "2", "5", "1")]


def test_a_claimed_case_leaves_the_queue_for_my_cases(client_for, case, cytotechnologist):
    client = client_for(cytotechnologist)
    response = client.post(reverse("cases:claim", args=[case.pk]))
    assert response["Location"] == reverse("cases:screen", args=[case.pk])
    case.refresh_from_db()
    assert (case.stage, case.screener) == (Case.Stage.IN_SCREENING, cytotechnologist)
    assert case.claimed_at is not None
    assert queue_order(client) == []
    mine = client.get(reverse("cases:mine")).content.decode()
    assert case.specimen.accession_number in mine


def test_claiming_is_a_hand_over_and_in_the_audit_trail(client_for, case, cytotechnologist):
    client_for(cytotechnologist).post(reverse("cases:claim", args=[case.pk]))
    hand_over = case.hand_overs.last()
    assert (hand_over.by, hand_over.to_user, hand_over.from_user) == (
        cytotechnologist, cytotechnologist, None)
    assert hand_over.stage == Case.Stage.IN_SCREENING
    entry = LogEntry.objects.filter(content_type__model="case", object_pk=str(case.pk),
                                    action=LogEntry.Action.UPDATE).last()
    assert entry.actor == cytotechnologist
    assert entry.changes_dict["stage"] == ["awaiting_screening", "in_screening"]
    assert LogEntry.objects.filter(content_type__model="handover",
                                   object_pk=str(hand_over.pk)).exists()


def test_a_case_claimed_by_one_screener_cannot_be_claimed_by_another(
        client_for, case, cytotechnologist, other_cytotechnologist):
    client_for(cytotechnologist).post(reverse("cases:claim", args=[case.pk]))
    page = client_for(other_cytotechnologist).post(reverse("cases:claim", args=[case.pk]),
                                                   follow=True)
    assert "was taken by ct_north already" in page.content.decode()
    case.refresh_from_db()
    assert case.screener == cytotechnologist


def test_a_supervisor_assigns_a_case_to_a_named_screener(
        client_for, case, pathologist, cytotechnologist, other_cytotechnologist):
    client_for(pathologist).post(reverse("cases:assign", args=[case.pk]),
                                 {"screener": cytotechnologist.pk})
    client_for(pathologist).post(reverse("cases:assign", args=[case.pk]),
                                 {"screener": other_cytotechnologist.pk})
    case.refresh_from_db()
    assert (case.stage, case.screener) == (Case.Stage.IN_SCREENING, other_cytotechnologist)
    reassigned = case.hand_overs.last()
    assert (reassigned.from_user, reassigned.to_user, reassigned.by) == (
        cytotechnologist, other_cytotechnologist, pathologist)


def test_a_cytotechnologist_may_not_assign(client_for, case, cytotechnologist,
                                           other_cytotechnologist):
    response = client_for(cytotechnologist).post(reverse("cases:assign", args=[case.pk]),
                                                 {"screener": other_cytotechnologist.pk})
    assert response.status_code == 403


def test_a_screener_of_another_lab_cannot_be_assigned(client_for, case, pathologist,
                                                      south_cytotechnologist):
    page = client_for(pathologist).post(reverse("cases:assign", args=[case.pk]),
                                        {"screener": south_cytotechnologist.pk}, follow=True)
    assert "Choose a screener" in page.content.decode()
    case.refresh_from_db()
    assert case.screener is None


def test_a_screener_returns_a_case_to_the_queue(client_for, case, cytotechnologist):
    client = client_for(cytotechnologist)
    client.post(reverse("cases:claim", args=[case.pk]))
    client.post(reverse("cases:return", args=[case.pk]))
    case.refresh_from_db()
    assert (case.stage, case.screener) == (Case.Stage.AWAITING_SCREENING, None)
    assert [h.stage for h in HandOver.objects.filter(case=case)] == [
        "awaiting_screening", "in_screening", "awaiting_screening"]


def test_a_pathologist_claims_from_the_pathologist_queue(client_for, case, pathologist):
    Case.objects.filter(pk=case.pk).update(stage=Case.Stage.AWAITING_PATHOLOGIST)
    client = client_for(pathologist)
    assert case.specimen.accession_number in client.get(
        reverse("cases:pathologist_queue")).content.decode()
    client.post(reverse("cases:claim", args=[case.pk]))
    case.refresh_from_db()
    assert (case.stage, case.pathologist) == (Case.Stage.WITH_PATHOLOGIST, pathologist)
    assert case.specimen.accession_number in client.get(reverse("cases:mine")).content.decode()


def test_a_cytotechnologist_cannot_take_a_case_awaiting_a_pathologist(
        client_for, case, cytotechnologist):
    Case.objects.filter(pk=case.pk).update(stage=Case.Stage.AWAITING_PATHOLOGIST)
    client_for(cytotechnologist).post(reverse("cases:claim", args=[case.pk]))
    case.refresh_from_db()
    assert case.stage == Case.Stage.AWAITING_PATHOLOGIST
    assert client_for(cytotechnologist).get(reverse("cases:pathologist_queue")).status_code == 403


def test_the_screener_hands_a_case_over_to_a_colleague(
        client_for, case, cytotechnologist, other_cytotechnologist):
    client = client_for(cytotechnologist)
    client.post(reverse("cases:claim", args=[case.pk]))
    client.post(reverse("cases:assign", args=[case.pk]), {"screener": other_cytotechnologist.pk})
    case.refresh_from_db()
    assert case.screener == other_cytotechnologist
    hand_over = case.hand_overs.last()
    assert (hand_over.from_user, hand_over.to_user, hand_over.by, hand_over.note) == (
        cytotechnologist, other_cytotechnologist, cytotechnologist,
        "Handed over by ct_north.")
    # Handed over, it is no longer theirs to hand over again.
    response = client.post(reverse("cases:assign", args=[case.pk]),
                           {"screener": cytotechnologist.pk})
    assert response.status_code == 403
