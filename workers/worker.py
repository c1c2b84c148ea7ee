"""The RQ worker, run as ``gateway worker`` so every job has an app context."""

from __future__ import annotations

from flask import Flask
from rq import Queue, SimpleWorker, Worker

from gateway.extensions import db
from gateway.queue import QUEUE_ORDER, redis_connection
from workers.options import WORKER_TTL_SECONDS


class _AppContextMixin:
    """Each job runs in a fresh app context, and its database session ends with it."""

    flask_app: Flask

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
    worker = cls(
        [Queue(name, connection=conn) for name in queues],
        connection=conn,
        worker_ttl=WORKER_TTL_SECONDS,
    )
    worker.flask_app = app
    return worker
