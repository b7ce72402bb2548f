import subprocess
import sys


def test_exported_json_schemas_match_the_models() -> None:
    result = subprocess.run([sys.executable, "-m", "schemas.export", "--check"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
