"""Deployment files: Dockerfile, docker-compose.yml, deploy/nginx.conf, deploy/helm/values.yaml.

None of this needs a Docker engine: docker-compose validates the compose file, nginx checks
the load balancer's config (``nginx -t``) and then runs it against a stub Rasa server on
loopback, and the Dockerfile's and Helm values' promises are read from the files. The image
itself is not built here.
"""

from __future__ import annotations

import fnmatch
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import PROJECT_ROOT
from bot.config import Settings, SettingsError, load_settings

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
ENV_EXAMPLE = PROJECT_ROOT / "deploy" / "env.example"
HELM_VALUES = PROJECT_ROOT / "deploy" / "helm" / "values.yaml"
HELM_CONSOLE_VALUES = PROJECT_ROOT / "deploy" / "helm" / "console-values.yaml"
ENDPOINTS = PROJECT_ROOT / "endpoints.production.yml"
CREDENTIALS = PROJECT_ROOT / "credentials.yml"

REQUIRED = {"POSTGRES_PASSWORD": "pg-secret-for-tests", "REDIS_PASSWORD": "redis-secret-for-tests"}
NOT_PUBLISHED = ["postgres", "redis", "actions", "rasa1", "rasa2"]
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


def _variables(path: Path) -> set[str]:
    return set(_VAR.findall("\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))))


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the x-assistant anchors and merge keys


def _rasa_services(compose: dict) -> list[str]:
    return sorted(name for name in compose["services"] if re.fullmatch(r"rasa\d+", name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- docker-compose.yml: validated by docker-compose ------------------------------------------


def _compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("docker-compose not installed; install it with: apt-get install -y docker-compose")


def _env_file(tmp_path: Path, **values: str) -> Path:
    """deploy/env.example with some values filled in (so the example itself is checked too)."""
    lines, placed = [], set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in values and not line.startswith("#"):
            lines.append(f"{key}={values[key]}")
            placed.add(key)
        else:
            lines.append(line)
    lines += [f"{key}={value}" for key, value in values.items() if key not in placed]  # settings the example leaves commented
    path = tmp_path / "env"
    path.write_text("\n".join(lines) + "\n")
    return path


def _compose_config(tmp_path: Path, env_file: Path) -> subprocess.CompletedProcess:
    # Only PATH from the outside: the result must not depend on the caller's environment or a local .env.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    return subprocess.run(
        [*_compose_command(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def _resolved_compose(tmp_path: Path, **values: str) -> dict:
    """The compose file as docker-compose resolves it with deploy/env.example and these values."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        [*_compose_command(), "--env-file", str(_env_file(tmp_path, **values)), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _service_settings(compose: dict, name: str) -> Settings:
    """The settings bot/config.py reads inside that container (its environment as compose sets it)."""
    environment = {key: "" if value is None else str(value) for key, value in compose["services"][name]["environment"].items()}
    return load_settings(environment)


def test_compose_file_is_valid_with_the_required_variables(tmp_path):
    result = _compose_config(tmp_path, _env_file(tmp_path, **REQUIRED))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_compose_file_refuses_to_run_without_a_password_and_names_it(tmp_path, missing):
    values = {name: value for name, value in REQUIRED.items() if name != missing}
    result = _compose_config(tmp_path, _env_file(tmp_path, **values))
    assert result.returncode != 0
    assert missing in result.stdout + result.stderr


# -- docker-compose.yml: what it promises ------------------------------------------------------


def test_rasa_servers_run_the_production_stores_and_generated_credentials():
    compose = _compose()
    assert _rasa_services(compose) == ["rasa1", "rasa2"]
    for name in _rasa_services(compose):
        service = compose["services"][name]
        script = service["command"][-1]
        assert service["command"][:2] == ["sh", "-c"]
        assert "python -m bot.channels.config credentials.yml var/credentials.yml" in script
        for flag in [
            "--model models/dry-needling.tar.gz",
            "--endpoints endpoints.production.yml",
            "--credentials var/credentials.yml",
            "--port 5005",
        ]:
            assert flag in script
        env = service["environment"]
        assert env["STORES"] == "production"
        assert env["ACTION_SERVER_URL"] == "http://actions:5055/webhook"
        assert env["POSTGRES_HOST"] == "postgres" and env["REDIS_HOST"] == "redis"


def test_every_setting_rasa_needs_is_passed_to_the_rasa_servers():
    """Rasa refuses to start when a ${VAR} of endpoints.production.yml is unset; channels read credentials.yml's."""
    compose = _compose()
    needed = _variables(ENDPOINTS) | {v for v in _variables(CREDENTIALS) if not v.endswith("_API_URL")}
    needed |= {
        "CHAT_ALLOWED_ORIGINS",
        "CHAT_MAX_MESSAGE_CHARS",
        "RASA_API_TOKEN",
        "CLINIC_NAME",
        "CLINIC_PHONE",
        "CLINIC_BOOKING_URL",
        "CLINIC_EMERGENCY_NUMBER",
        "HANDOFF_WEBHOOK_URL",
        "HANDOFF_WEBHOOK_SECRET",
    }
    for name in _rasa_services(compose):
        assert needed <= set(compose["services"][name]["environment"]), needed - set(compose["services"][name]["environment"])
    documented = {line.split("=", 1)[0].lstrip("# ") for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line}
    undocumented = _variables(COMPOSE_FILE) - documented
    assert not undocumented, f"docker-compose.yml reads variables deploy/env.example does not document: {undocumented}"


def test_env_example_holds_no_secret_values():
    for line in ENV_EXAMPLE.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert not value or not SECRET_NAME.search(key), f"deploy/env.example: {key} must be left empty"


def test_action_server_runs_the_actions_with_the_production_handoff_store():
    service = _compose()["services"]["actions"]
    assert service["command"] == ["rasa", "run", "actions", "--actions", "actions", "--port", "5055"]
    env = service["environment"]
    assert env["STORES"] == "production"
    assert {"POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(env)


def test_action_server_gets_the_handoff_notification_settings(tmp_path):
    """E-mail and Chatwoot are sent by the action server: set in .env, they must reach it."""
    compose = _resolved_compose(
        tmp_path,
        **REQUIRED,
        HANDOFF_EMAIL_TO="frontdesk@clinic.example",
        HANDOFF_EMAIL_FROM="assistant@clinic.example",
        SMTP_HOST="smtp.clinic.example",
        SMTP_USER="assistant",
        SMTP_PASSWORD="smtp-secret-for-tests",
        CONSOLE_URL="https://console.clinic.example/",
        CLINIC_TIMEZONE="America/Toronto",
        CHATWOOT_URL="https://chat.clinic.example",
        CHATWOOT_ACCOUNT_ID="3",
        CHATWOOT_INBOX_ID="7",
        CHATWOOT_API_TOKEN="cw-token-for-tests",
    )
    handoff = _service_settings(compose, "actions").handoff
    assert handoff.email is not None and handoff.chatwoot is not None
    assert (handoff.email.host, handoff.email.recipients, handoff.email.password) == (
        "smtp.clinic.example",
        ("frontdesk@clinic.example",),
        "smtp-secret-for-tests",
    )
    assert (handoff.email.console_url, handoff.email.timezone) == ("https://console.clinic.example/", "America/Toronto")
    assert (handoff.chatwoot.url, handoff.chatwoot.inbox_id, handoff.chatwoot.api_token) == (
        "https://chat.clinic.example",
        7,
        "cw-token-for-tests",
    )
    # Unset, they stay off (an empty value must not count as half a configuration).
    handoff = _service_settings(_resolved_compose(tmp_path, **REQUIRED), "actions").handoff
    assert handoff.email is None and handoff.chatwoot is None
    assert "actions-egress" in compose["services"]["actions"]["networks"]


def test_staff_console_runs_from_the_same_image_published_on_loopback_only():
    compose = _compose()
    console, actions = compose["services"]["console"], compose["services"]["actions"]
    assert console["command"] == ["python", "-m", "bot.console.server"]
    assert (console["image"], console["build"]) == (actions["image"], actions["build"]), "one image for every assistant service"
    for key in ["restart", "logging", "cap_drop", "security_opt"]:
        assert console[key] == actions[key], key
    assert console["environment"]["CONSOLE_HOST"] == "0.0.0.0" and console["environment"]["CONSOLE_PORT"] == "5006"
    assert all(port.startswith("127.0.0.1:") and port.endswith(":5006") for port in console["ports"]), console["ports"]
    assert not set(console["networks"]) & set(compose["services"]["nginx"]["networks"]), "the console must not be behind the public nginx"
    assert "backend" in console["networks"]
    assert "http://127.0.0.1:5006/login" in " ".join(console["healthcheck"]["test"])
    assert "5006" not in NGINX_CONF.read_text() and "console" not in NGINX_CONF.read_text(), "nginx serves the public chat host only"


def test_staff_console_reads_the_databases_the_servers_write(tmp_path):
    """Handoffs from the action server, conversations from the Rasa servers: the console must open the same ones."""
    compose = _resolved_compose(tmp_path, **REQUIRED, CONSOLE_HTTPS="true", CLINIC_TIMEZONE="America/Edmonton")
    console, actions, rasa = (_service_settings(compose, name) for name in ["console", "actions", "rasa1"])
    assert console.stores.production
    assert console.stores.handoff_database_url() == actions.stores.handoff_database_url()
    assert console.stores.tracker_database_url() == rasa.stores.tracker_database_url()
    assert "pg-secret-for-tests" in console.stores.handoff_database_url()
    assert (console.console.host, console.console.port, console.console.https) == ("0.0.0.0", 5006, True)
    assert console.console.timezone == "America/Edmonton"
    published = compose["services"]["console"]["ports"]
    # docker-compose 1.x prints "127.0.0.1:5006:5006/tcp", docker compose 2.x a mapping.
    bound = [
        (p["host_ip"], int(p["target"])) if isinstance(p, dict) else (p.split(":")[0], int(p.split(":")[2].split("/")[0]))
        for p in published
    ]
    assert bound == [("127.0.0.1", 5006)], published
    secrets = {k for k in compose["services"]["console"]["environment"] if SECRET_NAME.search(k)}
    assert secrets == {"POSTGRES_PASSWORD"}, "the console sends nothing: it needs no other secret"


def test_the_documented_retention_job_runs_with_both_periods_from_env(tmp_path):
    """The cron line in SECURITY.md and docs/deployment.md runs retention in a service that gets RETENTION_DAYS and AUDIT_RETENTION_DAYS."""
    compose = _resolved_compose(tmp_path, **REQUIRED, RETENTION_DAYS="45", AUDIT_RETENTION_DAYS="3000")
    docs = (PROJECT_ROOT / "SECURITY.md").read_text() + (PROJECT_ROOT / "docs" / "deployment.md").read_text()
    services = set(re.findall(r"docker compose run --rm --no-deps (\w+) python -m bot\.persistence\.retention", docs))
    assert services == {"console"}, services
    settings = _service_settings(compose, "console")
    assert (settings.retention_days, settings.audit_retention_days) == (45, 3000)


def test_only_nginx_publishes_a_port_and_the_stores_and_actions_are_internal():
    compose = _compose()
    services, networks = compose["services"], compose["networks"]
    for name in NOT_PUBLISHED:
        assert "ports" not in services[name], f"{name} must not publish a port"
    for name, service in services.items():
        if name != "nginx":
            assert all(str(port).startswith("127.0.0.1:") for port in service.get("ports", [])), f"{name}: loopback only"
    assert services["nginx"]["ports"]
    assert networks["backend"]["internal"] is True
    for name in ["postgres", "redis"]:
        assert services[name]["networks"] == ["backend"]
    edge = set(services["nginx"]["networks"])
    assert not edge & set(services["actions"]["networks"]), "the action server must not share a network with nginx"
    assert "backend" not in edge


def test_every_service_restarts_and_has_a_health_check():
    compose = _compose()
    for name, service in compose["services"].items():
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
    assert "http://127.0.0.1:5005/" in " ".join(compose["services"]["rasa1"]["healthcheck"]["test"])
    assert "http://127.0.0.1:5055/health" in " ".join(compose["services"]["actions"]["healthcheck"]["test"])
    nginx = compose["services"]["nginx"]
    assert nginx["image"].startswith("nginx:1.27")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert compose["services"]["postgres"]["image"] == "postgres:15"
    assert compose["services"]["redis"]["image"] == "redis:7"
    assert "--requirepass" in " ".join(compose["services"]["redis"]["command"])


# -- One start command in three places: image, compose, Helm ------------------------------------


def _dockerfile_cmd() -> list[str]:
    line = next(line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line[4:])


def _start_scripts() -> dict[str, str]:
    compose = _compose()
    helm = yaml.safe_load(HELM_VALUES.read_text())
    assert helm["command"] == ["sh", "-c"]
    return {
        "Dockerfile": _dockerfile_cmd()[-1],
        "docker-compose.yml": compose["services"]["rasa1"]["command"][-1].replace("$$", "$"),
        "helm values": helm["args"][0],
    }


def _run_start_script(tmp_path: Path, script: str, **env: str) -> list[str]:
    """Run a start script with a stand-in for python; return the arguments the Rasa server got."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # python -m bot.server prints the arguments it got (the Rasa server's); other modules do nothing.
    (bin_dir / "python").write_text(
        '#!/bin/sh\n[ "$1 $2" = "-m bot.server" ] || exit 0\nshift 2\nfor a in "$@"; do printf "%s\\n" "$a"; done\n'
    )
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    result = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, timeout=30, env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_image_compose_and_helm_start_the_rasa_server_the_same_way(tmp_path):
    base = [
        "run",
        "--model",
        "models/dry-needling.tar.gz",
        "--endpoints",
        "endpoints.production.yml",
        "--credentials",
        "var/credentials.yml",
        "--port",
        "5005",
    ]
    for where, script in _start_scripts().items():
        assert _run_start_script(tmp_path, script) == base, where
        configured = _run_start_script(
            tmp_path, script, RASA_API_TOKEN="t0ken", CHAT_ALLOWED_ORIGINS="https://www.clinic.example, https://b.example"
        )
        assert configured == [
            *base,
            "--enable-api",
            "--auth-token",
            "t0ken",
            "--cors",
            "https://www.clinic.example",
            "https://b.example",
        ], where


# -- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_installs_the_lock_file_like_scripts_install():
    dockerfile = DOCKERFILE.read_text()
    install = (PROJECT_ROOT / "scripts" / "install").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim-bookworm$", dockerfile, re.M)
    assert "COPY requirements.lock" in dockerfile
    # The same split of requirements.lock as scripts/install ...
    patterns = re.findall(r"grep -v?E '([^']+)' requirements\.lock", install)
    assert patterns
    for pattern in patterns:
        assert f"'{pattern}' requirements.lock" in dockerfile
    # ... installed the same way: rasa and rasa-sdk without dependencies, everything else exactly as pinned.
    assert "pip install --no-deps --ignore-requires-python -r requirements-rasa.txt" in dockerfile
    assert "pip install --no-deps -r requirements-deps.txt" in dockerfile
    assert dockerfile.count("--ignore-requires-python") == 1


def test_dockerfile_builds_the_pipeline_and_trains_like_scripts_train_with_telemetry_off():
    dockerfile = DOCKERFILE.read_text()
    train = (PROJECT_ROOT / "scripts" / "train").read_text()
    assert re.search(r"^ENV RASA_TELEMETRY_ENABLED=false\b", dockerfile, re.M)
    assert "python -m bot.nlu.spacy_pipeline build/spacy-en-lookup" in dockerfile
    spacy = next(c for c in yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"] if c["name"] == "SpacyNLP")
    assert spacy["model"] == "build/spacy-en-lookup"
    command = re.search(r"^rasa train .*?(?= \"\$@\"|$)", train, re.M).group(0)
    assert command in dockerfile, "the image trains with scripts/train's command"
    assert "--fixed-model-name dry-needling" in command and "--out models" in command
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and user[-1].split(":")[0] not in {"root", "0"}, "the containers run as a non-root user"


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


def test_dockerignore_keeps_local_state_and_secrets_out_but_not_what_the_image_needs():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "this checker does not handle exceptions"
    for path in [
        ".git",
        ".venv",
        "var",
        "models",
        "build",
        ".rasa",
        "web/node_modules",
        "results",
        "tests/artifacts",
        ".env",
        "bot/__pycache__",
        "backups/assistant.dump",
    ]:
        assert _ignored(path, patterns), path
    for path in [
        "bot/channels/webchat.py",
        "actions/answer.py",
        "data/topics.yml",
        "web/chat/index.html",
        "config.yml",
        "domain.yml",
        "credentials.yml",
        "endpoints.production.yml",
        "clinic.yml",
        "requirements.lock",
    ]:
        assert (PROJECT_ROOT / path).exists(), path
        assert not _ignored(path, patterns), path


# -- Helm values for Rasa's chart ----------------------------------------------------------------

# Top-level keys of the rasa chart's values.yaml (chart 1.17.x): nothing invented.
CHART_KEYS = {
    "nameOverride",
    "fullnameOverride",
    "registry",
    "applicationSettings",
    "replicaCount",
    "networkPolicy",
    "args",
    "extraArgs",
    "command",
    "extraEnv",
    "image",
    "serviceAccount",
    "podAnnotations",
    "podLabels",
    "deploymentAnnotations",
    "deploymentLabels",
    "podSecurityContext",
    "securityContext",
    "service",
    "ingress",
    "resources",
    "autoscaling",
    "nodeSelector",
    "tolerations",
    "affinity",
    "strategy",
    "livenessProbe",
    "readinessProbe",
    "initContainers",
    "extraContainers",
    "volumes",
    "volumeMounts",
    "global",
    "postgresql",
    "redis",
    "rabbitmq",
    "nginx",
    "rasa-action-server",
    "duckling",
}
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|ACCOUNT_SID")


def _helm() -> dict:
    return yaml.safe_load(HELM_VALUES.read_text())


def test_helm_values_use_only_the_charts_keys_and_the_clinics_image():
    values = _helm()
    assert set(values) <= CHART_KEYS, set(values) - CHART_KEYS
    assert values["replicaCount"] == 2
    assert values["image"]["name"] == "dry-needling-assistant" and values["image"]["tag"]
    action_server = values["rasa-action-server"]
    assert action_server["install"] is True
    assert (action_server["registry"], action_server["image"]) == (values["registry"], values["image"]), "one image for both"
    assert action_server["args"] == ["run", "actions", "--actions", "actions", "--port", "5055"]
    assert values["applicationSettings"]["telemetry"]["enabled"] is False
    assert values["applicationSettings"]["initialModel"] == "", "the model is in the image"
    assert values["nginx"]["enabled"] is False and values["postgresql"]["install"] is False


def test_helm_values_run_the_production_endpoints_with_every_variable_they_need():
    values = _helm()
    script = values["args"][0]
    assert "--endpoints endpoints.production.yml" in script
    assert "$(" not in script, "Kubernetes expands $(VAR) in args"
    env = {item["name"] for item in values["extraEnv"]}
    assert {"STORES"} | (_variables(ENDPOINTS) - {"ACTION_SERVER_URL"}) <= env  # ACTION_SERVER_URL: set by the chart
    assert next(item for item in values["extraEnv"] if item["name"] == "STORES")["value"] == "production"
    action_env = {item["name"] for item in values["rasa-action-server"]["extraEnv"]}
    assert {"STORES", "POSTGRES_HOST", "POSTGRES_PASSWORD"} <= action_env


def test_helm_values_take_every_secret_from_a_kubernetes_secret():
    values = _helm()
    for item in values["extraEnv"] + values["rasa-action-server"]["extraEnv"]:
        if SECRET_NAME.search(item["name"]):
            assert "value" not in item and "secretKeyRef" in item["valueFrom"], item["name"]


HELM_SECRET, HELM_CONFIG = "dry-needling-assistant-secrets", "dry-needling-assistant-config"
# Settings compose passes that a Helm release does without, and why.
NOT_IN_HELM = {
    "ACTION_SERVER_URL": "set by the rasa chart itself",
    "RETENTION_DAYS": "read by the retention command (its CronJob), not by a server",
    "SANIC_HOST": "rasa-sdk listens on 0.0.0.0 unless told otherwise; the Service is ClusterIP",
    "REDIS_HOST": "conversation locks: the Rasa servers only",
    "REDIS_PORT": "conversation locks: the Rasa servers only",
    "REDIS_PASSWORD": "conversation locks: the Rasa servers only",
    "REDIS_DB": "conversation locks: the Rasa servers only",
}


def _kubernetes_env(items: list[dict], secret: dict[str, str], config: dict[str, str]) -> dict[str, str]:
    """The environment Kubernetes gives a container with these ``env`` items, from the Secret's and the ConfigMap's data."""
    env: dict[str, str] = {}
    for item in items:
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = item["valueFrom"]
        source, key_ref = (secret, ref["secretKeyRef"]) if "secretKeyRef" in ref else (config, ref["configMapKeyRef"])
        assert key_ref["name"] == (HELM_SECRET if source is secret else HELM_CONFIG), item["name"]
        if key_ref["key"] in source:
            env[item["name"]] = source[key_ref["key"]]
        else:  # a missing key that is not optional keeps the pod from starting (CreateContainerConfigError)
            assert key_ref.get("optional") is True, f"{item['name']}: {key_ref['key']} missing from {key_ref['name']}"
    return env


@pytest.mark.parametrize(
    ("service", "release"),
    [("rasa1", "rasa"), ("actions", "rasa-action-server"), ("console", "staff-console")],
)
def test_helm_passes_each_server_the_settings_compose_passes(service, release):
    """A setting added to docker-compose.yml for a server must reach the same server on Kubernetes."""
    values = _helm()
    items = {
        "rasa": values["extraEnv"],
        "rasa-action-server": values["rasa-action-server"]["extraEnv"],
        "staff-console": yaml.safe_load(HELM_CONSOLE_VALUES.read_text())["extraEnv"],
    }[release]
    missing = set(_compose()["services"][service]["environment"]) - {item["name"] for item in items} - set(NOT_IN_HELM)
    assert not missing, f"{release} lacks {sorted(missing)}"


def test_helm_action_server_gets_the_handoff_notification_settings():
    """E-mail and Chatwoot are sent by the action server: from the ConfigMap and the Secret, as compose passes them."""
    items = _helm()["rasa-action-server"]["extraEnv"]
    secret = {
        "POSTGRES_PASSWORD": "pg-secret-for-tests",
        "SMTP_PASSWORD": "smtp-secret-for-tests",
        "CHATWOOT_API_TOKEN": "cw-token-for-tests",
    }
    config = {
        "HANDOFF_EMAIL_TO": "frontdesk@clinic.example",
        "HANDOFF_EMAIL_FROM": "assistant@clinic.example",
        "SMTP_HOST": "smtp.clinic.example",
        "SMTP_PORT": "2525",
        "SMTP_SECURITY": "ssl",
        "SMTP_USER": "assistant",
        "CONSOLE_URL": "https://console.clinic.example/",
        "CLINIC_TIMEZONE": "America/Toronto",
        "CHATWOOT_URL": "https://chat.clinic.example",
        "CHATWOOT_ACCOUNT_ID": "3",
        "CHATWOOT_INBOX_ID": "7",
    }
    handoff = load_settings(_kubernetes_env(items, secret, config)).handoff
    assert handoff.email is not None and handoff.chatwoot is not None
    email = handoff.email
    assert (email.host, email.port, email.security, email.user, email.password) == (
        "smtp.clinic.example",
        2525,
        "ssl",
        "assistant",
        "smtp-secret-for-tests",
    )
    assert (email.recipients, email.sender) == (("frontdesk@clinic.example",), "assistant@clinic.example")
    assert (email.console_url, email.timezone) == ("https://console.clinic.example/", "America/Toronto")
    assert (handoff.chatwoot.url, handoff.chatwoot.account_id, handoff.chatwoot.inbox_id, handoff.chatwoot.api_token) == (
        "https://chat.clinic.example",
        3,
        7,
        "cw-token-for-tests",
    )
    # The password and the token are read from the Secret only: put in the ConfigMap, they are missing.
    with pytest.raises(SettingsError, match="SMTP_PASSWORD"):
        load_settings(_kubernetes_env(items, {"POSTGRES_PASSWORD": "x"}, config | secret))
    # Neither configured: the pod starts (every key optional) and both stay off.
    handoff = load_settings(_kubernetes_env(items, {"POSTGRES_PASSWORD": "x"}, {})).handoff
    assert handoff.email is None and handoff.chatwoot is None


def test_helm_console_values_run_the_console_from_the_same_image_without_an_ingress():
    values, console = _helm(), yaml.safe_load(HELM_CONSOLE_VALUES.read_text())
    assert set(console) <= CHART_KEYS, set(console) - CHART_KEYS
    assert (console["registry"], console["image"]) == (values["registry"], values["image"]), "keep console-values.yaml in step"
    assert [*console["command"], *console["args"]] == ["python", "-m", "bot.console.server"]
    assert console["applicationSettings"]["port"] == 5006
    assert console["ingress"]["enabled"] is False and console["service"]["type"] == "ClusterIP"
    assert console["livenessProbe"]["httpGet"]["path"] == console["readinessProbe"]["httpGet"]["path"] == "/login"
    env = {item["name"]: item for item in console["extraEnv"]}
    assert env["CONSOLE_HOST"]["value"] == "0.0.0.0" and env["CONSOLE_PORT"]["value"] == "5006"
    assert env["STORES"]["value"] == "production"
    rasa_env = {item["name"]: item for item in values["extraEnv"]}
    for name in ["POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"]:
        assert env[name] == rasa_env[name], f"{name}: the console must open the Rasa servers' database"
    for item in console["extraEnv"]:
        if SECRET_NAME.search(item["name"]):
            assert "value" not in item and "secretKeyRef" in item["valueFrom"], item["name"]
    assert console["securityContext"] == values["securityContext"] and console["podSecurityContext"] == values["podSecurityContext"]


def test_helm_values_make_socketio_sticky_and_size_the_servers():
    values = _helm()
    annotations = values["ingress"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "64k"
    assert "nginx.ingress.kubernetes.io/limit-rps" in annotations
    assert values["resources"]["limits"]["memory"] and values["rasa-action-server"]["resources"]["limits"]["memory"]


# -- deploy/nginx.conf ----------------------------------------------------------------------------


def _upstream(text: str, name: str) -> str:
    return re.search(r"upstream " + name + r" \{(.*?)\}", text, re.S).group(1)


def test_nginx_limits_rates_and_sizes_and_makes_socketio_sticky():
    text = NGINX_CONF.read_text()
    assert re.search(r"^\s*limit_req_zone \$binary_remote_addr zone=visitors:\S+ rate=5r/s;", text, re.M)
    assert re.search(r"^\s*limit_req_status 429;", text, re.M)
    assert re.search(r"^\s*client_max_body_size 64k;", text, re.M)
    sticky = r"^\s*(hash \$binary_remote_addr consistent|hash \$remote_addr consistent|ip_hash);"
    assert re.search(sticky, _upstream(text, "rasa_socketio"), re.M)
    assert not re.search(sticky, _upstream(text, "rasa"), re.M), "REST and webhooks: round robin"
    socketio = re.search(r"location /socket\.io/ \{(.*?)\}", text, re.S).group(1)
    for directive in ["proxy_pass http://rasa_socketio;", "proxy_buffering off;", "proxy_read_timeout 65s;", "limit_req zone=visitors"]:
        assert directive in socketio
    assert "proxy_next_upstream error timeout;" in text
    for header in ["X-Forwarded-Proto $scheme", "X-Forwarded-Host $http_host"]:
        assert f"proxy_set_header {header};" in text


def test_nginx_balances_exactly_the_rasa_servers_of_the_compose_file():
    text = NGINX_CONF.read_text()
    services = _rasa_services(_compose())
    for upstream in ["rasa", "rasa_socketio"]:
        assert re.findall(r"server (rasa\d+):5005\b", _upstream(text, upstream)) == services, upstream


def _nginx() -> str:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if binary is None:
        pytest.skip("nginx not installed; install it with: apt-get install -y nginx")
    return binary


def _local_copy(tmp_path: Path, listen: int, health: int, upstream: int) -> Path:
    """deploy/nginx.conf on loopback: upstream host names -> 127.0.0.1, logs and temp files in tmp_path."""
    text = NGINX_CONF.read_text()
    for fixed in ["listen 80 default_server;", "listen 127.0.0.1:8081;", "/dev/stderr", "/dev/stdout", "http {\n"]:
        assert fixed in text, f"deploy/nginx.conf changed shape: update this test ({fixed!r})"
    text = re.sub(r"\brasa\d+:5005\b", f"127.0.0.1:{upstream}", text)
    text = text.replace("listen 80 default_server;", f"listen 127.0.0.1:{listen} default_server;")
    text = text.replace("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{health};")
    text = text.replace("/dev/stderr", str(tmp_path / "error.log")).replace("/dev/stdout", str(tmp_path / "access.log"))
    temp_paths = "".join(f"    {kind}_temp_path {tmp_path / kind};\n" for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    text = text.replace("http {\n", "http {\n" + temp_paths, 1)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    return conf


def _nginx_args(tmp_path: Path, conf: Path, extra: str = "") -> list[str]:
    """As root, workers run as root too: they write temporary files under pytest's private tmp_path."""
    settings = f"pid {tmp_path / 'nginx.pid'};" + (" user root;" if os.geteuid() == 0 else "") + extra
    return ["-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log"), "-g", settings]


def test_nginx_config_passes_nginx_t(tmp_path):
    nginx = _nginx()
    conf = _local_copy(tmp_path, _free_port(), _free_port(), _free_port())
    result = subprocess.run([nginx, "-t", *_nginx_args(tmp_path, conf)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_tls_block_is_valid_once_uncommented(tmp_path):
    """The commented TLS lines are what a clinic turns on: they must work as written."""
    nginx, openssl = _nginx(), shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed (needed for a throwaway certificate)")
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
            "-keyout",
            str(tls / "privkey.pem"),
            "-out",
            str(tls / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    conf = _local_copy(tmp_path, _free_port(), _free_port(), _free_port())
    text = conf.read_text()
    block = re.search(r"\n( *# listen 443 ssl default_server;\n.*?# \}\n)", text, re.S)
    assert block, "deploy/nginx.conf: the TLS block starts with '# listen 443 ssl default_server;'"
    uncommented = re.sub(r"^( *)# ?", r"\1", block.group(1), flags=re.M)
    uncommented = uncommented.replace("listen 443 ssl", f"listen 127.0.0.1:{_free_port()} ssl").replace("/etc/nginx/tls", str(tls))
    conf.write_text(text.replace(block.group(1), uncommented))
    result = subprocess.run([nginx, "-t", *_nginx_args(tmp_path, conf)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


class _StubRasa(http.server.BaseHTTPRequestHandler):
    """Answers everything with 200 and records what reached it."""

    seen: list[dict] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        _StubRasa.seen.append({"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def balancer(tmp_path_factory) -> Iterator[int]:
    """deploy/nginx.conf running on loopback in front of a stub Rasa server; yields nginx's port."""
    nginx = _nginx()
    tmp_path = tmp_path_factory.mktemp("nginx")
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StubRasa)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    listen, health = _free_port(), _free_port()
    conf = _local_copy(tmp_path, listen, health, stub.server_address[1])
    proc = subprocess.Popen([nginx, *_nginx_args(tmp_path, conf, " daemon off;")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                assert _request(health, "GET", "/healthz")[0] == 200
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode() if proc.stderr else ''}") from None
                time.sleep(0.1)
        yield listen
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stub.shutdown()


def _request(port: int, method: str, path: str, body: bytes | None = None, host: str = "assistant.example") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Host": host, "Content-Type": "application/json"} if body is not None else {"Host": host}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def _reached(method: str, path: str) -> dict | None:
    return next((r for r in reversed(_StubRasa.seen) if r["method"] == method and r["path"] == path), None)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/chat/"),
        ("GET", "/chat/config.json"),
        ("GET", "/chat"),
        ("GET", "/socket.io/?EIO=4&transport=polling"),
        ("POST", "/socket.io/?EIO=4&transport=polling&sid=abc"),
        ("POST", "/webhooks/rest/webhook"),
        ("POST", "/webhooks/twilio/webhook"),
        ("POST", "/webhooks/whatsapp/webhook"),
        ("POST", "/webhooks/telegram/webhook"),
        ("GET", "/webhooks/messenger/webhook?hub.mode=subscribe"),
    ],
)
def test_nginx_proxies_the_public_paths_with_forwarded_headers(balancer, method, path):
    status, _ = _request(balancer, method, path, b'{"sender": "a", "message": "hi"}' if method == "POST" else None)
    assert status == 200
    request = _reached(method, path)
    assert request is not None, f"{method} {path} did not reach Rasa"
    headers = request["headers"]
    assert headers["host"] == headers["x-forwarded-host"] == "assistant.example"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-real-ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/model/parse"),
        ("PUT", "/model"),
        ("GET", "/conversations/visitor-1/tracker"),
        ("POST", "/conversations/visitor-1/messages"),
        ("GET", "/status"),
        ("GET", "/version"),
        ("GET", "/domain"),
        ("POST", "/webhooks/unknown/webhook"),
        ("GET", "/socket.iox"),
    ],
)
def test_nginx_keeps_rasas_http_api_and_unknown_paths_private(balancer, method, path):
    status, _ = _request(balancer, method, path, b"{}" if method in {"POST", "PUT"} else None)
    assert status == 404
    assert _reached(method, path) is None


def test_nginx_sends_the_site_root_to_the_chat_and_caps_bodies(balancer):
    status, headers = _request(balancer, "GET", "/")
    assert (status, headers["location"]) == (302, "/chat/")
    status, _ = _request(balancer, "POST", "/webhooks/rest/webhook", b"x" * 70_000)
    assert status == 413


def test_nginx_rate_limits_a_flood_from_one_client_with_429(balancer):
    """Last in this file: it uses up the loopback client's allowance."""
    statuses = [_request(balancer, "GET", "/socket.io/?EIO=4&transport=polling")[0] for _ in range(60)]
    assert statuses[0] == 200
    assert 429 in statuses
    assert set(statuses) <= {200, 429}
