"""The embedded suite's end-to-end, windows and budget tests, on Apache Kafka and a
ClickHouse server: the same test bodies, with the containers-backed ``stack`` of
tests/docker/conftest.py. Skipped, with the reason, where no Docker engine answers.
"""

import pytest

# Re-exposed for collection here, where `stack` is the containers-backed one.
from tests.integration.test_budgets_e2e import (  # noqa: F401
    test_a_new_day_starts_from_zero_and_unpriced_usage_warns,
    test_thresholds_fire_once_in_order_through_crash_replay_and_limit_change,
)
from tests.integration.test_ingest_e2e import test_valid_rows_invalid_dead_letters_and_replay_changes_nothing  # noqa: F401
from tests.integration.test_windows_e2e import (  # noqa: F401
    test_window_totals_equal_event_totals_through_disorder_duplicates_and_a_crash,
)

pytestmark = pytest.mark.docker
