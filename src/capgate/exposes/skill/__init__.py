"""The `skill` adapter: a read-only catalogue of agent skills over the document's other adapters."""
