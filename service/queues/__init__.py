"""Queues: create, read, rename, delete."""
