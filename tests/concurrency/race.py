"""Run callables at the same instant on separate threads, hence separate database connections."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connections


@dataclass
class RaceResult:
    values: list = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def errors_of(self, kind: type[BaseException]) -> list[BaseException]:
        return [error for error in self.errors if isinstance(error, kind)]


def race(*calls: Callable[[], object], timeout: float = 60) -> RaceResult:
    """Start every call behind a barrier so they really overlap; collect what each returned or raised.

    Each thread closes its own connections in `finally`, so no connection outlives the race.
    """
    barrier = threading.Barrier(len(calls))
    result = RaceResult()
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=timeout)
            value = call()
            with lock:
                result.values.append(value)
        except BaseException as error:
            with lock:
                result.errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    alive = [thread for thread in threads if thread.is_alive()]
    if alive:
        raise AssertionError(f"{len(alive)} racer(s) still running after {timeout}s: a deadlock or a lost lock?")
    return result
