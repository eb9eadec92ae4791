"""The settings module fails loudly on unsafe production configuration."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "PANTRY_ENV", "ALLOWED_HOSTS"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_secret_key():
    result = _import_settings({"PANTRY_ENV": "production", "ALLOWED_HOSTS": "pantry.example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY is required in production" in result.stderr


def test_production_refuses_debug():
    result = _import_settings(
        {"PANTRY_ENV": "production", "DEBUG": "true", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "pantry.example.com"}
    )
    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


def test_production_requires_allowed_hosts():
    result = _import_settings({"PANTRY_ENV": "production", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


def test_production_starts_with_key_and_hosts():
    result = _import_settings(
        {"PANTRY_ENV": "production", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "pantry.example.com"}
    )
    assert result.returncode == 0, result.stderr


def test_malformed_boolean_is_a_clear_error():
    result = _import_settings({"PANTRY_ENV": "development", "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_manage_py_runs_as_development_when_nothing_is_set_but_wsgi_stays_production():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "PANTRY_ENV", "ALLOWED_HOSTS"}}
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr
    wsgi = subprocess.run(
        [sys.executable, "-c", "import portal.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert wsgi.returncode != 0
    assert "SECRET_KEY is required in production" in wsgi.stderr
