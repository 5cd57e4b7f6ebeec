"""The console: the operator's web UI at /console, server-rendered."""
