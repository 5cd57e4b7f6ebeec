"""Real PostgreSQL, Valkey and Tansu (Kafka) servers from PyPI wheels, for dev and tests.

Each server runs as a child process on a free loopback port and dies with its parent.
"""
