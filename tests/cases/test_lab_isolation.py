"""One deployment, two labs: each lab's screeners see their own lab's cases and no other's."""
from django.urls import reverse


def test_a_second_labs_screener_sees_none_of_the_first_labs_cases(
        client_for, accessioned, lab, other_lab, cytotechnologist, south_cytotechnologist):
    north, south = accessioned(lab, 1), accessioned(other_lab, 2)
    client = client_for(south_cytotechnologist)
    queue = client.get(reverse("cases:queue")).content.decode()
    assert south.specimen.accession_number in queue
    assert north.specimen.accession_number not in queue
    for url in (north.specimen.get_absolute_url(), north.specimen.patient.get_absolute_url(),
                reverse("cases:screen", args=[north.pk])):
        assert client.get(url).status_code == 404
    assert client.post(reverse("cases:claim", args=[north.pk])).status_code == 404
    search = client.get(reverse("patients:list"), {"q": north.specimen.accession_number})
    assert north.specimen.patient.full_name not in search.content.decode()


def test_a_pathologist_of_the_other_lab_cannot_open_the_case(
        client_for, accessioned, lab, other_lab, other_doctor):
    other_lab.members.add(other_doctor)
    north = accessioned(lab, 1)
    assert client_for(other_doctor).get(north.specimen.get_absolute_url()).status_code == 404


def test_a_member_of_both_labs_sees_both_queues(client_for, accessioned, lab, other_lab,
                                                cytotechnologist):
    other_lab.members.add(cytotechnologist)
    north, south = accessioned(lab, 1), accessioned(other_lab, 2)
    queue = client_for(cytotechnologist).get(reverse("cases:queue")).content.decode()
    assert north.specimen.accession_number in queue and south.specimen.accession_number in queue


def test_lab_staff_see_no_queue(client_for, lab_staff):
    assert client_for(lab_staff).get(reverse("cases:queue")).status_code == 403


def test_a_member_of_both_labs_chooses_one_labs_queue(client_for, accessioned, lab, other_lab,
                                                      cytotechnologist):
    other_lab.members.add(cytotechnologist)
    north, south = accessioned(lab, 1), accessioned(other_lab, 2)
    client = client_for(cytotechnologist)
    queue = client.get(reverse("cases:queue"), {"lab": other_lab.pk}).content.decode()
    assert 'id="lab-choice"' in queue
    assert south.specimen.accession_number in queue
    assert north.specimen.accession_number not in queue


def test_no_lab_choice_for_a_member_of_one_lab_nor_another_labs_queue(
        client_for, accessioned, lab, other_lab, cytotechnologist):
    accessioned(lab, 1)
    client = client_for(cytotechnologist)
    assert 'id="lab-choice"' not in client.get(reverse("cases:queue")).content.decode()
    assert client.get(reverse("cases:queue"), {"lab": other_lab.pk}).status_code == 404
    assert client.get(reverse("cases:queue"), {"lab": "x"}).status_code == 404
