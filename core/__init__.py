"""The one shared package: application factory, configuration, database base, extensions, errors,
security headers, logging, masking and the audit trail. It imports no feature package except inside
:func:`core.factory.create_app`."""
