"""The load benchmark's short mode, end to end, as CI runs it: production server, both flows, pgbench ceiling."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.concurrency
def test_the_quick_load_benchmark_places_orders_through_both_flows_without_errors(tmp_path):
    completed = subprocess.run(
        [sys.executable, "bench/load.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    latest = max((ROOT / "bench" / "results").glob("load-quick-*.json"), key=lambda path: path.stat().st_mtime)
    result = json.loads(latest.read_text())
    assert set(result["per_order"]) == {"api", "storefront"}
    assert result["per_order"]["api"]["queries_per_order"] > 0
