"""Errors a caller can fix (bad request, missing checkpoint, prompt too long, NaN loss): never retried."""


class InvalidRequest(ValueError):
    """The request cannot succeed however often it is retried."""


class NonFiniteLoss(InvalidRequest):
    """Loss or gradient became NaN/Inf; no checkpoint was written, the last good one stays."""
