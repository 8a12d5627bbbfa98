"""Queries of a fixed shape, compiled to SQL once a process instead of once a request.

Django builds and compiles a queryset's SQL every time it runs it. For the queries every page
sends in the same shape (the request's user; the specimen joined with its patient, case and
requisition, eight tables) that took longer than the database took to answer: 4.3 ms of CPU
for the specimen's (bench/README.md, "Compiled once"). A ``CompiledQuery`` builds its queryset
once a database connection, with stand-in values, finds those values among the SQL's
parameters, and from then on sends the same SQL with each call's values, building the model
instances with Django's own iterable.

Only for querysets whose parameters are the call's values and constants: nothing read from
the clock or the database while building it. Values are keys and text, which every backend
takes as they are; a stand-in is a value of the same type that no call passes.
"""
import copy
import weakref

from django.db import connections
from django.db.models import prefetch_related_objects
from django.db.models.query import ModelIterable


class CompiledQuery:
    def __init__(self, build, *stand_ins):
        """``build(*values)``: the queryset for those values; ``stand_ins``: one value per
        argument, each distinct from the others and from the query's constants."""
        self.build = build
        self.stand_ins = stand_ins
        self.db = None  # the database alias the queryset reads from, once built
        self.compiled = weakref.WeakKeyDictionary()  # a connection's (compiler, params, where)

    def __call__(self, *values):
        """The model instances the queryset for ``values`` holds, as a list."""
        compiler = self.compiler_for(values)  # first: it sets self.db on a first call
        return list(ModelIterable(_Compiled(self.db, compiler)))

    def rows(self, *values):
        """The rows, as tuples, of a ``values_list`` queryset (aggregates too) for ``values``."""
        return list(self.compiler_for(values).results_iter(tuple_expected=True))

    def compiler_for(self, values):
        compiler, params, positions = self.compiled_for_connection()
        params = list(params)
        for position, argument in positions:
            params[position] = type(self.stand_ins[argument])(values[argument])
        run = copy.copy(compiler)
        run.as_sql = lambda *args, **kwargs: (run.sql, params)
        return run

    def first(self, *values):
        found = self(*values)
        return found[0] if found else None

    def compiled_for_connection(self):
        connection = connections[self.db] if self.db else None
        if connection not in self.compiled:  # a first call, or a new thread's connection
            queryset = self.build(*self.stand_ins)
            self.db = queryset.db
            connection = connections[self.db]
            self.compiled[connection] = self.compile(queryset)
        return self.compiled[connection]

    def compile(self, queryset):
        compiler = queryset.query.get_compiler(using=queryset.db)
        compiler.sql, params = compiler.as_sql()
        argument_of = {(type(stand_in), stand_in): argument
                       for argument, stand_in in enumerate(self.stand_ins)}
        positions = [(position, argument_of[type(value), value])
                     for position, value in enumerate(params)
                     if (type(value), value) in argument_of]
        missing = set(range(len(self.stand_ins))) - {argument for _, argument in positions}
        if missing:
            raise ValueError(f"stand-ins {sorted(missing)} are not among the query's "
                             f"parameters {params}: {compiler.sql}")
        return compiler, tuple(params), positions


class _Compiled:
    """What ModelIterable reads of a queryset: the database, and a compiler whose SQL is
    already made."""

    _known_related_objects = {}

    def __init__(self, db, compiler):
        self.db = db
        self.compiler = compiler
        self.query = self

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        return self.compiler


class ForKeys:
    """A query of a list of integer keys (``pk__in=keys``), compiled once a process for each
    number of keys: ``build(keys)`` is its queryset. A page's keys are at most a page long,
    so there are a few dozen shapes at most."""

    def __init__(self, build):
        self.build = build
        self.by_count = {}

    def query_for(self, keys):
        count = len(keys)
        if count not in self.by_count:
            # Negative keys: no row has one; the stand-ins must differ from the query's
            # constants, and its constants are never negative integers.
            self.by_count[count] = CompiledQuery(lambda *stand_ins: self.build(stand_ins),
                                                 *range(-1, -count - 1, -1))
        return self.by_count[count]

    def __call__(self, keys):
        return self.query_for(keys)(*keys)

    def rows(self, keys):
        return self.query_for(keys).rows(*keys)


_ROWS_BY_SHAPE = {}  # (model, database, joins): a ForKeys of those rows


def rows_by_key(queryset, keys):
    """``{key: row}`` for ``keys`` (a page's, already chosen by ``queryset``'s filter), read
    as ``queryset`` reads its rows (its joins and prefetches) but by key alone, compiled once a
    process for each shape and number of keys.

    Re-reading a page's rows through the list's own filter (``in_bulk``) compiled that filter
    again and made the database evaluate it again: 3.3 ms of CPU and 3.9 ms of PostgreSQL for
    the screening queue's 25 cases. A queryset with annotations, extra or deferred columns is
    read by ``in_bulk``, as before, and so are keys that are not integers."""
    query = queryset.query
    if (not keys or query.annotations or query.extra or query.deferred_loading[0]
            or query.select_related is True or any(type(key) is not int for key in keys)):
        return queryset.in_bulk(keys)
    model, db = queryset.model, queryset.db
    joins = tuple(sorted(related_lookups(query.select_related)))
    shape = (model, db, joins)
    if shape not in _ROWS_BY_SHAPE:
        _ROWS_BY_SHAPE[shape] = ForKeys(
            lambda keys: model._base_manager.db_manager(db).select_related(*joins)
            .filter(pk__in=keys).order_by())
    rows = _ROWS_BY_SHAPE[shape](keys)
    if queryset._prefetch_related_lookups:
        prefetch_related_objects(rows, *queryset._prefetch_related_lookups)
    return {row.pk: row for row in rows}


def related_lookups(select_related, prefix=""):
    """The lookups (``"specimen__patient"``) of a query's ``select_related`` tree."""
    for name, below in (select_related or {}).items():
        yield prefix + name
        yield from related_lookups(below, f"{prefix}{name}__")


def lists_by(rows, attribute):
    """``{value: [rows with that value of attribute]}``, each list in the rows' order: rows of
    several parents read in one query, handed out to their parents as a prefetch would."""
    grouped = {}
    for row in rows:
        grouped.setdefault(getattr(row, attribute), []).append(row)
    return grouped


class CompiledSlices:
    """Slices of a fixed-shape queryset of one key (``build(key)``), as a paginator takes
    them: each slice's SQL compiled once a process, for the first ``most`` slices asked for
    (a slice's bounds are in its SQL); later ones are built as querysets."""

    def __init__(self, build, most=64):
        self.build = build
        self.most = most
        self.by_bounds = {}

    def of(self, key):
        """What a Paginator slices: the queryset of ``key``, read slice by slice."""
        return _SlicedByKey(self, key)

    def rows(self, key, start, stop):
        if stop <= start:
            return []  # an empty first page; an empty slice compiles to no SQL
        bounds = (start, stop)
        if bounds not in self.by_bounds:
            if len(self.by_bounds) >= self.most:
                return list(self.build(key)[start:stop])
            self.by_bounds[bounds] = CompiledQuery(
                lambda stand_in: self.build(stand_in)[start:stop], -1)
        return self.by_bounds[bounds](key)


class _SlicedByKey:
    def __init__(self, slices, key):
        self.slices = slices
        self.key = key

    def __getitem__(self, bounds):
        return self.slices.rows(self.key, bounds.start or 0, bounds.stop)

    def count(self):
        return self.slices.build(self.key).count()
