"""Which queries the PostgreSQL backend prepares, and how their placeholders are numbered
(no database needed; tests/integration/test_prepared_statements.py runs them on PostgreSQL)."""
from celinsight.postgresql.prepared import numbered_placeholders, preparable


def test_placeholders_are_numbered_and_escaped_percents_kept():
    sql = "SELECT a FROM t WHERE b = %s AND c LIKE '50%%' AND d IN (%s, %s)"
    assert numbered_placeholders(sql) == (
        "SELECT a FROM t WHERE b = $1 AND c LIKE '50%' AND d IN ($2, $3)")


def test_only_selects_with_positional_values_outside_the_select_list_are_prepared():
    assert preparable("SELECT a FROM t WHERE b = %s", [1])
    assert preparable("SELECT a FROM t WHERE b = %s", (1,))
    assert not preparable("SELECT a FROM t", [])  # nothing to plan once for many values
    assert not preparable("SELECT %s AS x FROM t WHERE b = %s", [1, 2])
    assert not preparable("SELECT a FROM t WHERE b = %(b)s", {"b": 1})
    assert not preparable("UPDATE t SET a = %s", [1])
    assert not preparable("SELECT pg_advisory_lock(%s)", [1])  # no FROM
