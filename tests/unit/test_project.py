"""Promises the README makes about the project itself."""

import json
import re
import subprocess
import sys

from bot import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_command():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["scripts/start", "scripts/test"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^scripts/test\b", ci, re.M)


def test_readme_benchmark_numbers_are_the_recorded_results():
    result = subprocess.run([sys.executable, "benchmarks/report.py", "--check"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_lock_file_pins_exact_versions():
    lines = [line for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) > 100
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line) for line in lines), [line for line in lines if "==" not in line]
    names = {line.split("==")[0].lower() for line in lines}
    assert {"rasa", "rasa-sdk", "spacy", "medspacy", "rank-bm25", "pytest"} <= names


def test_telemetry_is_off_in_every_script():
    env = (PROJECT_ROOT / "scripts" / "env.sh").read_text()
    assert "RASA_TELEMETRY_ENABLED=false" in env
    for script in ["start", "test", "train", "install"]:
        assert "env.sh" in (PROJECT_ROOT / "scripts" / script).read_text()


def test_vendored_socketio_client_is_the_pinned_npm_release():
    """The chat page loads socket.io-client from the repository, never a CDN; it must be the locked version."""
    web = PROJECT_ROOT / "web"
    pinned = json.loads((web / "package.json").read_text())["dependencies"]["socket.io-client"]
    locked = json.loads((web / "package-lock.json").read_text())["packages"]["node_modules/socket.io-client"]["version"]
    assert pinned == locked
    vendored = (web / "chat" / "vendor" / "socket.io.min.js").read_text()
    assert f"Socket.IO v{pinned}\n" in vendored[:200]
    npm_copy = web / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
    if npm_copy.exists():  # scripts/test runs npm ci, so this is checked there
        expected = "".join(line for line in npm_copy.read_text().splitlines(True) if not line.startswith("//# sourceMappingURL="))
        assert vendored == expected
    html = (web / "chat" / "index.html").read_text()
    assert "http://" not in html and "https://" not in html, "no external resources on the chat page"


def test_the_consoles_chart_library_is_the_pinned_npm_release():
    """The insights page loads Chart.js from the console itself, never a CDN; it must be the locked version."""
    web = PROJECT_ROOT / "web"
    pinned = json.loads((web / "package.json").read_text())["dependencies"]["chart.js"]
    locked = json.loads((web / "package-lock.json").read_text())["packages"]["node_modules/chart.js"]["version"]
    assert pinned == locked and re.fullmatch(r"\d+\.\d+\.\d+", pinned)
    served = (PROJECT_ROOT / "bot" / "console" / "static" / "chart.umd.min.js").read_text()
    assert f"Chart.js v{pinned}\n" in served[:200]
    npm_copy = web / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
    if npm_copy.exists():  # scripts/test runs npm ci, so this is checked there
        expected = "".join(line for line in npm_copy.read_text().splitlines(True) if not line.startswith("//# sourceMappingURL="))
        assert served == expected
    template = (PROJECT_ROOT / "bot" / "console" / "templates" / "insights.html").read_text()
    assert "http://" not in template and "https://" not in template
