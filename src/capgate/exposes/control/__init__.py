"""The `control` adapter: the capability's own management plane (health, status, metrics)."""
