"""Shared test support: real servers on loopback, no mocks."""
