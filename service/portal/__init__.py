"""The tenant portal: an end customer's page for one queue's listeners, opened by a link."""
