"""Routing: which listeners of a queue want a message, judged once at ingest (and at replay)."""
