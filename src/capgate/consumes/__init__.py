"""The consumed side: one compiled object per consumed operation, the pooled upstream client, retries, the
circuit breaker and the request budget. Generic: what an API needs is declared in its document.
"""
