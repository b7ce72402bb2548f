"""The genai-prices data the book prices from: the package's bundled data, or a newer data
file (genai-prices' ``data.json``, a list of providers) from a path or a URL, so prices
can be refreshed without a release (``COSTREAM_PRICE_DATA_FILE`` / ``_URL``).

A file is validated whole by genai-prices' own models before it is used; a broken one
is refused with the provider, model and field named, and the data in force stays.
"""

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import genai_prices
import httpx2
import orjson
from genai_prices.data_snapshot import DataSnapshot
from pydantic import ValidationError

from stream.ingest.errors import Location, describe_validation_error
from stream.pricing import genai

BUNDLED_DATES = {"0.2.3": date(2026, 11, 10)}
"""When each genai-prices release (and so its bundled data) was uploaded to PyPI; the
audit reports it as the data's date (None for a version not listed here)."""

MAX_DATA_BYTES = 64 * 1024 * 1024


class PriceDataError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PriceData:
    snapshot: DataSnapshot
    version: str
    """genai-prices' version; ``+data.<sha256 prefix>`` for a data file."""
    origin: str
    """``bundled``, or the path or URL the data came from."""
    data_date: date | None

    @classmethod
    def bundled(cls) -> "PriceData":
        return cls.of(genai.current_snapshot())

    @classmethod
    def of(cls, snapshot: DataSnapshot) -> "PriceData":
        when = (snapshot.timestamp.astimezone(UTC).date() if snapshot.from_auto_update
                else BUNDLED_DATES.get(genai_prices.__version__))
        return cls(snapshot, genai.snapshot_version(snapshot), "bundled", when)

    def current(self) -> "PriceData":
        """The same data, or genai-prices' own current snapshot if that is what this is and it changed."""
        if self.origin != "bundled":
            return self
        snapshot = genai.current_snapshot()
        return self if snapshot is self.snapshot else PriceData.of(snapshot)

    @classmethod
    def from_file(cls, path: Path) -> "PriceData":
        try:
            raw = path.read_bytes()
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
        except OSError as exc:
            raise PriceDataError(f"cannot read price data {path}: {exc.strerror or exc}") from None
        return cls.parse(raw, str(path), modified)

    @classmethod
    def from_url(cls, url: str, timeout: float = 20.0) -> "PriceData":
        try:
            response = httpx2.get(url, timeout=timeout, follow_redirects=True)
            response.raise_for_status()
        except httpx2.HTTPError as exc:
            raise PriceDataError(f"cannot fetch price data {url}: {exc}") from None
        modified = datetime.now(UTC).date()
        if header := response.headers.get("last-modified"):
            with contextlib.suppress(TypeError, ValueError):
                modified = parsedate_to_datetime(header).astimezone(UTC).date()
        return cls.parse(response.content, url, modified)

    @classmethod
    def parse(cls, raw: bytes, origin: str, data_date: date) -> "PriceData":
        if len(raw) > MAX_DATA_BYTES:
            raise PriceDataError(f"price data {origin}: larger than {MAX_DATA_BYTES // 1024 // 1024} MB")
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise PriceDataError(f"price data {origin}: not JSON: {exc}") from None
        if not isinstance(document, list) or not document:
            raise PriceDataError(
                f"price data {origin}: expected genai-prices' data.json, a non-empty list of providers"
            )
        # genai-prices (0.2.3) has no public way to validate a data file: its public
        # UpdatePrices.fetch() only fetches its own URL, genai_prices.validation checks price
        # keys, not a document, and DataSnapshot takes providers already built. Its updater
        # builds them with this function (types._providers_from_raw, a pydantic TypeAdapter over
        # the whole list), so a file is validated exactly as a fetched update is. Bounded in
        # pyproject.toml below 0.3; tests/unit/test_pricing_datafile.py fails if it changes.
        from genai_prices.types import _providers_from_raw

        try:
            providers = _providers_from_raw(document)
        except ValidationError as exc:
            raise PriceDataError(f"price data {origin}: {_describe(exc, document)}") from None
        except (TypeError, ValueError, KeyError) as exc:
            raise PriceDataError(f"price data {origin}: {exc}") from None
        digest = hashlib.sha256(raw).hexdigest()[:12]
        snapshot = DataSnapshot(providers=providers, from_auto_update=False)
        return cls(snapshot, f"{genai_prices.__version__}+data.{digest}", origin, data_date)


def _describe(exc: ValidationError, document: list[Any]) -> str:
    """``providers[3] (openai).models[12] (gpt-4o): prices.input_mtok: Input should be a valid decimal``

    genai-prices validates some parts (the prices) apart from the list, so a location does
    not always say which provider and model; the first failing one is found by validating
    them one by one (on this error path only)."""
    from genai_prices.types import _providers_from_raw

    for index, provider in enumerate(document):
        label = f"providers[{index}]" + (f" ({provider['id']})" if isinstance(provider, dict) and "id" in provider
                                         else "")
        try:
            _providers_from_raw([provider])
            continue
        except ValidationError as error:
            exc = error
        except (TypeError, ValueError, KeyError) as error:
            return f"{label}: {error}"
        models = provider.get("models") if isinstance(provider, dict) else None
        for number, model in enumerate(models if isinstance(models, list) else []):
            try:
                _providers_from_raw([{**provider, "models": [model]}])
            except ValidationError as error:
                named = f" ({model['id']})" if isinstance(model, dict) and "id" in model else ""
                return f"{label}.models[{number}]{named}: {_locations(error, model)}"
            except (TypeError, ValueError, KeyError) as error:
                return f"{label}.models[{number}]: {error}"
        return f"{label}: {_locations(exc, provider)}"
    return describe_validation_error(exc)


def _locations(exc: ValidationError, part: Any) -> str:
    """Locations as genai-prices reports them, with ``prices.`` before a price key it
    validated on its own (``input_mtok.decimal`` -> ``prices.input_mtok``)."""
    prices = part.get("prices") if isinstance(part, dict) else None
    price_keys = set(prices) if isinstance(prices, dict) else set()

    def name(location: Location) -> str:
        if location and location[0] in price_keys:
            return f"prices.{location[0]}"
        parts = [str(p) for p in location if not (isinstance(p, int) and p == 0 and location[0] == 0)]
        return ".".join(parts) or "entry"

    return describe_validation_error(exc, name=name)


def configured_data(file: Path | None, url: str | None) -> PriceData | None:
    """The data file or URL configured (``COSTREAM_PRICE_DATA_FILE`` / ``_URL``, the file
    first); None for the bundled data. Raises PriceDataError for a broken one."""
    if file is not None:
        return PriceData.from_file(file)
    if url is not None:
        return PriceData.from_url(url)
    return None
