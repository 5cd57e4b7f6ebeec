"""Batches: one per ingest request, with downloads of its accepted and rejected items."""
