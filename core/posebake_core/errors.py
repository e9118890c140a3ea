"""User-facing errors.

Anything raised as `PoseBakeError` is a problem with the user's input or environment (a missing file, a
bad checksum, an unreadable video). The CLI prints its message without a traceback and exits non-zero;
every other exception is a bug and keeps its traceback.
"""


class PoseBakeError(Exception):
    """An error whose message is meant for the user, not a bug."""


class MotionError(PoseBakeError, ValueError):
    """A Motion file or object that breaks the contract; the message names the file and the field."""
