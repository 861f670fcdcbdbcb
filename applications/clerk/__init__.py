"""The clerk's side: claims and decisions — 受理, 补正, 不予受理, 办结, 转办, visits, walk-ins
(``operations``), the queue queries (``queues``), their forms and pages (``views``, with the routing
rules editor)."""
