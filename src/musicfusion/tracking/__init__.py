"""Tracking: the MLflow store, logging each result once, the run loggers, and provenance."""
