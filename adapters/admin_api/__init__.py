"""A client of QuantShift's own admin API at its public URL, for the go-live gate's Platform items."""

from adapters.admin_api.client import AdminApiClient

__all__ = ["AdminApiClient"]
