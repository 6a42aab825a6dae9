"""The one exception type the CLI turns into a clear one-line message."""


class RomcamError(Exception):
    """A problem the user can act on: the message says what is wrong and what to do.

    The CLI prints ``romcam: error: <message>`` and exits with ``exit_code``; no traceback.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
