"""Herald: a self-hosted webhook queue-and-listener delivery service."""

__version__ = "0.1.0"
