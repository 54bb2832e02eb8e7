"""config/settings.py picks the database: DATABASE_URL, else DEV=True with DB_*, else the tuned SQLite file.

Each case imports the settings module in a fresh interpreter with a controlled environment. The module is
copied into a temporary project root, so a developer's `.env` in the real root cannot change the answer
(and the `.env` cases can write their own).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = PROJECT_ROOT / "config" / "settings.py"

PRINT_DATABASE = "import json, config.settings as s; print(json.dumps(s.DATABASES['default'], default=str))"


@pytest.fixture
def project(tmp_path):
    """A throwaway project root holding only config/settings.py."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "__init__.py").write_text("")
    shutil.copy(SETTINGS, tmp_path / "config" / "settings.py")
    return tmp_path


def database(project: Path, **variables: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(project), "USER": "alice", "PYTHONPATH": str(project), **variables}
    completed = subprocess.run(
        [sys.executable, "-c", PRINT_DATABASE], cwd=project, env=env, capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_without_variables_the_database_is_sqlite_with_immediate_transactions_and_wal(project):
    db = database(project)

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(project / "db.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert "foreign_keys=ON" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["timeout"] > 0


def test_a_sqlite_database_url_gets_the_same_concurrency_settings(project):
    db = database(project, DATABASE_URL=f"sqlite:///{project}/other.sqlite3")

    assert db["NAME"] == f"{project}/other.sqlite3"
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


def test_sqlite_path_moves_the_sqlite_file(project):
    assert database(project, SQLITE_PATH="/tmp/elsewhere.sqlite3")["NAME"] == "/tmp/elsewhere.sqlite3"


def test_db_variables_without_dev_still_give_sqlite(project):
    db = database(project, DEV="False", DB_NAME="shop", DB_USER="shop", DB_HOST="db.internal")
    assert db["ENGINE"] == "django.db.backends.sqlite3"


def test_dev_true_uses_postgresql_from_the_db_variables(project):
    db = database(
        project,
        DEV="True",
        DB_NAME="shopdb",
        DB_USER="shopuser",
        DB_PASSWORD="s3cret",
        DB_HOST="db.internal",
        DB_PORT="6543",
    )

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], str(db["PORT"])) == (
        "shopdb",
        "shopuser",
        "s3cret",
        "db.internal",
        "6543",
    )
    assert db["CONN_MAX_AGE"] == 0


def test_dev_true_without_db_variables_uses_local_postgresql_named_after_the_user(project):
    db = database(project, DEV="True")

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["HOST"], str(db["PORT"])) == ("alice", "localhost", "5432")


def test_database_url_wins_over_dev(project):
    db = database(
        project,
        DATABASE_URL="postgres://urluser:urlpw@urlhost:7000/urldb",
        DEV="True",
        DB_NAME="devdb",
        DB_USER="devuser",
        DB_HOST="devhost",
    )

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], str(db["PORT"])) == (
        "urldb",
        "urluser",
        "urlpw",
        "urlhost",
        "7000",
    )


def test_a_database_url_without_a_name_uses_the_users_name_like_libpq(project):
    assert database(project, DATABASE_URL="postgres://localhost/")["NAME"] == "alice"
    assert database(project, DATABASE_URL="postgres://bob:pw@localhost/")["NAME"] == "bob"


def test_conn_max_age_is_read_from_the_environment(project):
    db = database(project, DATABASE_URL="postgres://localhost/shop", CONN_MAX_AGE="60")
    assert db["CONN_MAX_AGE"] == 60


def test_the_dot_env_file_is_read(project):
    (project / ".env").write_text("DEV=True\nDB_NAME=fromdotenv\n")

    db = database(project)

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "fromdotenv"


def test_real_environment_variables_beat_the_dot_env_file(project):
    (project / ".env").write_text("DATABASE_URL=postgres://localhost/fromdotenv\n")

    assert database(project, DATABASE_URL="postgres://localhost/fromenv")["NAME"] == "fromenv"
