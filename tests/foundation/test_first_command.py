"""The README's first command, from a fresh copy of the repository, on an embedded default.

It installs into its own virtualenv, starts an embedded Redis (none answers at the REDIS_URL
given), SQLite, the web server, a worker and the scheduler; /readyz must say ready; SIGINT must
stop everything it started.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.network import free_port

REPO = Path(__file__).resolve().parents[2]
#: Installing every library into a new virtualenv takes a while on a fresh machine.
START_TIMEOUT_SECONDS = 540


def _readme_first_command() -> str:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Quick start.*?```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    assert block, "README has no Quick start code block"
    commands = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2, commands
    return commands[0]


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in files:
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _our_processes(folder: Path) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(folder) in line and "ps -ww -eo" not in line]


@pytest.mark.timeout(START_TIMEOUT_SECONDS + 120)
def test_first_readme_command_starts_everything_and_stops_on_sigint(tmp_path):
    command = _readme_first_command()
    assert command == "./run up"
    copy = tmp_path / "gateway"
    copy.mkdir()
    _copy_repo(copy)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEWAY_", "DATABASE_", "REDIS_", "VIRTUAL_ENV", "PYTEST"))
    }
    env.update(
        # Nothing answers here, so the gateway must start its own Redis, as on a fresh machine.
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        GATEWAY_SWEEP_SECONDS="1",
        GATEWAY_FAKE_PORT=str(free_port()),
    )
    # The port as the README says to choose one (issue 22: "--port" was missing from it).
    proc = subprocess.Popen(
        [*command.split(), "--port", str(port)],
        cwd=copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output.append(line)
            if "is running at" in line:
                break
        text = "".join(output)
        assert "is running at" in text, text[-3000:]
        assert "starting an embedded one" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "ready", body
        # the first admin's password is generated and shown, never a fixed default
        proc_output_rest = proc.stdout.readline() + proc.stdout.readline()
        match = re.search(r"\(shown once\): (\S+)", text + proc_output_rest)
        assert match and len(match.group(1)) >= 20
        assert (copy / "instance" / "gateway.sqlite").exists()
        # the demo channels point at the local fake platform it started
        assert "fake platform" in proc_output_rest
        fake_url = re.search(r"(http://127.0.0.1:\d+)/_fake/", text + proc_output_rest)
        with urllib.request.urlopen(fake_url.group(1) + "/_fake/posts", timeout=10) as response:
            assert json.load(response) == {"posts": []}
        assert _our_processes(copy), "the gateway's processes should be running"

        proc.send_signal(signal.SIGINT)
        remaining, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, remaining
        assert "Stopped." in remaining
        time.sleep(1)
        assert _our_processes(copy) == []
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for line in _our_processes(copy):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def test_the_readme_says_how_to_choose_the_port():
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "./run up --port 8080" in quick_start
    # ./run passes what follows "up" to `gateway up`, which takes --port and --host.
    run = (REPO / "run").read_text()
    assert re.search(r'up\)\n(?:.*\n)*?\s*exec "\$VENV/bin/gateway" up "\$@"', run)
    from click.testing import CliRunner

    from gateway.cli.run import up_command

    help_text = CliRunner().invoke(up_command, ["--help"]).output
    assert "--port" in help_text and "--host" in help_text
