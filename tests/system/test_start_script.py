"""The README's first command: scripts/start brings up a working assistant and staff console, and however it ends
(Ctrl-C, SIGTERM, the terminal closed, the reader of its output gone, scripts/stop) nothing of it
is left running. A taken port is refused at once, without touching the running instance's logs.

Every start runs in a copy of this checkout (its own var/, pid file and logs, the real ones are
never touched) with free ports: RASA_PORT and CONSOLE_PORT from the environment, the action server's
port written into the copy's endpoints.yml. The copy serves the checkout's trained model, as the other system
tests do: its scripts/train only says that it was called (training is scripts/test's step), so a
start takes the time the servers need to load the model.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import requests

from bot import PROJECT_ROOT
from tests.support.servers import free_port

RUNNING = "The assistant is running"
TRAINED = "==> scripts/train (the test copy serves the checkout's model)"
START_TIMEOUT = 300
STOP_TIMEOUT = 60  # the scripts' grace period (20 s) before SIGKILL, and some


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Iterator[Path]:
    """A copy of the working tree with the venv and spaCy pipeline linked and the trained model copied."""
    root = tmp_path_factory.mktemp("checkout").resolve()
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, files.decode().split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    for name in (".venv", "build"):
        (root / name).symlink_to(PROJECT_ROOT / name)
    model = PROJECT_ROOT / "models" / "dry-needling.tar.gz"
    if not model.exists():
        pytest.skip(f"{model} is missing: run scripts/train first")
    (root / "models").mkdir()
    shutil.copy2(model, root / "models")
    (root / "scripts" / "train").write_text(f"#!/usr/bin/env bash\necho {shlex.quote(TRAINED)}\n")
    yield root
    kill_leftovers(root)


@dataclass
class Instance:
    """One scripts/start in the copy, on its own ports."""

    root: Path
    proc: subprocess.Popen
    rasa_port: int
    action_port: int
    output: Path | None = None  # where stdout and stderr go, when a file
    console_port: int = 0

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output else ""

    def wait_running(self) -> None:
        """Until the script says both servers answer (it prints that after their health checks)."""
        deadline = time.monotonic() + START_TIMEOUT
        while RUNNING not in self.text():
            assert self.proc.poll() is None, f"scripts/start exited with {self.proc.returncode}:\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"scripts/start did not say it is running:\n{self.text()[-3000:]}"
            time.sleep(0.5)

    def recorded(self) -> tuple[int, list[int]]:
        """var/assistant.pid: the script's pid and the servers' process groups."""
        record = (self.root / "var" / "assistant.pid").read_text()
        script = int(re.search(r"^script (\d+) \d+$", record, re.M).group(1))
        return script, [int(group) for group in re.findall(r"^group (\d+) \w+$", record, re.M)]


def start_env(rasa_port: int, console_port: int) -> dict[str, str]:
    prefixes = ("CHAT_", "TWILIO_", "TELEGRAM_", "MESSENGER_", "STORES", "CONSOLE_", "HANDOFF_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["RASA_PORT"] = str(rasa_port)
    env["CONSOLE_PORT"] = str(console_port)
    return env


def set_action_port(root: Path, port: int) -> None:
    """The copy's action server port, written where scripts/start reads it (endpoints.yml)."""
    endpoints = root / "endpoints.yml"
    text, count = re.subn(r"(url: \"http://127\.0\.0\.1:)\d+(/webhook\")", rf"\g<1>{port}\g<2>", endpoints.read_text())
    assert count == 1
    endpoints.write_text(text)


def start(
    root: Path, tmp_path: Path, rasa_port: int | None = None, action_port: int | None = None, console_port: int | None = None, **popen
) -> Instance:
    """scripts/start on free ports (or these), in its own session as a terminal's foreground job (Ctrl-C signals
    its whole group), output to a file unless ``popen`` says otherwise."""
    rasa_port, action_port, console_port = rasa_port or free_port(), action_port or free_port(), console_port or free_port()
    set_action_port(root, action_port)
    output = None
    if "stdout" not in popen:
        output = tmp_path / "start.log"
        popen |= {"stdout": output.open("w"), "stderr": subprocess.STDOUT}
    env = start_env(rasa_port, console_port)
    popen["preexec_fn"] = signals_at_default(popen.get("preexec_fn"))
    proc = subprocess.Popen([str(root / "scripts" / "start")], cwd=root, env=env, **({"start_new_session": True} | popen))
    return Instance(root, proc, rasa_port, action_port, output, console_port)


