"""A request id on every log line: X-Request-ID from the load balancer when it is safe, else a fresh one, echoed
in the response and written on each line logged while the request is served ("-" outside a request); with
LOG_FORMAT=json every line is one JSON object."""

import io
import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.http import HttpResponse
from django.urls import path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = PROJECT_ROOT / "config" / "settings.py"
FRESH_ID = re.compile(r"^[0-9a-f]{32}$")
log = logging.getLogger("shop.request_id_probe")


def logging_view(request):
    log.info("serving the probe")
    return HttpResponse("ok")


urlpatterns = [path("probe/", logging_view)]


@pytest.fixture
def probe_urls(settings):
    """This module's one view (it logs a line) on /probe/."""
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def console():
    """What the configured console handler (settings.LOGGING: request id filter, plain format) writes."""
    handler = next(handler for handler in logging.getLogger().handlers if handler.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def lines_with(stream: io.StringIO, text: str) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if text in line]


# --- The id in the response ----------------------------------------------------------------------


def test_a_response_carries_a_fresh_request_id_when_the_request_has_none(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert FRESH_ID.match(first)
    assert FRESH_ID.match(second)
    assert first != second


@pytest.mark.parametrize(
    "incoming", ["lb-7f3a9c", "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "trace:1-67.ab_c", "x" * 128]
)
def test_a_safe_incoming_request_id_is_echoed_in_the_response(client, incoming):
    assert client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", ["a b\n", "a\r\nSet-Cookie: x=1", "<script>", "x" * 129, "id;drop", "ü"])
def test_an_unsafe_incoming_request_id_is_replaced_by_a_fresh_one(client, incoming):
    echoed = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"]

    assert FRESH_ID.match(echoed)
    assert echoed != incoming


def test_error_responses_carry_the_request_id_too(client):
    assert client.get("/no-such-page/", HTTP_X_REQUEST_ID="lost-1")["X-Request-ID"] == "lost-1"


# --- The id on the log lines ------------------------------------------------------------------------


def test_a_line_logged_while_a_request_is_served_carries_its_request_id(client, probe_urls, console):
    client.get("/probe/", HTTP_X_REQUEST_ID="req-probe-1")

    [line] = lines_with(console, "serving the probe")
    assert " INFO [req-probe-1] shop.request_id_probe serving the probe" in line


def test_the_line_carries_the_fresh_id_the_response_echoes_when_none_was_given(client, probe_urls, console):
    echoed = client.get("/probe/")["X-Request-ID"]

    [line] = lines_with(console, "serving the probe")
    assert f"[{echoed}]" in line


def test_a_line_logged_outside_a_request_carries_a_dash(console):
    log.warning("no request here")

    [line] = lines_with(console, "no request here")
    assert " WARNING [-] shop.request_id_probe no request here" in line


def test_the_id_of_a_finished_request_is_not_written_on_later_lines(client, probe_urls, console):
    client.get("/probe/", HTTP_X_REQUEST_ID="req-done-1")
    log.warning("after the request")

    [line] = lines_with(console, "after the request")
    assert "[-]" in line
    assert "req-done-1" not in line


def test_djangos_not_found_warning_carries_the_request_id(client, console):
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404-1")

    [line] = lines_with(console, "Not Found: /no-such-page/")
    assert "[req-404-1] django.request" in line


@pytest.mark.django_db
def test_djangos_warning_for_an_unready_probe_carries_the_request_id(client, console):
    with mock.patch("shop.health.connection.cursor", side_effect=OperationalError("connection refused")):
        assert client.get("/readyz", HTTP_X_REQUEST_ID="req-503-1").status_code == 503

    [line] = lines_with(console, "Service Unavailable: /readyz")
    assert "[req-503-1] django.request" in line


# --- The formats, in a fresh interpreter ----------------------------------------------------------

LOG_THROUGH_A_REQUEST = """
import logging, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from django.http import HttpResponse
from django.test import RequestFactory
from shop.observability import RequestIdMiddleware

log = logging.getLogger("shop.probe")
log.info("before the request")

def view(request):
    log.warning("inside the request")
    return HttpResponse("ok")

RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="req-fresh-1"))
log.error("after the request")
"""


@pytest.fixture
def project(tmp_path):
    """A throwaway root with a copy of config/settings.py (so no `.env` applies); the shop's code comes from
    the real root, later on the path."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "__init__.py").write_text("")
    shutil.copy(SETTINGS, tmp_path / "config" / "settings.py")
    return tmp_path


def log_lines(project: Path, **variables: str) -> list[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "PYTHONPATH": f"{project}:{PROJECT_ROOT}",
        "SQLITE_PATH": str(project / "unused.sqlite3"),
        **variables,
    }
    completed = subprocess.run(
        [sys.executable, "-c", LOG_THROUGH_A_REQUEST],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stderr.splitlines()


def test_plain_log_lines_carry_time_level_request_id_logger_and_message(project):
    lines = log_lines(project)

    assert len(lines) == 3, lines
    timestamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.fullmatch(rf"{timestamp} INFO \[-\] shop\.probe before the request", lines[0])
    assert re.fullmatch(rf"{timestamp} WARNING \[req-fresh-1\] shop\.probe inside the request", lines[1])
    assert re.fullmatch(rf"{timestamp} ERROR \[-\] shop\.probe after the request", lines[2])


def test_with_log_format_json_every_line_is_a_json_object_with_time_level_logger_request_id_and_message(project):
    lines = log_lines(project, LOG_FORMAT="json")

    assert len(lines) == 3, lines
    records = [json.loads(line) for line in lines]
    for record in records:
        assert {"time", "level", "logger", "request_id", "message"} <= record.keys(), record
        assert re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", record["time"]), record
    assert [(r["level"], r["logger"], r["request_id"], r["message"]) for r in records] == [
        ("INFO", "shop.probe", "-", "before the request"),
        ("WARNING", "shop.probe", "req-fresh-1", "inside the request"),
        ("ERROR", "shop.probe", "-", "after the request"),
    ]


def test_log_level_drops_lines_below_it(project):
    lines = log_lines(project, LOG_LEVEL="WARNING")

    assert [line.split(" shop.probe ")[1] for line in lines] == ["inside the request", "after the request"]
