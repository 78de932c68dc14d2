"""USB keyboard-wedge QR scanners (common at checkpoints) read through evdev.

Such a scanner "types" the code as key presses followed by Enter. The gate
grabs the device so the keystrokes never reach the browser, turns key events
(with Shift, US layout) back into text, and hands each code on. ``KeyDecoder``
is the pure part; ``KeyboardScanner`` is the worker thread around a device.
evdev is imported only when a real device is opened (on a Raspberry Pi:
``sudo apt install python3-evdev``).
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kiosk.exc import KioskError
from kiosk.workers import Backoff, Worker
from sensors.scanning import Scan

log = logging.getLogger(__name__)

EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_HOLD = 0, 1, 2
# Linux input-event-codes.h: a stable kernel ABI, so no evdev needed to decode.
KEY_ENTER, KEY_KPENTER = 28, 96
SHIFTS = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
KEY_CAPSLOCK = 58

_ROWS = {
    2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(", 11: "0)",
    12: "-_", 13: "=+", 26: "[{", 27: "]}", 39: ";:", 40: "'\"", 41: "`~", 43: "\\|",
    51: ",<", 52: ".>", 53: "/?", 57: "  ",
    55: "**", 74: "--", 78: "++", 83: "..", 98: "//",  # keypad
    71: "77", 72: "88", 73: "99", 75: "44", 76: "55", 77: "66", 79: "11", 80: "22", 81: "33", 82: "00",
}
_LETTERS = dict(zip(
    [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 30, 31, 32, 33, 34, 35, 36, 37, 38, 44, 45, 46, 47, 48, 49, 50],
    "qwertyuiopasdfghjklzxcvbnm",
    strict=True,  # one key code per letter: a typo in either list fails at import, not at a gate
))


class ScannerError(KioskError, OSError):
    """The USB scanner could not be opened or grabbed; the message says the fix."""


class KeyDecoder:
    """Turns a scanner's key events into codes: feed events, get a text back on Enter.

    A code whose keys stop for longer than ``gap_s`` before Enter is dropped:
    a scanner types a whole code in milliseconds, so a stall means a lost
    Enter or someone pressing keys, not a card.
    """

    def __init__(self, gap_s: float = 0.5, clock: Callable[[], float] = time.monotonic):
        self.gap_s = gap_s
        self._clock = clock
        self._chars: list[str] = []
        self._shift: set[int] = set()
        self._caps = False
        self._last = 0.0

    def feed(self, type_: int, code: int, value: int) -> str | None:
        """One input event; returns the finished code when this event was its Enter."""
        if type_ != EV_KEY:
            return None
        if code in SHIFTS:
            (self._shift.add if value != KEY_UP else self._shift.discard)(code)
            return None
        if value != KEY_DOWN:  # key releases and auto-repeat carry no characters
            return None
        now = self._clock()
        if self._chars and now - self._last > self.gap_s:
            self._chars.clear()
        self._last = now
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            text, self._chars = "".join(self._chars), []
            return text or None
        shifted = bool(self._shift)
        if code in _LETTERS:
            letter = _LETTERS[code]
            self._chars.append(letter.upper() if shifted != self._caps else letter)
        elif code in _ROWS:
            self._chars.append(_ROWS[code][1 if shifted else 0])
        return None


def open_evdev(path: str) -> Any:
    """Open a real input device with python-evdev."""
    try:
        import evdev
    except ImportError as exc:
        raise ScannerError("python-evdev is missing: on a Raspberry Pi `sudo apt install python3-evdev` "
                           "(venv with --system-site-packages), elsewhere `pip install evdev`") from exc
    try:
        return evdev.InputDevice(path)
    except FileNotFoundError as exc:
        raise ScannerError(f"{path}: no such device; list scanners with: ls -l /dev/input/by-id/") from exc
    except PermissionError as exc:
        raise ScannerError(f"{path}: permission denied; add the gate's user to the input group "
                           "(sudo adduser $USER input) and log in again") from exc


class KeyboardScanner(Worker):
    """A worker thread that grabs a keyboard-wedge scanner and reports each code it types.

    ``open_device(path)`` returns an evdev-like device (``grab``, ``ungrab``,
    ``read_loop``, ``close``). When the device disappears (unplugged), the
    status says so and the thread reopens it at once, then with backoff
    (0.1 s doubling up to ``max_backoff_s``) until it returns.

    ``state`` is ``idle``, ``reading``, ``error`` (``error`` says why) or
    ``stopped``; ``on_status(state, error)`` hears each change. ``on_scan`` and
    ``on_status`` run in the scanner thread; one that raises is logged, never
    fatal. ``start()``, ``close()`` (or ``stop()``) and the context manager
    come from :class:`~kiosk.workers.Worker`.
    """

    def __init__(
        self,
        path: str,
        on_scan: Callable[[Scan], None],
        *,
        open_device: Callable[[str], Any] = open_evdev,
        on_status: Callable[[str, str | None], None] | None = None,
        gap_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        max_backoff_s: float = 5.0,
    ):
        super().__init__("usb-scanner", on_fault=lambda worker, exc: self._set("error", str(exc)),
                         backoff=Backoff(min(0.1, max_backoff_s), max_backoff_s, jitter=False))
        self.path = path
        self.on_scan = on_scan
        self.on_status = on_status
        self._open = open_device
        self._decoder = KeyDecoder(gap_s, clock)
        self._clock = clock
        self._device: Any = None
        self._device_lock = threading.Lock()
        self.state = "idle"
        self.error: str | None = None

    def _set(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        if self.on_status:
            try:
                self.on_status(state, error)
            except Exception:  # a broken listener must not unplug the scanner
                log.exception("usb scanner: status callback failed")

    def step(self) -> float | None:
        """Open and grab the device, read codes until it goes away; 0 to reopen at once, None once stopping.

        A device that cannot be opened or grabbed raises: the worker reports it
        (state ``error``) and tries again after its backoff.
        """
        device = self._open(self.path)
        try:
            device.grab()  # keystrokes go to us only, never to the browser
        except BaseException:
            _quietly(device.close)
            raise
        with self._device_lock:
            # Checked under the lock stop() takes to release the device: a stop between the
            # open and here would otherwise leave read_loop blocked on a device nobody closes.
            if self.stopping.is_set():
                _quietly(device.ungrab)
                _quietly(device.close)
                return None
            self._device = device
        self._set("reading")
        try:
            self._read(device.read_loop())
        except OSError as exc:
            if not self.stopping.is_set():
                gone = exc.errno in (errno.ENODEV, errno.EIO, errno.ENXIO)
                self._set("error", f"{self.path}: {'unplugged' if gone else exc}")
        finally:
            self._release()
        return None if self.stopping.is_set() else 0

    def _read(self, events: Iterable[Any]) -> None:
        for event in events:
            if self.stopping.is_set():
                return
            text = self._decoder.feed(event.type, event.code, event.value)
            if text is not None:
                try:
                    self.on_scan(Scan(text, self._clock(), 0.0))
                except Exception:  # the next card must still be read
                    log.exception("usb scanner: on_scan callback failed")

    def _release(self) -> None:
        with self._device_lock:
            device, self._device = self._device, None
        if device is None:
            return
        # An unplugged device cannot be ungrabbed: nothing is left to release
        _quietly(device.ungrab)
        _quietly(device.close)

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Stop the thread, ungrab and close the device. Idempotent; ``close()`` does the same."""
        self.stopping.set()
        self._release()  # closing the device ends a blocking read_loop
        stopped = super().stop(timeout)
        if self._thread is not None and self.state != "stopped":
            self._set("stopped")
        return stopped


def _quietly(release: Callable[[], object]) -> None:
    try:
        release()
    except OSError:
        pass
