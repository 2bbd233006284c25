"""deploy/compose.yaml's structure (docker cannot run where the suite runs, so the stack itself is
not started here: docs/deploy.md says so). What is checked is what breaks silently: the services
and their order, the readiness check, the volumes, and the files the compose file points at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
READY = "/api/v1/health/ready"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _flat(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


def test_the_stack_has_its_services_and_named_volumes() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "migrate", "serve", "worker", "nginx"} <= set(services)
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                # a bind mount: the file or folder beside compose.yaml (tls/ is the operator's)
                assert source == "./tls" or (DEPLOY / source).exists(), (name, source)
            else:
                assert source in declared, (name, source)
    # the database and the keys outlive the containers
    assert {"pgdata", "tiemchung-data"} <= declared


def test_the_app_services_run_tiemchung_commands_after_the_migrations() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["init"]
    assert services["worker"]["command"] == ["worker"]
    serve = services["serve"]["command"]
    assert serve[0] == "serve" and "--workers" in serve and "--proxy-headers" in serve
    assert serve[serve.index("--host") + 1] == "0.0.0.0"  # reachable by nginx
    for name in ("serve", "worker"):
        after = services[name]["depends_on"]
        assert after["postgres"]["condition"] == "service_healthy"
        assert after["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (ROOT / services[name]["build"]["context"].replace("..", ".")).is_dir()
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["serve"]["condition"] == "service_healthy"
    assert "ports" not in services["serve"]  # only nginx is published


def test_healthchecks_ask_the_readiness_endpoint() -> None:
    services = _compose()["services"]
    assert READY in _flat(services["serve"]["healthcheck"]["test"])
    assert READY in _flat(services["nginx"]["healthcheck"]["test"])
    assert "pg_isready" in _flat(services["postgres"]["healthcheck"]["test"])


def test_the_env_file_and_the_image_agree_with_the_stack() -> None:
    env = (DEPLOY / "tiemchung.env.example").read_text(encoding="utf-8")
    keys = {line.split("=", 1)[0] for line in env.splitlines() if "=" in line and line[0] != "#"}
    assert {"TIEMCHUNG_DATABASE_URL", "POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB"} <= keys
    assert "@postgres:5432/" in env  # the service's name is the database's host
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --frozen --no-default-groups" in dockerfile  # the runtime only
    assert "USER tiemchung" in dockerfile
    assert 'ENTRYPOINT ["tiemchung"]' in dockerfile
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "server serve:8000;" in nginx and "X-Forwarded-For" in nginx
    assert "client_max_body_size" in nginx


def test_every_setting_the_examples_name_exists() -> None:
    """A misspelt variable in an operator's env file is silently ignored by pydantic-settings:
    every TIEMCHUNG_ name in the example file and in docs/deploy.md must be a real setting."""
    import re

    from tiemchung.config import Settings

    fields = {name.upper() for name in Settings.model_fields}
    texts = [
        (DEPLOY / "tiemchung.env.example").read_text(encoding="utf-8"),
        (DEPLOY.parent / "docs" / "deploy.md").read_text(encoding="utf-8"),
    ]
    named = {m for t in texts for m in re.findall(r"\bTIEMCHUNG_([A-Z0-9_]+)=", t)}
    assert named, "the examples name no setting"
    assert named - fields == set(), "not settings of tiemchung.config.Settings"
