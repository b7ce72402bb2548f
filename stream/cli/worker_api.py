"""Asking the running worker's HTTP API from the CLI (embedded mode, where the worker owns
the chDB data path), with the API token when one is configured."""

import json
import urllib.error
import urllib.request
from typing import Any

from stream.cli.errors import CliError
from stream.config import Settings


def ask_worker(
    settings: Settings, path: str, what: str, body: dict[str, Any] | None = None, timeout: float = 130.0
) -> dict[str, Any] | None:
    """The worker's JSON answer, or None when no worker listens. An error answer becomes
    a CliError saying ``{what} failed: <message>``."""
    headers = {"Content-Type": "application/json"}
    if settings.api_token:
        headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{settings.worker_url}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", str(exc))
        except ValueError:
            message = str(exc)
        hint = "set COSTREAM_API_TOKEN to a token the worker accepts" if exc.code in (401, 403) else None
        raise CliError(f"{what} failed: {message}", hint) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
