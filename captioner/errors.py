"""The base for failures a user can act on: their message is shown as is, never a traceback."""


class UserFacingError(Exception):
    """A failure whose message says what went wrong and what to do."""
