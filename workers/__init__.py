"""arq worker processes: delivery drains, the sweeper, liveness probes."""
