"""The one error canonicalisation raises: it names the offending field."""


class UsageError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
