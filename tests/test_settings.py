"""Settings come from the environment and an optional `.env`; production settings pass
Django's deploy checks; the test suite is never configured by a developer's `.env`."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# The settings variables pytest-env sets (pyproject.toml): a subprocess that should start like a developer's
# shell starts without them.
PYTEST_ENV = {
    "FLOWNALLY_ENV_FILE",
    "SECRET_KEY",
    "DJANGO_DEBUG",
    "SECURE_SSL_REDIRECT",
    "CELERY_TASK_ALWAYS_EAGER",
}

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
    "ALLOWED_HOSTS": "contacts.example.com",
    "DATABASE_URL": "postgres://app@db.internal:5432/contacts",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    clean.pop("SECURE_SSL_REDIRECT", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_environment(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION_ENV, "FLOWNALLY_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env={**env, "SECRET_KEY": "", "FLOWNALLY_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_settings_refuse_to_start_with_neither_secret_key_nor_debug(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in PYTEST_ENV}
    env.update(FLOWNALLY_ENV_FILE="", FLOWNALLY_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DJANGO_DEBUG is off." in result.stderr


def _settings(names, *, env_file: Path, env: dict) -> dict:
    """The named settings as a fresh process sees them, given `env` and the `.env` file."""
    clean = {k: v for k, v in os.environ.items() if k not in PYTEST_ENV}
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "flownally_admin.settings",
            "FLOWNALLY_ENV_FILE": str(env_file),
            "FLOWNALLY_VAR_DIR": str(env_file.parent / "var"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_env_file_supplies_what_the_environment_does_not_set(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=true\nSECRET_KEY=from-the-env-file\nLOG_LEVEL=WARNING\n")
    found = _settings(["DEBUG", "SECRET_KEY", "LOGGING"], env_file=env_file, env={})
    assert (found["DEBUG"], found["SECRET_KEY"]) == (True, "from-the-env-file")
    assert found["LOGGING"]["root"]["level"] == "WARNING"


def test_the_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=true\nSECRET_KEY=from-the-env-file\n")
    found = _settings(
        ["DEBUG", "SECRET_KEY"],
        env_file=env_file,
        env={"DJANGO_DEBUG": "false", "SECRET_KEY": "from-the-environment"},
    )
    assert found == {"DEBUG": False, "SECRET_KEY": "from-the-environment"}


def test_a_developers_env_file_does_not_reach_the_test_suite(tmp_path):
    """pytest, started the way a developer starts it, with a `.env` that would change
    settings if it were read: the tests see pyproject.toml's values and nothing of it."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DJANGO_DEBUG=true\nSECRET_KEY=from-the-env-file\nFLOWNALLY_FROM_ENV_FILE=leaked\n"
    )
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        textwrap.dedent(
            """
            import os

            from django.conf import settings


            def test_settings_are_the_suites():
                assert "FLOWNALLY_FROM_ENV_FILE" not in os.environ
                assert settings.DEBUG is False
                assert settings.SECRET_KEY.startswith("test-only-secret-key")
            """
        )
    )
    clean = {k: v for k, v in os.environ.items() if k not in PYTEST_ENV}
    pytest_args = ["-c", "pyproject.toml", "-p", "no:cacheprovider", "-q", str(probe)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args],
        cwd=ROOT,
        env={**clean, "FLOWNALLY_ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_connections_do_not_jit_compile_queries():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
