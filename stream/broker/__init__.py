"""Kafka plumbing: the embedded broker, client settings and topic administration."""
