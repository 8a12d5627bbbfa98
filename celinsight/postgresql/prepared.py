"""psycopg2 connections that prepare the queries they are sent again and again.

PostgreSQL plans each query it is sent, and for the pages' queries planning took longer than
running them: 1-8 ms against 0.1-2 ms (the user's permissions, whether they hold a patient,
the specimen with its case and requisition; bench/README.md, "Planned once a connection").
Django (with psycopg2) sends every query as text. Here a SELECT seen a second time on a
connection is prepared there (``PREPARE``) and from then on sent as ``EXECUTE`` with its
values: it is parsed once a connection, and planned once when PostgreSQL settles on a generic
plan (after five runs, where one is no dearer than planning each time).

Only SELECTs with positional values and none in their first select list (a value there has no
type to infer) are prepared; a PREPARE that fails (a value whose type cannot be inferred)
is undone, in a savepoint inside a transaction, and that query is sent as text from then on.
Django logs and counts the queries as it sent them, before this layer.
"""
import itertools
import re

import psycopg2.extensions
from psycopg2.extensions import TRANSACTION_STATUS_IDLE, TRANSACTION_STATUS_INTRANS

MOST_STATEMENTS = 200  # a connection's; the least recently used one goes first
MOST_SIGHTINGS = 5000  # queries seen once are forgotten when there are more
_PLACEHOLDER = re.compile(r"%([s%])")
UNPREPARABLE = ""


def numbered_placeholders(sql):
    """Django's ``%s`` placeholders as PostgreSQL's ``$1, $2, ...`` (and ``%%`` as ``%``)."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda found: f"${next(numbers)}" if found[1] == "s" else "%", sql)


def preparable(sql, params):
    if not isinstance(sql, str) or not isinstance(params, (list, tuple)) or not params:
        return False
    if not sql.startswith("SELECT "):
        return False
    first_from = sql.find(" FROM ")
    return first_from > 0 and "%s" not in sql[:first_from]


def send(cursor, sql):
    """Run ``sql`` as it is, past PreparingCursor.execute."""
    psycopg2.extensions.cursor.execute(cursor, sql)


class PreparingConnection(psycopg2.extensions.connection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.statements = {}  # SQL text -> statement name (or UNPREPARABLE), oldest first
        self.sightings = {}  # SQL text seen once
        self.names = itertools.count(1)
        self.paused = 0

    def statement_for(self, sql, cursor):
        """The name of ``sql``'s prepared statement, preparing it on its second sighting;
        None while it is not (yet) prepared."""
        name = self.statements.pop(sql, None)
        if name is None:
            if self.paused or not self.sightings.pop(sql, False):
                if len(self.sightings) >= MOST_SIGHTINGS:
                    self.sightings.clear()
                self.sightings[sql] = True
                return None
            name = self.prepare(sql, cursor)
            if len(self.statements) >= MOST_STATEMENTS:
                self.deallocate_oldest(cursor)
        self.statements[sql] = name  # now the most recently used
        return name or None

    def prepare(self, sql, cursor):
        name = f"celinsight_{next(self.names)}"
        statement = f"PREPARE {name} AS {numbered_placeholders(sql)}"
        status = self.info.transaction_status
        if status == TRANSACTION_STATUS_IDLE and self.autocommit:
            try:
                send(cursor, statement)
            except psycopg2.Error:
                return UNPREPARABLE
            return name
        if status not in (TRANSACTION_STATUS_IDLE, TRANSACTION_STATUS_INTRANS):
            return UNPREPARABLE  # a failed transaction: the query will fail as it is
        send(cursor, "SAVEPOINT celinsight_prepare")
        try:
            send(cursor, statement)
        except psycopg2.Error:
            send(cursor, "ROLLBACK TO SAVEPOINT celinsight_prepare")
            name = UNPREPARABLE
        send(cursor, "RELEASE SAVEPOINT celinsight_prepare")
        return name

    def deallocate_oldest(self, cursor):
        sql, name = next(iter(self.statements.items()))
        del self.statements[sql]
        if name and self.info.transaction_status in (TRANSACTION_STATUS_IDLE,
                                                     TRANSACTION_STATUS_INTRANS):
            send(cursor, f"DEALLOCATE {name}")

    def forget_statements(self):
        """Prepare nothing anew, and send every query as text, until ``resume``: a migration
        changes the tables under the statements (those prepared stay on the server, unused,
        until the connection closes)."""
        self.paused += 1
        self.statements.clear()
        self.sightings.clear()

    def resume(self):
        self.paused -= 1


class PreparingCursor(psycopg2.extensions.cursor):
    prepared_query = None  # the query last sent as EXECUTE, as it was given

    def execute(self, query, vars=None):
        self.prepared_query = None
        if self.name is None and preparable(query, vars):
            name = self.connection.statement_for(query, self)
            if name:
                values = ", ".join(["%s"] * len(vars))
                super().execute(f"EXECUTE {name} ({values})", vars)
                self.prepared_query = query
                return
        return super().execute(query, vars)
