"""Applications: submission, uploads, wallet, workflow, routing, deadlines, queues, visits, ratings."""
