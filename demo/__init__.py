"""Demo data, kept out of the domain: ``flask demo load`` (catalog, accounts, routing rules) and
``flask demo simulate`` (a history of applications through the real operations). Nothing in
``core``, ``auth``, ``catalog`` or ``applications`` imports this package."""


def init_app(app) -> None:
    """Register the ``flask demo`` commands."""
    from demo import bundles, cli, simulate  # noqa: F401 - importing registers the commands
