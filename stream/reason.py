"""An exception as the one line a user or an operator reads."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-blank line of the exception's message (at most ``limit`` characters),
    or the exception's type when its message is empty: ``str(exc)`` may be ``""``."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(exc).__name__
