"""The bottom layer: the exception tree, redaction of secrets, serving bounds, HTTP facts and shared types.

Imports nothing of capgate; every other layer may import it.
"""
