"""A loaded document assembled into live parts: operations, adapters, the process-wide safeguards, the apps
each listener serves, and their hot reload.
"""
