"""Desk errors; each message says what is wrong in one human sentence."""

from __future__ import annotations


class DeskError(Exception):
    """Base class of every desk error; ``code`` is a machine-readable slug for HTTP bodies."""

    code = "desk_error"


class NotFound(DeskError):
    """The handoff or agent does not exist."""

    code = "not_found"


class Conflict(DeskError):
    """The request lost a race or contradicts the current state (another agent won, capacity full)."""

    code = "conflict"


class Busy(Conflict):
    """The desk's shared state changed under the operation on every attempt: nothing was done, try again."""

    code = "desk_busy"


class IllegalTransition(DeskError):
    """The lifecycle does not allow moving from the current status to the requested one."""

    code = "illegal_transition"


class ConfigError(DeskError):
    """The desk configuration (YAML) is invalid."""

    code = "config_error"


class InvalidRequest(DeskError):
    """The call's arguments are inconsistent (e.g. a transfer with no target)."""

    code = "invalid_request"
