"""Logging with secret redaction, and metrics."""
