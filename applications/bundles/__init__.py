"""一件事 end to end: one application with one set of answers and documents for several police items
and other departments' steps (DESIGN §3).

- ``models`` — the bundle application, its shared documents and its parts (one per step);
- ``operations`` — the form, check-your-answers and the submit that fans out into one application per
  police item and one hand-off per department step, in one transaction;
- ``handoffs`` — the outgoing exchange messages (through :mod:`core.outbox`), the HTTP gateway and the
  departments' signed callback; ``contracts`` documents the JSON each department receives;
- ``progress`` — dependencies: a step starts when the steps it needs are done; a bundle is complete
  when every part is.
"""
