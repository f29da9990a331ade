"""Parse and check capability documents into one typed model, with every problem located as file:line.

The package imports nothing itself: `capgate.document.load` has the loader, `capgate.document.bundled` the
documents that ship with capgate.
"""
