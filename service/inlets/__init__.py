"""Inlets: token URLs through which third parties post webhooks into a queue."""
