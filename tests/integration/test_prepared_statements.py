"""The PostgreSQL backend prepares the queries a connection sends again (real PostgreSQL
under bin/integration-services; skipped on SQLite)."""
import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from celinsight.postgresql import prepared

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run bin/integration-services")


def prepared_on_server():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def usernames_like(pattern):
    return list(User.objects.filter(username__startswith=pattern)
                .order_by("username").values_list("username", flat=True))


def test_a_query_sent_again_is_prepared_and_answers_the_same(django_user_model):
    for name in ("ana", "anna", "bob"):
        django_user_model.objects.create(username=name)
    first = usernames_like("an")
    assert not any("auth_user" in sql for sql in prepared_on_server())
    assert usernames_like("an") == first == ["ana", "anna"]
    assert usernames_like("b") == ["bob"]  # the same statement, another value
    assert any('"auth_user"."username"' in sql for sql in prepared_on_server())


def test_the_query_log_shows_the_query_as_django_sent_it():
    usernames_like("x"), usernames_like("x")
    with CaptureQueriesContext(connection) as captured:
        usernames_like("y")
    assert captured.captured_queries[0]["sql"].startswith('SELECT "auth_user"."username"')
    assert "'y%'" in captured.captured_queries[0]["sql"]


def test_a_query_that_cannot_be_prepared_runs_as_text_without_breaking_the_transaction():
    untyped = "SELECT 1 AS one FROM auth_user WHERE %s IS NULL"  # $1 has no type to infer
    with transaction.atomic():
        with connection.cursor() as cursor:
            for _ in range(3):
                cursor.execute(untyped, [None])
            cursor.execute("SELECT 2")  # the transaction still works
            assert cursor.fetchone() == (2,)
    assert connection.connection.statements[untyped] == prepared.UNPREPARABLE


def test_a_migration_stops_preparing_until_it_ends():
    usernames_like("a")
    with connection.schema_editor():
        usernames_like("a"), usernames_like("a")
        assert connection.connection.statements == {}
    usernames_like("a"), usernames_like("a")
    assert connection.connection.statements


def test_a_connection_keeps_a_bounded_number_of_statements(monkeypatch):
    monkeypatch.setattr(prepared, "MOST_STATEMENTS", 3)
    for length in range(1, 7):
        with connection.cursor() as cursor:
            sql = "SELECT id FROM auth_user WHERE id IN (" + ", ".join(["%s"] * length) + ")"
            cursor.execute(sql, list(range(length)))
            cursor.execute(sql, list(range(length)))
    assert len(connection.connection.statements) <= 3
    assert len([sql for sql in prepared_on_server() if "FROM auth_user WHERE id IN" in sql]) <= 3
