"""The REST facade: the document's routes, and capgate's own beside them (OpenAPI, docs page, probes)."""
