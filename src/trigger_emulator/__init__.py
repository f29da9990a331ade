"""A faithful emulator of the Trigger.dev runs API."""
