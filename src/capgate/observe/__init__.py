"""What capgate tells its operator: logs, metrics, traces, the audit log, and the record of each call.

Below the upstream client and the adapters, which report into it through the `CallRecord` they fill and
the observers they are handed; it never imports them.
"""
