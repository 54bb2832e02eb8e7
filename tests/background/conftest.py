"""Shared tools for the background-work tests: the database worker run in-process, the task queue as rows,
and a real HTTP receiver on 127.0.0.1 that records every webhook it gets."""

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command
from django_tasks_db.compat import TASKS_LOGGER
from django_tasks_db.models import DBTaskResult

SEND_EMAIL = "shop.tasks.send_order_email"
DELIVER_WEBHOOK = "shop.tasks.deliver_webhook"

# --- The task queue -----------------------------------------------------------------------------------


def queued_calls(task_path: str | None = None) -> list[tuple]:
    """Every task row as (task name, *args), oldest first: what the services asked the worker to do."""
    rows = DBTaskResult.objects.order_by("enqueued_at")
    if task_path:
        rows = rows.filter(task_path=task_path)
    return [(row.task_path.rsplit(".", 1)[1], *row.args_kwargs["args"]) for row in rows]


def assert_no_failed_tasks() -> None:
    failed = list(DBTaskResult.objects.failed().values_list("task_path", "traceback"))
    assert not failed, "tasks failed in the worker:\n" + "\n".join(f"{path}:\n{tb}" for path, tb in failed)


def run_worker() -> float:
    """`manage.py db_worker --batch --no-startup-delay` in this process: run every ready task, then return.
    The worker installs its own signal handlers and log levels; the previous ones are put back afterwards.
    Returns the seconds taken."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    loggers = [logging.getLogger(name) for name in (TASKS_LOGGER, "django_tasks_db")]
    levels = [logger.level for logger in loggers]
    started = time.monotonic()
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0, stdout=StringIO(), stderr=StringIO())
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    return time.monotonic() - started


def run_worker_until(done: Callable[[], bool], *, timeout: float = 10.0, pause: float = 0.02) -> None:
    """Run the worker again and again (deferred retries become ready as time passes) until `done()`."""
    deadline = time.monotonic() + timeout
    while True:
        run_worker()
        if done():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still not done after running the worker for {timeout} s")
        time.sleep(pause)


# --- A webhook receiver -------------------------------------------------------------------------------


@dataclass
class Received:
    at: float  # time.monotonic() when the request arrived
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


HANG = "hang"  # answer nothing until the test ends
DRIBBLE = "dribble"  # a valid 200 answer, one byte at a time, each byte well within the timeout


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) in a thread. Each POST is recorded, then answered with the next
    planned answer (a status code, HANG or DRIBBLE), or 200 once the plan is used up."""

    def __init__(self):
        self.received: list[Received] = []
        self.plan: list[int | str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append(Received(time.monotonic(), self.path, dict(self.headers.items()), body))
                    answer = receiver.plan.pop(0) if receiver.plan else 200
                try:
                    if answer == HANG:
                        receiver.stop.wait(10)
                    elif answer == DRIBBLE:
                        for byte in b"HTTP/1.0 200 OK\r\n\r\n":
                            if receiver.stop.wait(0.12):
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                    else:
                        self.send_response(answer)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                except OSError:  # the sender gave up waiting and closed the connection
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shop"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def start_receiver():
    receivers: list[Receiver] = []

    def start() -> Receiver:
        receiver = Receiver()
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


@pytest.fixture
def receiver(start_receiver) -> Receiver:
    return start_receiver()
