"""The service catalog: items, document requirements, situations, units data, search and bundles."""
