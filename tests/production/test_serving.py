"""`make serve` as production runs it: `check --deploy` clean under production settings, `collectstatic` writing
hashed and compressed files, and gunicorn (config/gunicorn.conf.py, DEBUG off) serving pages, static files through
WhiteNoise, the probes and the logs, on a free local port against the test database.

The subprocesses run in a throwaway project root (a copy of config/ and manage.py beside links to the shop's code,
templates and static sources), so a developer's `.env` cannot change what they see.
"""

import gzip
import http.client
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.factories import ProductFactory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ONE_YEAR = 365 * 24 * 60 * 60
HASHED_HTMX = re.compile(r"^htmx\.min\.[0-9a-f]{12}\.js$")
SERVER_START_SECONDS = 15
POOL_MIN_SIZE = 2


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project root of its own: config/ and manage.py copied, the shop's code, templates and static linked."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(PROJECT_ROOT / "config", root / "config", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "manage.py", root / "manage.py")
    for name in ["shop", "templates", "static"]:
        (root / name).symlink_to(PROJECT_ROOT / name, target_is_directory=True)
    return root


def base_environment(home: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    # However the test run reaches PostgreSQL (password, service file), the subprocesses do too.
    env.update({name: value for name, value in os.environ.items() if name.startswith("PG")})
    return env


def database_url() -> str:
    """The database the tests use (the test database once one is set up), as a DATABASE_URL."""
    db = connection.settings_dict
    auth = ""
    if db["USER"]:
        auth = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "") + "@"
    host = quote(db["HOST"] or "localhost", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def production_environment(home: Path, **variables: str) -> dict[str, str]:
    """What an operator sets in production (REDIS_URL left unset)."""
    return {
        **base_environment(home),
        "DEBUG": "False",
        "HTTPS": "True",
        "SECRET_KEY": secrets.token_urlsafe(45),  # 60 random characters
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": database_url(),
        **variables,
    }


def manage(project: Path, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- make serve ------------------------------------------------------------------------------------------


def test_make_serve_migrates_collects_static_then_runs_gunicorn_with_its_config_and_debug_off():
    dry_run = subprocess.run(
        ["make", "--dry-run", "--silent", "serve"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30
    )
    assert dry_run.returncode == 0, dry_run.stderr
    commands = [line for line in dry_run.stdout.splitlines() if "manage.py" in line or "gunicorn" in line]

    assert [command.split("manage.py ")[-1] for command in commands[:2]] == [
        "migrate --noinput",
        "collectstatic --noinput -v 0",
    ]
    assert len(commands) == 3
    # The pool is on unless DATABASE_POOL says otherwise: the benchmark's best configuration.
    assert re.fullmatch(
        r"DEBUG=False DATABASE_POOL=\$\{DATABASE_POOL:-True\} \S*/gunicorn config\.wsgi -c config/gunicorn\.conf\.py",
        commands[2],
    )


# --- check --deploy --------------------------------------------------------------------------------------


def test_check_deploy_reports_no_issues_under_production_settings(project):
    checked = manage(project, production_environment(project), "check", "--deploy", "--fail-level", "WARNING")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_check_deploy_flags_the_development_defaults(project):
    env = {**base_environment(project), "DATABASE_URL": database_url()}

    checked = manage(project, env, "check", "--deploy", "--fail-level", "WARNING")

    assert checked.returncode != 0
    flagged = set(re.findall(r"\(security\.(W\d+)\)", checked.stderr))
    # No HSTS, no SSL redirect, the insecure default SECRET_KEY, cookies that travel over plain HTTP.
    assert {"W004", "W008", "W009", "W012", "W016"} <= flagged, checked.stderr


def test_check_deploy_flags_a_django_insecure_secret_key_even_with_everything_else_set(project):
    env = production_environment(project, SECRET_KEY="django-insecure-" + secrets.token_urlsafe(45))

    checked = manage(project, env, "check", "--deploy", "--fail-level", "WARNING")

    assert checked.returncode != 0
    assert set(re.findall(r"\(security\.(W\d+)\)", checked.stderr)) == {"W009"}, checked.stderr


def test_check_deploy_flags_debug_left_on(project):
    checked = manage(project, production_environment(project, DEBUG="True"), "check", "--deploy")

    assert "security.W018" in checked.stdout + checked.stderr


# --- collectstatic ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def static_root(project, tmp_path_factory) -> Path:
    """`collectstatic` as `make serve` runs it, with STATIC_MANIFEST=True, into a STATIC_ROOT of this module's."""
    root = tmp_path_factory.mktemp("static_root")
    env = {**base_environment(project), "STATIC_MANIFEST": "True", "STATIC_ROOT": str(root)}
    collected = manage(project, env, "collectstatic", "--noinput", "-v", "0")
    assert collected.returncode == 0, collected.stderr
    return root


def hashed_name(static_root: Path, name: str) -> str:
    return json.loads((static_root / "staticfiles.json").read_text())["paths"][name]


def test_collectstatic_writes_hashed_names_listed_in_the_manifest(static_root):
    htmx = hashed_name(static_root, "vendor/htmx/htmx.min.js")

    assert HASHED_HTMX.match(Path(htmx).name), htmx
    assert (static_root / htmx).read_bytes() == (PROJECT_ROOT / "static/vendor/htmx/htmx.min.js").read_bytes()
    for source in ["css/shop.css", "vendor/bootstrap/bootstrap.min.css", "vendor/bootstrap/bootstrap.bundle.min.js"]:
        hashed = hashed_name(static_root, source)
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", hashed), hashed
        assert (static_root / hashed).is_file()


def test_collectstatic_writes_a_gzip_copy_of_each_hashed_file_and_brotli_when_it_is_installed(static_root):
    htmx = static_root / hashed_name(static_root, "vendor/htmx/htmx.min.js")

    gzipped = htmx.with_name(htmx.name + ".gz")
    assert gzip.decompress(gzipped.read_bytes()) == htmx.read_bytes()
    assert gzipped.stat().st_size < htmx.stat().st_size / 2
    css = static_root / hashed_name(static_root, "vendor/bootstrap/bootstrap.min.css")
    assert css.with_name(css.name + ".gz").is_file()
    if importlib.util.find_spec("brotli") is not None:
        assert htmx.with_name(htmx.name + ".br").is_file()


# --- gunicorn ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    port: int
    log: Path
    process: subprocess.Popen

    def request(self, path: str, method: str = "GET", **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            client.request(method, path, headers={name.replace("_", "-"): value for name, value in headers.items()})
            response = client.getresponse()
            return response, response.read()
        finally:
            client.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def lines_until(self, predicate, timeout: float = 5.0) -> list[str]:
        """The server's output lines once `predicate(lines)` holds (log lines may trail the response a little)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.output().splitlines()
            if predicate(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@contextmanager
def gunicorn(project: Path, log: Path, **variables: str) -> Iterator[Server]:
    """The shop under gunicorn as `make serve` starts it, on a free port; stopped (and waited for) at the end."""
    port = free_port()
    env = {
        **base_environment(log.parent),  # HOME: gunicorn puts its control socket under it
        "DEBUG": "False",
        "DATABASE_URL": database_url(),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "SECRET_KEY": secrets.token_urlsafe(45),
        **variables,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py"],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(port=port, log=log, process=process)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{server.output()}")
            try:
                if server.request("/healthz")[0].status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer /healthz within {SERVER_START_SECONDS} s:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def pool_application_name() -> str:
    return f"shop-test-gunicorn-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def server(django_db_setup, project, static_root, tmp_path_factory, pool_application_name):
    """gunicorn with DEBUG off, the collected static files and a psycopg pool, on the test database. Each test
    adds the rows it needs through `transactional_db` (committed, so the server sees them)."""
    with gunicorn(
        project,
        tmp_path_factory.mktemp("gunicorn") / "server.log",
        STATIC_ROOT=str(static_root),
        DATABASE_POOL="True",
        DATABASE_POOL_MIN_SIZE=str(POOL_MIN_SIZE),
        PGAPPNAME=pool_application_name,  # names the server's connections in pg_stat_activity
    ) as server:
        yield server


@pytest.fixture
def laptop(transactional_db):
    return ProductFactory(sku="LAP-001", name="Laptop", price=Decimal("1000.00"), stock=10)


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_gunicorn_runs_threaded_workers_from_its_config_file(server):
    assert "Using worker: gthread" in server.output()


def test_gunicorn_serves_the_catalog_from_the_database_with_debug_off_and_hashed_static_names(server, laptop):
    response, body = server.request("/")
    html = body.decode()

    assert response.status == 200
    assert "Laptop" in html
    urls = static_urls(html)
    assert any(re.fullmatch(r"/static/vendor/htmx/htmx\.min\.[0-9a-f]{12}\.js", url) for url in urls), urls
    unhashed = [url for url in urls if not re.search(r"\.[0-9a-f]{12}\.\w+$", url)]
    assert unhashed == []
    missing, missing_body = server.request("/no-such-page/")
    assert missing.status == 404
    assert b"URLconf" not in missing_body  # Django's debug page would list the URL patterns


def test_gunicorn_pages_carry_the_security_headers_a_request_id_and_no_server_version(server, laptop):
    response, _ = server.request("/", X_Request_ID="probe-headers-1")

    policy = response.getheader("Content-Security-Policy")
    assert policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.getheader("X-Request-ID") == "probe-headers-1"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Referrer-Policy") == "same-origin"
    assert response.getheader("Server") in (None, "gunicorn")  # gunicorn's default names no version
    assert response.getheader("X-Powered-By") is None
    fresh, _ = server.request("/")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.getheader("X-Request-ID"))


def test_gunicorn_serves_hashed_static_files_gzip_compressed_with_far_future_caching(server, static_root):
    path = "/static/" + hashed_name(static_root, "vendor/htmx/htmx.min.js")

    response, body = server.request(path, Accept_Encoding="gzip")

    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == (PROJECT_ROOT / "static/vendor/htmx/htmx.min.js").read_bytes()
    cache_control = response.getheader("Cache-Control")
    max_age = int(re.search(r"max-age=(\d+)", cache_control).group(1))
    assert max_age >= ONE_YEAR
    assert "immutable" in cache_control and "public" in cache_control
    assert "Accept-Encoding" in response.getheader("Vary")
    assert response.getheader("Content-Type").startswith("text/javascript")
    assert response.getheader("X-Request-ID")
    plain, plain_body = server.request(path)
    assert plain.getheader("Content-Encoding") is None
    assert plain_body == (PROJECT_ROOT / "static/vendor/htmx/htmx.min.js").read_bytes()


@pytest.mark.parametrize("docs", ["/docs/", "/docs/swagger/"])
def test_gunicorn_serves_the_api_docs_and_every_script_and_stylesheet_they_reference(server, docs, transactional_db):
    response, body = server.request(docs)
    assert response.status == 200
    html = body.decode()
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 2, html

    for asset in assets:
        served, content = server.request(asset.replace("&amp;", "&"))
        assert served.status == 200, asset
        assert content, asset


def test_gunicorn_probes_answer_and_the_database_pool_keeps_its_connections_open(
    server, transactional_db, pool_application_name
):
    healthz, body = server.request("/healthz")
    assert (healthz.status, json.loads(body)) == (200, {"status": "ok"})
    readyz, body = server.request("/readyz")
    assert (readyz.status, json.loads(body)) == (200, {"status": "ok", "checks": {"database": True}})

    # Without a pool (CONN_MAX_AGE=0) each request closes its connection; the pool keeps min_size open, idle.
    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
                [pool_application_name],
            )
            open_connections = cursor.fetchone()[0]
        if open_connections >= POOL_MIN_SIZE or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert open_connections >= POOL_MIN_SIZE


def test_gunicorns_access_line_and_djangos_line_for_a_request_carry_its_request_id(server):
    server.request("/no-such-page-logs/", X_Request_ID="probe-logs-404")

    lines = server.lines_until(
        lambda lines: (
            any("rid=probe-logs-404" in line for line in lines)
            and any("Not Found: /no-such-page-logs/" in line for line in lines)
        )
    )
    [access] = [line for line in lines if "rid=probe-logs-404" in line]
    assert '"GET /no-such-page-logs/ HTTP/1.1" 404' in access
    [warning] = [line for line in lines if "Not Found: /no-such-page-logs/" in line]
    assert "[probe-logs-404] django.request" in warning


def test_with_log_format_json_every_line_gunicorn_writes_is_json_with_a_request_id(
    project, static_root, tmp_path, django_db_setup
):
    with gunicorn(project, tmp_path / "server.log", STATIC_ROOT=str(static_root), LOG_FORMAT="json") as server:
        server.request("/healthz", X_Request_ID="probe-json-1")
        server.request("/no-such-page/", X_Request_ID="probe-json-2")
        # The access line and Django's "Not Found" line, whatever their format.
        lines = server.lines_until(lambda lines: sum("/no-such-page/" in line for line in lines) >= 2)

    not_json = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            not_json.append(line)
            continue
        assert "request_id" in record, line
    assert not_json == [], "lines a JSON log pipeline cannot parse:\n" + "\n".join(not_json)
