"""Liveness and readiness probes for orchestrators."""
