import subprocess
import sys
from pathlib import Path

import pytest

from stream.config import SettingsError, load_settings, parse_duration


def test_defaults_point_at_the_embedded_stack(tmp_path: object) -> None:
    settings = load_settings()
    assert settings.embedded_broker
    assert settings.clickhouse_dsn.startswith("chdb:///")
    assert settings.clickhouse_dsn.endswith("/var/clickhouse")
    assert settings.window_size == 60


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), (60, 60)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"window_size": "7m"}, "COSTREAM_WINDOW_SIZE"),
        ({"window_size": "soon"}, "COSTREAM_WINDOW_SIZE"),
        ({"kafka_bootstrap_servers": "kafka"}, "COSTREAM_KAFKA_BOOTSTRAP_SERVERS"),
        ({"clickhouse_url": "mysql://db"}, "COSTREAM_CLICKHOUSE_URL"),
        ({"kafka_security_protocol": "SASL_SSL"}, "COSTREAM_KAFKA_SASL_MECHANISM"),
        ({"http_port": 70000}, "COSTREAM_HTTP_PORT"),
    ],
)
def test_invalid_settings_name_the_setting(overrides: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    message = str(caught.value)
    assert message.startswith(f"invalid setting {named}:")
    assert "\n" not in message


def test_the_cli_reports_an_invalid_setting_in_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "migrate"],
        env={"COSTREAM_WINDOW_SIZE": "banana", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "invalid setting COSTREAM_WINDOW_SIZE" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_sasl_secrets_are_not_printed() -> None:
    settings = load_settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc", kafka_sasl_password="hunter2",
    )
    assert "hunter2" not in repr(settings)
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "hunter2"


def test_the_worker_refuses_a_broken_overrides_file_in_one_line(tmp_path: object) -> None:
    from pathlib import Path

    broken = Path(str(tmp_path)) / "prices.yaml"
    broken.write_text("overrides: [{model: x}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "worker"],
        env={"PATH": "/usr/bin:/bin", "COSTREAM_PRICE_OVERRIDES_FILE": str(broken),
             "COSTREAM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "COSTREAM_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "effective_from" in result.stderr and "overrides.0" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout



def test_secrets_come_from_files_named_like_their_variables_and_are_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "COSTREAM_CLICKHOUSE_PASSWORD").write_text("s3cret-from-file")
    (tmp_path / "COSTREAM_KAFKA_SASL_PASSWORD").write_text("kafka-s3cret")
    monkeypatch.setenv("COSTREAM_SECRETS_DIR", str(tmp_path))
    settings = load_settings(
        clickhouse_url="https://ch.example:8443/costream", clickhouse_username="costream",
        kafka_bootstrap_servers="k:9092", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="costream",
    )
    assert settings.clickhouse_password is not None and settings.kafka_sasl_password is not None
    assert settings.clickhouse_password.get_secret_value() == "s3cret-from-file"
    assert settings.kafka_sasl_password.get_secret_value() == "kafka-s3cret"
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "s3cret" not in shown


def test_the_environment_wins_over_a_secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "COSTREAM_CLICKHOUSE_PASSWORD").write_text("from-file")
    monkeypatch.setenv("COSTREAM_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("COSTREAM_CLICKHOUSE_PASSWORD", "from-env")
    password = load_settings().clickhouse_password
    assert password is not None and password.get_secret_value() == "from-env"


def test_an_unreachable_clickhouse_error_does_not_print_the_password() -> None:
    from stream.store.client import Credentials, StoreUnavailable, connect

    with pytest.raises(StoreUnavailable) as caught:
        connect("http://127.0.0.1:1/db", credentials=Credentials("costream", "hunter2-secret"))
    assert "hunter2" not in str(caught.value) and "127.0.0.1:1" in str(caught.value)
