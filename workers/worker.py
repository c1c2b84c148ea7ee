"""The RQ worker, run as ``gateway worker`` so every job has an app context."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.worker_pool import WorkerPool

from gateway.extensions import db
from gateway.publishing import attempt
from gateway.publishing.liveness import WorkerHeartbeat
from gateway.queue import QUEUE_ORDER, redis_connection, uses_sentinel
from gateway.warmup import warm_up
from workers.options import WORKER_TTL_SECONDS

#: Worker processes ``gateway worker`` runs when not told otherwise: one, so ``gateway up`` stays
#: small. Under load run more processes than cores (a publish job mostly waits on the platform
#: and the database): docs/benchmarks.md ("Publishing") measured 12 on 2 cores keeping up with
#: 50 deliveries a second.
DEFAULT_PROCESSES = 1

log = logging.getLogger(__name__)


class _AppContextMixin:
    """Each job runs in a fresh app context, and its database session ends with it."""

    flask_app: Flask
    #: None: run RQ's own scheduler as work() is told. RQ's WorkerPool always asks for it, so
    #: pooled workers carry the choice on their class.
    rq_scheduler: bool | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL_SECONDS)
        flask_app = getattr(self, "flask_app", None)
        if flask_app is not None and uses_sentinel(flask_app):
            # RQ's WorkerPool rebuilds each child's connection from the parent's pool class
            # and arguments, which a Sentinel-managed connection cannot be made from (it needs
            # its sentinel pool): the child takes the app's own, which asks the sentinels.
            kwargs["connection"] = redis_connection(flask_app)
            if args:  # and its queues, by name, on that connection
                names = [q.name if isinstance(q, Queue) else q for q in args[0]]
                args = (names, *args[1:])
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]

    def work(self, *args: Any, **kwargs: Any) -> bool:
        if self.rq_scheduler is not None:
            kwargs["with_scheduler"] = self.rq_scheduler
        self.rehearse()
        # RQ beats only between jobs (a non-forking worker not at all while a job runs): this
        # thread beats every few seconds, so the sweeps can tell a worker killed mid-job from
        # a busy one within seconds (gateway.publishing.liveness).
        heartbeat = WorkerHeartbeat(self).start()  # type: ignore[arg-type]
        try:
            return super().work(*args, **kwargs)  # type: ignore[misc]
        finally:
            heartbeat.stop()

    def rehearse(self) -> None:
        """Connect to the database and run a claim on nothing, in this process, before the
        first job (gateway.publishing.attempt.rehearse). A database that is not up yet is no
        reason not to start: the first job connects then."""
        with self.flask_app.app_context():
            try:
                attempt.rehearse()
            except Exception:  # noqa: BLE001 - logged; the worker still starts
                log.warning("could not rehearse a publish before the first job", exc_info=True)
            finally:
                db.session.remove()

    def execute_job(self, job, queue):  # noqa: ANN001, ANN201
        with self.flask_app.app_context():
            try:
                return super().execute_job(job, queue)  # type: ignore[misc]
            finally:
                db.session.remove()


class GatewaySimpleWorker(_AppContextMixin, SimpleWorker):
    """Runs jobs in the worker process itself.

    Publishing is I/O-bound and short: forking a work-horse per job re-imports the platform
    libraries each time and manages only 15-20 jobs a second on two cores (issue 5), so the
    default is a non-forking worker; run several for more throughput.
    """


class GatewayForkingWorker(_AppContextMixin, Worker):
    """One work-horse per job: slower, but a crash in a job cannot take the worker down."""


def build_worker(
    app: Flask, *, fork: bool = False, queues: tuple[str, ...] = QUEUE_ORDER
) -> Worker:
    conn = redis_connection(app)
    cls = GatewayForkingWorker if fork else GatewaySimpleWorker
    worker = cls([Queue(name, connection=conn) for name in queues], connection=conn)
    worker.flask_app = app
    return worker


def run_workers(
    app: Flask,
    *,
    processes: int = DEFAULT_PROCESSES,
    fork: bool = False,
    burst: bool = False,
    rq_scheduler: bool = False,
    queues: tuple[str, ...] = QUEUE_ORDER,
) -> None:
    """Run ``processes`` workers. More than one runs under RQ's WorkerPool, which forks them,
    restarts any that dies and passes a stop signal on to all.

    ``rq_scheduler``: also let the workers run RQ's scheduler. The scheduler process's release
    loop (gateway.publishing.release.release_now) already moves each due job to the queue at its
    exact time; RQ's scheduler works in whole seconds and would hand jobs over up to a second
    early, leaving workers asleep in them. Turn it on only to keep scheduled jobs moving while
    no ``gateway scheduler`` runs.
    """
    warm_up(app.config.get("HOLIDAY_NATION", "ENG"))
    if processes <= 1:
        worker = build_worker(app, fork=fork, queues=queues)
        worker.work(burst=burst, with_scheduler=rq_scheduler, logging_level="INFO")
        return
    with app.app_context():
        db.engine.dispose()  # no database connection may be shared across the fork
    base = GatewayForkingWorker if fork else GatewaySimpleWorker
    # WorkerPool builds each worker itself in its forked child: the class carries the app.
    pooled = type(base.__name__, (base,), {"flask_app": app, "rq_scheduler": rq_scheduler})
    pool = WorkerPool(
        list(queues),
        connection=redis_connection(app),
        num_workers=processes,
        worker_class=pooled,
    )
    pool.start(burst=burst, logging_level="INFO")
