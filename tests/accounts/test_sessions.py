"""The session store reads a live session and never an expired one, as Django's does."""
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_live_session_is_read_and_an_expired_one_is_not():
    live = SessionStore()
    live["who"] = "screener"
    live.save()
    assert SessionStore(live.session_key)["who"] == "screener"

    Session.objects.filter(session_key=live.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(live.session_key)
    assert expired.get("who") is None
    assert expired.session_key is None  # a new session is made, never the expired one


def test_an_unknown_key_is_an_empty_new_session():
    unknown = SessionStore("x" * 32)
    assert unknown.get("who") is None and unknown.session_key is None


def test_signed_in_pages_use_it(client, doctor):
    client.force_login(doctor)
    assert client.get("/worklist/").status_code == 200
    assert isinstance(client.session, SessionStore)
