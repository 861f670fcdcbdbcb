"""The auditor's viewer (三权分立: the auditor reads the audit trail and can change nothing): the
filtered list, one event's detail and the CSV export. The trail itself — the append-only table and
:func:`core.audit.record` — is shared infrastructure in :mod:`core.audit`."""
