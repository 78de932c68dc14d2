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


class PersonalDataError(KioskError, ValueError):
    """An event carried personal data in a form the journal must never store (e.g. a clear ID number)."""
