"""Parse and check capability documents into typed models."""

from capgate.document.load import DEFAULT_DOCUMENT, LoadedDocument, bundled_documents, load_document, parse_document

__all__ = ["DEFAULT_DOCUMENT", "LoadedDocument", "bundled_documents", "load_document", "parse_document"]
