"""costream: LLM usage events in, exact cost, windows and budgets out."""

__version__ = "0.1.0"
