"""Submission: the citizen's side of an application — starting a draft, the item's form, documents
given to requirements (upload or from 我的材料), 亲友代办, submit with its reference number, withdraw,
answering a correction, and the citizen's pages (``views``)."""
