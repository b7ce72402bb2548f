"""Errors the CLI shows as one or two plain lines, never as a traceback."""


class CliError(Exception):
    """A user-facing failure: what was wrong, and how to fix it."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
