"""Deliveries: the API over them (list, attempts, retry, replay) and waking the workers."""
