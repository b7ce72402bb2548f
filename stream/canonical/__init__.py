"""Provider usage shapes -> one canonical token convention (see schemas.usage)."""

from stream.canonical.errors import UsageError
from stream.canonical.extract import extract_usage
from stream.canonical.providers import KNOWN_PROVIDERS, canonical_provider
from stream.canonical.result import ExtractedUsage

__all__ = ["KNOWN_PROVIDERS", "ExtractedUsage", "UsageError", "canonical_provider", "extract_usage"]
