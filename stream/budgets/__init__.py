"""Budgets: definitions, calendar periods, spend, and breaches published once each."""
