"""A citizen's rights over their own data (PIPL §44–47): 我的数据 — what the bureau holds about them,
a download of all of it, and deleting the account (personal data erased or anonymised, applications
kept as anonymised records so the statistics and the audit trail stay whole)."""


def init_rights(app) -> None:
    from applications.rights.views import bp

    app.register_blueprint(bp)
