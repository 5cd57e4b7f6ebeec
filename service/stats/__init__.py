"""Activity figures for the console: what happened per minute, and how to read it."""
