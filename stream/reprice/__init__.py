"""Re-pricing stored events with the catalog now in force (``costream reprice``)."""

from stream.reprice.run import GroupDiff, RepriceReport, RepriceRequest, reprice_events

__all__ = ["GroupDiff", "RepriceReport", "RepriceRequest", "reprice_events"]
