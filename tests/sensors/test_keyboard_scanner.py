"""USB keyboard-wedge scanner: key events to exact text, grabbing, unplug and recovery.

/dev/uinput is not available in this sandbox, so the device is a fake with
python-evdev's InputDevice surface (grab, ungrab, read_loop, close); the key
events are the kernel's own codes.
"""

from __future__ import annotations

import errno
import queue
import time
from collections import namedtuple

import pytest

from sensors.keyboard_scanner import EV_KEY, KeyboardScanner, KeyDecoder, ScannerError, open_evdev

Event = namedtuple("Event", "type code value")
SHIFT = 42
CODES = {c: k for k, c in zip(range(2, 12), "1234567890", strict=True)}
LETTERS = dict(zip("qwertyuiopasdfghjklzxcvbnm",
                   [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 30, 31, 32, 33, 34, 35, 36, 37, 38, 44, 45, 46, 47, 48, 49, 50],
                   strict=True))
PUNCT = {":": (39, True), "/": (53, False), ".": (52, False), "-": (12, False), "+": (13, True), " ": (57, False),
         "$": (5, True), "%": (6, True), "*": (9, True)}


def typed(text, enter=True):
    """The events a US-layout scanner sends for ``text``."""
    events = []
    for ch in text:
        if ch.isdigit():
            code, shift = "1234567890".index(ch) + 2, False
        elif ch.isalpha():
            code, shift = LETTERS[ch.lower()], ch.isupper()
        else:
            code, shift = PUNCT[ch]
        if shift:
            events.append(Event(EV_KEY, SHIFT, 1))
        events += [Event(EV_KEY, code, 1), Event(EV_KEY, code, 0)]
        if shift:
            events.append(Event(EV_KEY, SHIFT, 0))
        events.append(Event(0, 0, 0))  # SYN_REPORT between keys
    if enter:
        events += [Event(EV_KEY, 28, 1), Event(EV_KEY, 28, 0)]
    return events


def decode_all(events, decoder=None):
    decoder = decoder or KeyDecoder()
    return [t for e in events if (t := decoder.feed(*e)) is not None]


def test_card_text_round_trips_exactly():
    card = "GK1:74236N300NKT000+50  RK69EWHTC6W05G C-%VB5LRFS%1U3GB636RKDZN9YIPX2G6L60ZKJPGVSH%IHJL8KWNPUCO$K%ZQZ*.PBXJ4Q7/NJ"
    assert decode_all(typed(card)) == [card]


def test_lowercase_and_urls():
    assert decode_all(typed("https://example.com/a-b")) == ["https://example.com/a-b"]


def test_enter_ends_each_code_and_empty_lines_are_ignored():
    events = typed("ABC") + [Event(EV_KEY, 28, 1)] + typed("12")
    assert decode_all(events) == ["ABC", "12"]


def test_caps_lock_and_key_repeat():
    events = [Event(EV_KEY, 58, 1), Event(EV_KEY, 30, 1), Event(EV_KEY, 30, 2), Event(EV_KEY, 30, 0), Event(EV_KEY, 28, 1)]
    assert decode_all(events) == ["A"]


def test_a_stalled_partial_code_is_discarded():
    now = [0.0]
    decoder = KeyDecoder(gap_s=0.5, clock=lambda: now[0])
    assert decode_all(typed("GARBAGE", enter=False), decoder) == []
    now[0] = 5.0
    assert decode_all(typed("GK1:OK"), decoder) == ["GK1:OK"]


