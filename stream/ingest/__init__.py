"""Raw topic -> validated events -> canonical tokens and cost -> priced events and dead letters."""
