"""Where the office keeps its files, from ``office.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.config.office import OfficeConfig


@dataclass(frozen=True)
class OfficePaths:
    """The office's database, registry, keys and provisioning folder."""

    data_dir: Path
    store: Path
    registry: Path
    keys_dir: Path

    @classmethod
    def of(cls, config: OfficeConfig) -> OfficePaths:
        """Paths for a loaded office config."""
        data = Path(config.office.data_dir)
        return cls(data, data / "office.db", data / "registry.db", Path(config.office.keys_dir))
