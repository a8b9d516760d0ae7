"""Domain errors raised by codedata; the CLI and Slack handlers turn them into one-line messages."""


class MedcodeError(Exception):
    """Base class: the message is a single line safe to show to a user."""


class BadInput(MedcodeError):
    """What the user typed cannot be read as a code or a query."""


class BadReleaseFile(MedcodeError):
    """A release file is not in a format an importer accepts (nothing was changed)."""


class UnknownSystem(MedcodeError):
    """The code system name is not one medcode knows."""
