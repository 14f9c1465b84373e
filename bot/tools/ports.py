"""Are the servers' ports free, and if not, which process holds each one (used by scripts/start).

    python -m bot.tools.ports "Rasa server=127.0.0.1:5005" "action server=127.0.0.1:5055"

exits 0 when a server could listen on every address, else prints one line per taken port,
naming the process that listens on it when this user may see it, and exits 1.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_LISTEN = "0A"  # TCP state in /proc/net/tcp(6)
_MAX_COMMAND_CHARS = 160


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.command})" if self.command else f"pid {self.pid}"


def port_in_use(host: str, port: int) -> bool:
    """Whether a server could not listen on ``host:port`` now (bound as Sanic binds: SO_REUSEADDR, so TIME_WAIT does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def listening_inodes(port: int, proc: Path = PROC) -> set[int]:
    """Socket inodes listening on ``port`` (any address, IPv4 and IPv6), from /proc/net/tcp and tcp6."""
    inodes: set[int] = set()
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (proc / "net" / name).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rpartition(":")[2], 16) == port:
                    inodes.add(int(fields[9]))
    inodes.discard(0)
    return inodes


def command_of(pid: int, proc: Path = PROC) -> str:
    """A process's command line on one line, shortened ("" when it cannot be read)."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    command = " ".join(raw.decode(errors="replace").replace("\0", " ").split())  # one line, even for python -c "..."
    return command if len(command) <= _MAX_COMMAND_CHARS else command[: _MAX_COMMAND_CHARS - 3] + "..."


def holders_from_proc(port: int, proc: Path = PROC) -> list[Holder]:
    """Processes with a socket listening on ``port`` open: /proc/net/tcp(6) inode, then /proc/<pid>/fd.

    Only processes whose fd directory this user may read are found (all of them for root).
    """
    targets = {f"socket:[{inode}]" for inode in listening_inodes(port, proc)}
    if not targets:
        return []
    found: list[Holder] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(fd) in targets:
                    found.append(Holder(int(entry.name), command_of(int(entry.name), proc)))
                    break
    return sorted(found, key=lambda holder: holder.pid)


def parse_ss(output: str) -> list[int]:
    """Process ids in ``ss -ltnp`` output (``users:(("python",pid=123,fd=5))``)."""
    return sorted({int(pid) for pid in re.findall(r"\bpid=(\d+)", output)})


def holders_from_ss(port: int) -> list[Holder]:
    """The fallback where /proc/net/tcp names nobody: ``ss -ltnp`` (iproute2), when installed."""
    ss = shutil.which("ss")
    if not ss:
        return []
    try:
        result = subprocess.run([ss, "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return []
    return [Holder(pid, command_of(pid)) for pid in parse_ss(result.stdout)]


def holders(port: int) -> list[Holder]:
    """Who listens on ``port``, as far as this user can tell (possibly nobody)."""
    return holders_from_proc(port) or holders_from_ss(port)


def parse_target(text: str) -> tuple[str, str, int]:
    """``[LABEL=]HOST:PORT`` -> (label, host, port); IPv6 hosts may be bracketed."""
    label, _, address = text.rpartition("=")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected [LABEL=]HOST:PORT, not {text!r}")
    return label, host.strip("[]"), int(port)


def problems(targets: list[tuple[str, str, int]]) -> list[str]:
    """One sentence per port that a server could not listen on, naming its holder when known."""
    found: list[str] = []
    seen: dict[int, str] = {}
    for label, host, port in targets:
        name = f"port {port} ({label})" if label else f"port {port}"
        if port in seen:
            found.append(f"{name} is also the port of the {seen[port]}: each server needs its own port")
            continue
        seen[port] = label or f"server on port {port}"
        if not port_in_use(host, port):
            continue
        who = holders(port)
        if who:
            found.append(f"{name} is already in use by " + ", ".join(str(holder) for holder in who))
        else:
            found.append(f"{name} on {host} is already in use (by a process that could not be named)")
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        targets = [parse_target(arg) for arg in argv]
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    found = problems(targets)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
