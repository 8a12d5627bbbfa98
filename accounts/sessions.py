"""Django's database sessions, the session's row read by SQL compiled once a process: every
request reads it, and building that query was a fifth of the CPU of a request that does
nothing else (bench/README.md, "Compiled once")."""
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from celinsight.compiled_queries import CompiledQuery

SESSION_BY_KEY = CompiledQuery(lambda key: Session.objects.filter(session_key=key),
                               "stand-in session key")


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        """Django's: the session unless it has expired (compared here, not in the SQL, so
        that the query has no value from the clock)."""
        session = SESSION_BY_KEY.first(self.session_key) if self.session_key else None
        if session is not None and session.expire_date > timezone.now():
            return session
        self._session_key = None
        return None
