import logging
from types import SimpleNamespace

import pytest
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.concurrency.solo import TaskPool as SoloPool

from celinsight.celery import (load_the_model_in_each_pool_process, load_the_model_in_the_worker,
                               share_cores_between_pool_processes)
from diagnostics import classifier


@pytest.fixture
def fresh_model_cache():
    classifier.load_model.cache_clear()
    yield
    classifier.load_model.cache_clear()


def loaded_models():
    return classifier.load_model.cache_info().currsize


BOTH_ROLES = 2  # the morphology model and the Bethesda model


def test_a_solo_worker_loads_the_model_before_its_first_task(db, fresh_model_cache):
    load_the_model_in_the_worker(sender=SimpleNamespace(pool_cls=SoloPool))
    assert loaded_models() == BOTH_ROLES


def test_a_prefork_worker_loads_it_in_each_child_not_in_the_parent(db, fresh_model_cache,
                                                                    monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    load_the_model_in_the_worker(sender=SimpleNamespace(pool_cls=PreforkPool, concurrency=2))
    assert loaded_models() == 0
    load_the_model_in_each_pool_process()
    assert loaded_models() == BOTH_ROLES


def test_a_model_that_cannot_load_at_start_is_logged_not_fatal(db, monkeypatch, caplog):
    def unavailable():
        raise LookupError("model version x is not registered")

    monkeypatch.setattr(classifier, "active_classifier", unavailable)
    with caplog.at_level(logging.ERROR, logger="diagnostics.classifier"):
        classifier.preload_active_classifier()
    assert "could not be loaded at worker start" in caplog.text


@pytest.mark.parametrize("cores, processes, threads", [(2, 2, "1"), (8, 2, "4"), (2, 4, "1")])
def test_prefork_processes_share_the_cores_between_them(monkeypatch, cores, processes, threads):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    environ = {}
    share_cores_between_pool_processes(processes, environ)
    assert environ == {"OMP_NUM_THREADS": threads}


def test_a_thread_count_set_by_the_operator_is_kept():
    environ = {"OMP_NUM_THREADS": "3"}
    share_cores_between_pool_processes(2, environ)
    assert environ == {"OMP_NUM_THREADS": "3"}
