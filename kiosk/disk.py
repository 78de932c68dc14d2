"""How much free disk the gate needs: one threshold for ``kiosk doctor``, the status bar and the disk timer.

The journal appends every passage durably; when the card fills up, appends
fail and the gate can no longer record anyone. Below :data:`DISK_LOW_BYTES`
the gate raises its disk fault (the page says "disk nearly full: call the
office") and ``kiosk doctor`` fails its data-folder check; below
:data:`DISK_WARN_BYTES` the doctor only warns, at setup time, while there is
still room to act.
"""

from __future__ import annotations

DISK_LOW_BYTES = 200 * 1024**2
"""Below this much free space the journal may fail to append: a fault on the gate, a failure in the doctor."""

DISK_WARN_BYTES = 1024**3
"""Below this ``kiosk doctor`` warns: the gate still works, but the room is running out."""


def disk_low(free_bytes: int) -> bool:
    """True when ``free_bytes`` is below the gate's one low-disk threshold."""
    return free_bytes < DISK_LOW_BYTES
