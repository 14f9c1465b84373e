"""bot.tools.ports: scripts/start refuses a taken port and names the process holding it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from bot import PROJECT_ROOT
from bot.tools import ports

TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def fake_proc(tmp_path, tcp_lines, tcp6_lines=(), processes=None):
    """A /proc with net/tcp(6) and, per pid, a cmdline and fd symlinks (``socket:[inode]`` targets)."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(TCP_HEADER + "".join(f"{line}\n" for line in tcp_lines))
    (tmp_path / "net" / "tcp6").write_text(TCP_HEADER + "".join(f"{line}\n" for line in tcp6_lines))
    for pid, (cmdline, targets) in (processes or {}).items():
        (tmp_path / str(pid) / "fd").mkdir(parents=True)
        (tmp_path / str(pid) / "cmdline").write_bytes(cmdline)
        for fd, target in enumerate(targets):
            os.symlink(target, tmp_path / str(pid) / "fd" / str(fd))
    (tmp_path / "self").mkdir()  # not a pid: skipped
    return tmp_path


def row(local: str, state: str, inode: int) -> str:
    return f"   0: {local} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000  1000  0 {inode} 1 0000000000000000 100 0 0 10 0"


def test_listening_inodes_reads_ipv4_and_ipv6_listeners_of_that_port_only(tmp_path):
    proc = fake_proc(
        tmp_path,
        [row("0100007F:138D", "0A", 111), row("0100007F:138D", "01", 222), row("0100007F:13AF", "0A", 333)],
        [row("00000000000000000000000000000000:138D", "0A", 444)],
    )
    assert ports.listening_inodes(5005, proc) == {111, 444}  # 0x138D = 5005; 01 is an established connection
    assert ports.listening_inodes(5999, proc) == set()


def test_holders_from_proc_follow_the_socket_inode_to_the_process(tmp_path):
    proc = fake_proc(
        tmp_path,
        [row("0100007F:138D", "0A", 111)],
        processes={
            42: (b"python\0-m\0bot.server\0run\0--port\x005005\0", ["/dev/null", "socket:[111]"]),
            43: (b"bash\0", ["socket:[999]"]),
        },
    )
    assert ports.holders_from_proc(5005, proc) == [ports.Holder(42, "python -m bot.server run --port 5005")]
    assert str(ports.holders_from_proc(5005, proc)[0]) == "pid 42 (python -m bot.server run --port 5005)"
    assert ports.holders_from_proc(5055, proc) == []


def test_long_commands_are_shortened_to_one_line(tmp_path):
    proc = fake_proc(tmp_path, [], processes={7: (b"python\0-c\0" + b"x = 1\n" * 100, [])})
    command = ports.command_of(7, proc)
    assert "\n" not in command and command.endswith("...") and len(command) == 160
    assert ports.command_of(8, proc) == ""


def test_parse_ss_finds_every_pid():
    output = 'LISTEN 0 128 127.0.0.1:5005 0.0.0.0:* users:(("python",pid=4321,fd=12),("python",pid=4322,fd=12))\n'
    assert ports.parse_ss(output) == [4321, 4322]
    assert ports.parse_ss("") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rasa server=127.0.0.1:5005", ("Rasa server", "127.0.0.1", 5005)),
        ("0.0.0.0:5055", ("", "0.0.0.0", 5055)),
        ("[::1]:5005", ("", "::1", 5005)),
    ],
)
def test_parse_target(text, expected):
    assert ports.parse_target(text) == expected


@pytest.mark.parametrize("text", ["5005", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"])
def test_parse_target_rejects_malformed_addresses(text):
    with pytest.raises(ValueError):
        ports.parse_target(text)


def test_a_listening_socket_is_reported_with_this_process_as_holder():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert ports.port_in_use("127.0.0.1", port)
        assert ports.port_in_use("0.0.0.0", port)  # a server on all addresses could not listen either
        assert os.getpid() in [holder.pid for holder in ports.holders(port)]
        [problem] = ports.problems([("Rasa server", "127.0.0.1", port)])
        assert problem.startswith(f"port {port} (Rasa server) is already in use by pid {os.getpid()} (")
    assert not ports.port_in_use("127.0.0.1", port)
    assert ports.problems([("Rasa server", "127.0.0.1", port)]) == []


def test_the_same_port_for_both_servers_is_a_problem():
    with socket.socket() as sock:  # a free port: the clash is the only problem
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    [problem] = ports.problems([("Rasa server", "127.0.0.1", port), ("action server", "127.0.0.1", port)])
    assert problem == f"port {port} (action server) is also the port of the Rasa server: each server needs its own port"


def test_command_line_exit_codes():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "bot.tools.ports", *args], cwd=PROJECT_ROOT, capture_output=True, text=True)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        taken = run(f"Rasa server=127.0.0.1:{port}")
    assert taken.returncode == 1
    assert f"port {port} (Rasa server) is already in use by pid {os.getpid()}" in taken.stdout
    assert run(f"Rasa server=127.0.0.1:{port}").returncode == 0
    assert run("nonsense").returncode == 2
    assert run().returncode == 2
