"""Documents: checking and re-encoding uploads by their content (``uploads``) and sweeping files no
application or wallet row refers to any more (``sweep``)."""
