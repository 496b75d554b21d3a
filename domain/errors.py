"""One exception hierarchy, classified by what the caller must do.

- TransientError: try again later (the venue or the store may come back).
- RejectedError: record it and report it; retrying the same thing will not help.
- ConfigurationError: refuse to start; a person has to fix the input.
"""

from __future__ import annotations


class QuantShiftError(Exception):
    """Root of every error QuantShift raises on purpose."""


class TransientError(QuantShiftError):
    """A temporary failure: the caller may retry (with the same client_order_id)."""


class StoreUnavailable(TransientError):
    """The store cannot be reached; fail closed (no order leaves)."""


class VenueUnavailable(TransientError):
    """The venue did not answer or answered with a server error."""


class RejectedError(QuantShiftError):
    """The request is refused as it stands; record and report it."""


class OrderRejected(RejectedError):
    """The venue or the engine refused an order."""


class InvalidMarketData(RejectedError):
    """A bar or quote failed the data sanity gate (NaN, <= 0, out of order, ...)."""


class IllegalTransition(RejectedError):
    """An order status change that the transition table does not allow."""


class ConfigurationError(QuantShiftError):
    """Bad configuration or arguments: refuse to start, name the key."""


class InputFileError(ConfigurationError):
    """A malformed input file; the message names the file and line."""


class AuthenticationError(QuantShiftError):
    """A credential (password, session token, invitation link) is not accepted.

    The message is a short reason for the log ("expired", "bad signature", ...) and never
    contains the credential; what a person is shown stays generic ("sign-in failed")."""


class MailUnavailable(TransientError):
    """The mail server cannot take the message now (refused, timed out, SMTP 4xx)."""


class MailRejected(RejectedError):
    """The mail server refused the message for good (SMTP 5xx, e.g. an unknown recipient)."""


class OutputFileError(QuantShiftError):
    """A file a command was asked to write could not be written (what was computed is shown first)."""


class StoreNotFound(ConfigurationError):
    """A command that only reads was pointed at a store that does not exist (a mistyped path):
    it is named, never created."""
