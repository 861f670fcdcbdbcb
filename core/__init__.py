"""The one shared package, below every feature package: the base application factory, configuration,
database base, extensions, errors, security headers, logging, masking, the audit trail, file storage,
the one clock (:mod:`core.clock`) and the working-day calendar (:mod:`core.workdays`). It imports no
feature package; :mod:`portal` wires them."""
