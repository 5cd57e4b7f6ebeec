"""Listeners: the webhook URLs and Kafka topics a queue delivers to."""
