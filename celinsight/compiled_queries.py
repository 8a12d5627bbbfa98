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
        compiler, params, positions = self.compiled_for_connection()
        params = list(params)
        for position, argument in positions:
            params[position] = type(self.stand_ins[argument])(values[argument])
        run = copy.copy(compiler)
        run.as_sql = lambda *args, **kwargs: (run.sql, params)
        return list(ModelIterable(_Compiled(self.db, run)))

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
