"""Every RQ job option in one place (STYLE.md, after redash's ``job`` partial)."""

from __future__ import annotations

#: A publish call that has not answered in this long is stuck; the adapter's own HTTP timeouts
#: are shorter, so RQ's timeout is only the last resort.
JOB_TIMEOUT_SECONDS = 120
#: Failed jobs are kept a week for a person to read; our own rows are the record.
FAILURE_TTL_SECONDS = 7 * 24 * 3600
#: We never read RQ results: the database holds every outcome.
RESULT_TTL_SECONDS = 0
#: A worker heartbeat this often keeps /readyz honest (RQ's default TTL is 420 s).
WORKER_TTL_SECONDS = 60


def job_options(**overrides: object) -> dict[str, object]:
    options: dict[str, object] = {
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "failure_ttl": FAILURE_TTL_SECONDS,
        "result_ttl": RESULT_TTL_SECONDS,
    }
    options.update(overrides)
    return options
