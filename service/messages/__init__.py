"""Ingesting messages (every body mode), batches and the messages read API."""