def signals_at_default(then: Callable[[], None] | None = None) -> Callable[[], None]:
    """A terminal's shell starts a foreground job with Ctrl-C, hang-up and terminate at their defaults. A test runner
    started in the background by a non-interactive shell inherits SIGINT ignored (and under nohup SIGHUP), and a shell
    script cannot trap a signal that was ignored when it started: reset them, as the terminal would, before exec."""

    def preexec() -> None:
        for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        if then is not None:
            then()

    return preexec


def port_free(port: int) -> bool:
    """Whether a server could listen on the port (bound as the servers bind: SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def process_table(root: Path) -> str:
    """The copy's processes with their state and what they wait in (for a failure message)."""
    pids = processes_in(root)
    if not pids:
        return "(no process left in the copy)"
    columns = "pid,ppid,pgid,sid,stat,wchan:20,etime,args"
    table = subprocess.run(["ps", "-o", columns, "-p", ",".join(map(str, pids))], capture_output=True, text=True).stdout
    ignored = []  # which signals each process ignores (a SIGHUP ignored since its start cannot be trapped)
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            ignored += [f"{pid} {line}" for line in status.read_text().splitlines() if line.startswith("SigIgn")]
    return table + "\n".join(ignored)


def processes_in(root: Path) -> list[int]:
    """Every live process whose working directory is the copy: the script, the servers and anything they started."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(root):
                found.append(int(entry.name))
    return found


def kill_leftovers(root: Path) -> None:
    for pid in processes_in(root):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def assert_nothing_left(instance: Instance, groups: list[int]) -> None:
    """The script has ended, no process of the instance is alive, both ports are free and the pid file is gone."""
    assert instance.proc.poll() is not None, "scripts/start is still running"
    deadline = time.monotonic() + 10  # orphans are reaped by init a moment after they die
    while (processes_in(instance.root) or any(map(group_alive, groups))) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_in(instance.root)
    assert left == [], "still running: " + "; ".join(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in left)
    assert not [group for group in groups if group_alive(group)], "a server process group is still alive"
    assert port_free(instance.rasa_port), f"Rasa port {instance.rasa_port} still taken"
    assert port_free(instance.action_port), f"action server port {instance.action_port} still taken"
    assert not instance.console_port or port_free(instance.console_port), f"console port {instance.console_port} still taken"
    assert not (instance.root / "var" / "assistant.pid").exists(), "pid file left behind"


def stop_script(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(root / "scripts" / "stop"), *args], cwd=root, capture_output=True, text=True, timeout=STOP_TIMEOUT + 30)


@pytest.fixture(autouse=True)
def no_instance_left(checkout):
    """A failing test must not leave servers that the next test (or the machine) trips over."""
    yield
    kill_leftovers(checkout)
    with contextlib.suppress(FileNotFoundError):
        (checkout / "var" / "assistant.pid").unlink()


def test_start_serves_the_chat_and_rest_then_ctrl_c_stops_everything(checkout, tmp_path):
    instance = start(checkout, tmp_path)
    base = f"http://127.0.0.1:{instance.rasa_port}"
    try:
        instance.wait_running()
        script, groups = instance.recorded()
        assert script == instance.proc.pid and len(groups) == 3
        assert "Content-Security-Policy" in requests.get(f"{base}/chat/", timeout=5).headers
        # The staff console runs too; the output says where and how to create the first admin.
        console = f"http://127.0.0.1:{instance.console_port}/"
        assert f"Staff console (handoffs, urgent records, accounts, audit log):  {console}" in instance.text()
        assert ".venv/bin/python -m bot.console.cli staff add NAME --role admin" in instance.text()
        sign_in = requests.get(f"{console}inbox", timeout=5)
        assert sign_in.url.startswith(f"{console}login") and "Sign in" in sign_in.text
        assert "frame-ancestors 'none'" in sign_in.headers["Content-Security-Policy"]
        reply = requests.post(
            f"{base}/webhooks/rest/webhook", json={"sender": "start-test", "message": "is dry needling safe?"}, timeout=30
        ).json()
        assert "qualified and experienced practitioner" in reply[0]["text"]
        assert oct((checkout / "var").stat().st_mode)[-3:] == "700", "conversations are readable by the clinic user only"
        assert oct((checkout / "var" / "assistant.pid").stat().st_mode)[-3:] == "600"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(instance.proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends (to the foreground process group)
        instance.proc.wait(STOP_TIMEOUT)
    assert instance.proc.returncode == -signal.SIGINT
    output = instance.text()
    assert output.index(TRAINED) < output.index("==> Starting the action server") < output.index(RUNNING)
    assert "Stopping the assistant" in output
    assert "unbound variable" not in output
    assert_nothing_left(instance, groups)


def test_sigterm_stops_everything(checkout, tmp_path):
    instance = start(checkout, tmp_path)
    instance.wait_running()
    _, groups = instance.recorded()
    os.kill(instance.proc.pid, signal.SIGTERM)  # to the script alone, as `kill PID` or a service manager does
    instance.proc.wait(STOP_TIMEOUT)
    assert instance.proc.returncode == -signal.SIGTERM
    assert "Stopping the assistant" in instance.text()
    assert_nothing_left(instance, groups)


def test_closing_the_terminal_stops_everything(checkout, tmp_path):
    """The script runs in a pseudo-terminal; closing its master side is what closing the window does:
    the kernel hangs the terminal up (SIGHUP), and every later write to it fails (EIO)."""
    master, slave = pty.openpty()

    def take_terminal() -> None:  # the pty becomes the session's controlling terminal, as in a terminal window
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # signals are reset to their defaults by start() (signals_at_default)

    instance = start(checkout, tmp_path, stdin=slave, stdout=slave, stderr=slave, preexec_fn=take_terminal)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while RUNNING.encode() not in seen:  # keep reading: a full terminal buffer would block the script
            assert instance.proc.poll() is None, seen.decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, seen.decode(errors="replace")[-3000:]
            if select.select([master], [], [], 1)[0]:
                seen += os.read(master, 65536)
        _, groups = instance.recorded()
    finally:
        os.close(master)  # the window is closed
    try:
        instance.proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scripts/start still running {STOP_TIMEOUT} s after the terminal closed:\n{process_table(checkout)}")
    assert instance.proc.returncode == -signal.SIGHUP
    assert_nothing_left(instance, groups)


def test_a_closed_output_pipe_does_not_keep_the_servers_running(checkout, tmp_path):
    """`scripts/start | tee start.log`, then Ctrl-C: tee is gone before the script writes "Stopping"."""
    stderr = tmp_path / "stderr.log"
    instance = start(checkout, tmp_path, stdout=subprocess.PIPE, stderr=stderr.open("w"))
    pipe: IO[bytes] = instance.proc.stdout
    deadline = time.monotonic() + START_TIMEOUT
    for line in pipe:
        if RUNNING.encode() in line:
            break
        assert time.monotonic() < deadline
    else:
        raise AssertionError(f"scripts/start ended before it was running:\n{stderr.read_text()[-3000:]}")
    _, groups = instance.recorded()
    pipe.close()  # the reader is gone: every write to stdout now fails (SIGPIPE, EPIPE)
    os.killpg(instance.proc.pid, signal.SIGINT)
    instance.proc.wait(STOP_TIMEOUT)
    # Ctrl-C stops it, unless the script was still writing its instructions when the pipe closed (a busy
    # machine): then the broken pipe itself stops it first. Either way nothing may be left running.
    assert instance.proc.returncode in (-signal.SIGINT, -signal.SIGPIPE)
    assert "unbound variable" not in stderr.read_text()
    assert_nothing_left(instance, groups)


@pytest.mark.parametrize("taken", ["rasa", "actions", "console"])
def test_a_taken_port_is_refused_at_once_and_the_logs_stay(checkout, tmp_path, taken):
    """What a second scripts/start met when the first one's servers still ran: it must say so, not claim
    to run, and leave the running instance's logs alone."""
    (checkout / "var").mkdir(mode=0o700, exist_ok=True)
    logs = {name: checkout / "var" / name for name in ("rasa.log", "actions.log", "console.log")}
    for name, log in logs.items():
        log.write_text(f"the running instance's {name}\n")
    ports = {"rasa": free_port(), "actions": free_port(), "console": free_port()}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[taken]))
        holder.listen()
        began = time.monotonic()
        instance = start(
            checkout, tmp_path, ports["rasa"], ports["actions"], ports["console"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        output = instance.proc.communicate(timeout=60)[0].decode()
        took = time.monotonic() - began
    assert instance.proc.returncode == 1, output
    assert took < 15, f"took {took:.0f} s"
    server = {"rasa": "Rasa server", "actions": "action server", "console": "staff console"}[taken]
    assert f"port {ports[taken]} ({server}) is already in use by pid {os.getpid()} (" in output, output
    assert RUNNING not in output and "Starting the" not in output
    for name, log in logs.items():
        assert log.read_text() == f"the running instance's {name}\n"
    assert TRAINED not in output, "the check comes before training"
    assert_nothing_left(instance, [])
    for log in logs.values():
        log.unlink()


def test_scripts_stop_stops_an_instance_started_from_this_checkout(checkout, tmp_path):
    assert stop_script(checkout, "--status").returncode == 3
    nothing = stop_script(checkout)
    assert nothing.returncode == 0 and "not running" in nothing.stdout

    # With the script alive: scripts/stop has it stop its servers, as Ctrl-C would.
    first = start(checkout, tmp_path)
    first.wait_running()
    script, groups = first.recorded()
    status = stop_script(checkout, "--status")
    assert status.returncode == 0 and f"scripts/start pid {script}" in status.stdout
    # The bug report's second start: refused (not "running"), the first one's logs untouched.
    log = checkout / "var" / "rasa.log"
    before = log.read_bytes()
    again = subprocess.run(
        [str(checkout / "scripts" / "start")], cwd=checkout, env=start_env(first.rasa_port, free_port()), capture_output=True, text=True
    )
    assert again.returncode == 1 and RUNNING not in again.stdout
    assert f"port {first.rasa_port} (Rasa server) is already in use by pid {groups[1]} (" in again.stderr, again.stderr
    assert f"running from this checkout (scripts/start pid {script}" in again.stderr
    assert log.read_bytes().startswith(before)
    stopped = stop_script(checkout)
    assert stopped.returncode == 0, stopped.stderr
    assert "Stopping the assistant" in stopped.stdout and "The assistant is stopped." in stopped.stdout
    first.proc.wait(5)
    assert "Stopping the assistant" in first.text()
    assert_nothing_left(first, groups)

    # With the script killed outright (SIGKILL: no trap runs), its servers run on: scripts/stop ends them.
    second = start(checkout, tmp_path)
    second.wait_running()
    _, groups = second.recorded()
    second.proc.kill()
    second.proc.wait()
    assert all(map(group_alive, groups)) and not port_free(second.rasa_port)
    stopped = stop_script(checkout)
    assert stopped.returncode == 0 and "scripts/start is gone; server process groups" in stopped.stdout, stopped.stdout
    assert_nothing_left(second, groups)

    # A pid file whose processes are gone is removed.
    (checkout / "var" / "assistant.pid").write_text(f"script {second.proc.pid} 1\ngroup {groups[0]} actions\n")
    stale = stop_script(checkout)
    assert stale.returncode == 0 and "removed the stale" in stale.stdout
    assert not (checkout / "var" / "assistant.pid").exists()


def test_a_wrong_setting_is_named_and_nothing_starts(checkout):
    """Half an e-mail configuration: the message names the missing settings, and nothing else runs or fails."""
    env = {**os.environ, "HANDOFF_EMAIL_TO": "clinic@example.com"}
    env.pop("SMTP_HOST", None)
    done = subprocess.run([str(checkout / "scripts" / "start")], cwd=checkout, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SMTP_HOST and HANDOFF_EMAIL_FROM must be set" in done.stderr
    assert "unbound variable" not in done.stderr and "Cannot start" not in done.stderr
    assert TRAINED not in done.stdout, "nothing is trained or started"
