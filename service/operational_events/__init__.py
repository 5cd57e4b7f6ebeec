"""Operational events: Herald telling an organization what broke, in its events queue."""
