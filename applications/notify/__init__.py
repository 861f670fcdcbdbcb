"""Notifications: the outbox a change writes in its own transaction, the SMS gateways and their
delivery (``outbox``), and the worker that drains it (``tasks``)."""
