"""Django's PostgreSQL backend, on connections that prepare repeated queries
(celinsight/postgresql/prepared.py)."""
from django.conf import settings
from django.db.backends.postgresql import base, operations, schema

from celinsight.postgresql.prepared import PreparingConnection, PreparingCursor


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    """While tables change, no query is prepared, and none prepared before is used."""

    def __enter__(self):
        self.connection.ensure_connection()
        self.raw_connection = self.connection.connection
        if isinstance(self.raw_connection, PreparingConnection):
            self.raw_connection.forget_statements()
        return super().__enter__()

    def __exit__(self, *exception):
        try:
            return super().__exit__(*exception)
        finally:
            if isinstance(self.raw_connection, PreparingConnection):
                self.raw_connection.resume()


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        """The query as Django sent it (what the query log and captured queries show),
        not the EXECUTE of its prepared statement."""
        if getattr(cursor, "prepared_query", None) is not None:
            return cursor.mogrify(cursor.prepared_query, params).decode()
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if getattr(settings, "DB_PREPARED_STATEMENTS", True):
            params["connection_factory"] = PreparingConnection
            params["cursor_factory"] = PreparingCursor
        return params
