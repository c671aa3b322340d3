"""The soak test, shortened for CI: gunicorn (3 workers) on PostgreSQL, four clinicians entering
vitals and notes at once for 20 s; zero errors and every acknowledged write in the database.
The full run is `python -m kaptracker.ops.soak --minutes 3` (README, "Soak test")."""

from __future__ import annotations

import pytest

from fault_support import scratch_database
from kaptracker.ops import soak

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]


def test_soak_on_postgresql(database, tmp_path, capsys):
    if database["kind"] != "postgresql":
        pytest.skip("the soak runs on PostgreSQL (set KAPTRACKER_TEST_DATABASE_URL); CI runs it there")
    with scratch_database(database, tmp_path, "soak") as url:
        figures = soak.soak(url, seconds=20, clinicians=4, workers=3, think=0.1, log=lambda _: None)
    with capsys.disabled():
        print(f"\n[soak] {figures['requests']} requests, {figures['errors']} errors, p50 {figures['p50_ms']} ms, "
              f"p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms; {figures['writes_acknowledged']} writes "
              f"acknowledged, {figures['writes_verified']} verified")
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["problems"] == []
    assert figures["writes_acknowledged"] >= 50
    assert figures["writes_verified"] == figures["writes_acknowledged"]
    assert figures["ok"]
