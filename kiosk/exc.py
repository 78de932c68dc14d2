"""The project's exceptions: one root, and subclasses that also inherit the matching builtin."""


class KioskError(Exception):
    """Base of every error the kiosk raises on purpose."""


class ConfigError(KioskError, ValueError):
    """A configuration file is missing, unreadable or has invalid settings.

    ``problems`` holds one line per problem, already formatted as
    ``file: key.path: expected …, got …``.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class KeyFileError(KioskError, OSError):
    """A signing key or keyset file is missing, unreadable, malformed or would be overwritten."""


class CardFormatError(KioskError, ValueError):
    """Card contents cannot be encoded (a field out of range)."""


class RegistryError(KioskError):
    """The registry replica refused a change (wrong version, bad row)."""


class RegistryVersionError(RegistryError, ValueError):
    """A registry change set does not start at the replica's current version."""


class JournalError(KioskError):
    """The journal could not store an event."""


class JournalClosedError(JournalError, RuntimeError):
    """An append was attempted on a closed journal."""


class Refusal(KioskError, ValueError):
    """A request refused on purpose, for a person to read: a stable ``code``, the ``fields`` its words need, English for logs.

    The words a person sees live in the web app's catalog under the code
    (the gate's: web/gate/errors.py), never here. ``str()`` is the English
    message (or the code and fields), for the log. ``Refusal("plain English")``
    (one argument with a space, no code) still works: code ``refused``.
    """

    def __init__(self, code: str, message: str = "", **fields):
        if not message and " " in code:
            code, message = "refused", code
        super().__init__(message or " ".join([code, *(f"{k}={v!r}" for k, v in fields.items())]))
        self.code = code
        self.fields = fields


class PersonalDataError(Refusal):
    """An event carried personal data in a form the journal must never store (e.g. a clear ID number)."""