class FakeInputDevice:
    """Behaves like evdev.InputDevice: read_loop blocks, close ends it, unplug raises ENODEV."""

    def __init__(self):
        self.events = queue.Queue()
        self.grabbed = False
        self.closed = False
        self.grabs = 0

    def grab(self):
        self.grabbed = True
        self.grabs += 1

    def ungrab(self):
        if self.closed:
            raise OSError(errno.EBADF, "closed")
        self.grabbed = False

    def close(self):
        self.closed = True
        self.events.put(None)

    def unplug(self):
        self.events.put(OSError(errno.ENODEV, "No such device"))

    def read_loop(self):
        while True:
            item = self.events.get()
            if item is None or self.closed:
                raise OSError(errno.EBADF, "Bad file descriptor")
            if isinstance(item, Exception):
                raise item
            yield item

    def type(self, text):
        for event in typed(text):
            self.events.put(event)


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_scanner_thread_grabs_and_reports():
    device = FakeInputDevice()
    scans = []
    with KeyboardScanner("/dev/input/fake", scans.append, open_device=lambda p: device) as scanner:
        assert wait_for(lambda: scanner.state == "reading")
        assert device.grabbed
        device.type("GK1:ONE")
        device.type("GK1:TWO")
        assert wait_for(lambda: [s.text for s in scans] == ["GK1:ONE", "GK1:TWO"])
    assert device.closed and scanner.state == "stopped"


def test_unplug_is_reported_and_the_scanner_recovers():
    devices = [FakeInputDevice(), None, FakeInputDevice()]
    statuses, scans = [], []

    def open_device(path):
        device = devices.pop(0) if devices else None
        if device is None:
            raise ScannerError(f"{path}: no such device")
        return device

    first, second = devices[0], devices[2]
    scanner = KeyboardScanner("/dev/input/fake", scans.append, open_device=open_device,
                              on_status=lambda s, e: statuses.append((s, e)), max_backoff_s=0.05)
    with scanner:
        assert wait_for(lambda: scanner.state == "reading")
        first.unplug()
        assert wait_for(lambda: ("error", "/dev/input/fake: unplugged") in statuses)
        assert wait_for(lambda: scanner.state == "reading" and second.grabbed)
        second.type("GK1:BACK")
        assert wait_for(lambda: [s.text for s in scans] == ["GK1:BACK"])
    assert any(s == "error" and "no such device" in e for s, e in statuses)


def test_close_is_idempotent():
    device = FakeInputDevice()
    scanner = KeyboardScanner("/dev/input/fake", lambda s: None, open_device=lambda p: device).start()
    assert wait_for(lambda: scanner.state == "reading")
    scanner.close()
    scanner.close()
    assert device.closed


def test_a_failing_callback_does_not_stop_reading(caplog):
    device = FakeInputDevice()
    scans = []

    def on_scan(scan):
        scans.append(scan.text)
        if len(scans) == 1:
            raise RuntimeError("the page is gone")

    with KeyboardScanner("/dev/input/fake", on_scan, open_device=lambda p: device) as scanner:
        assert wait_for(lambda: scanner.state == "reading")
        device.type("GK1:ONE")
        device.type("GK1:TWO")
        assert wait_for(lambda: scans == ["GK1:ONE", "GK1:TWO"])
        assert scanner.state == "reading" and device.grabs == 1  # still the same grab: nothing was reopened
    assert "on_scan callback failed" in caplog.text


def test_a_device_that_cannot_be_grabbed_is_closed_and_retried():
    class Busy(FakeInputDevice):
        def grab(self):
            raise OSError(errno.EBUSY, "Device or resource busy")

    busy, good = Busy(), FakeInputDevice()
    devices = [busy, good]
    statuses = []
    scanner = KeyboardScanner("/dev/input/fake", lambda s: None, open_device=lambda p: devices.pop(0),
                              on_status=lambda s, e: statuses.append((s, e)), max_backoff_s=0.01)
    with scanner:
        assert wait_for(lambda: scanner.state == "reading" and good.grabbed)
    assert busy.closed  # the device another program holds is not left open
    assert statuses[0][0] == "error" and "busy" in statuses[0][1]
    assert statuses[-1] == ("stopped", None)


def test_real_open_of_a_missing_device_says_the_fix(tmp_path):
    with pytest.raises(ScannerError, match="by-id"):
        open_evdev(str(tmp_path / "no-such-event-device"))
