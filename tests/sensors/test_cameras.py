"""Frame sources: the replay camera over files, folders and arrays (loop, pacing, watch, scripting, faults),
USB cameras through OpenCV's real code path on a video file, and the Pi camera's import-or-fail rule."""

from __future__ import annotations

import os
import sys
import threading
import time
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from kiosk.config.hardware import CameraSettings
from kiosk.exc import KioskError
from sensors.cameras import (
    PICAMERA2_HINT,
    CameraError,
    FrameSource,
    ImageFileError,
    PiCameraSource,
    ReplaySource,
    USBCameraSource,
    fit_frame,
    list_images,
    load_gray,
    open_camera,
    qr_array,
)
from sensors.decoders import make_decoder

CARD = "GK1:REPLAY-TEST-0001"


def save(path: Path, gray: np.ndarray, mode: str = "L") -> Path:
    Image.fromarray(gray).convert(mode).save(path)
    return path


def shade(value: int, shape=(48, 64)) -> np.ndarray:
    return np.full(shape, value, dtype=np.uint8)


class FakeClock:
    """A clock that moves only when the source sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


# --- images ---------------------------------------------------------------------------------


def test_load_gray_formats(tmp_path):
    code = qr_array(CARD)
    for name in ("card.png", "card.webp", "card.jpg", "card.bmp"):
        gray = load_gray(save(tmp_path / name, code, "RGB"))
        assert gray.dtype == np.uint8 and gray.shape == code.shape and gray.flags.c_contiguous
        assert make_decoder().decode(gray) == [CARD]


def test_load_gray_puts_transparency_on_white(tmp_path):
    code = qr_array(CARD)
    rgba = np.zeros(code.shape + (4,), dtype=np.uint8)
    rgba[..., 3] = np.where(code == 0, 255, 0)  # black modules, transparent everywhere else
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    gray = load_gray(tmp_path / "transparent.png")
    assert gray[0, 0] == 255
    assert make_decoder().decode(gray) == [CARD]


def test_load_gray_scales_16_bit(tmp_path):
    deep = (qr_array(CARD).astype(np.uint16) * 16)  # 0 … 4080
    Image.fromarray(deep).save(tmp_path / "deep.png")
    gray = load_gray(tmp_path / "deep.png")
    assert gray.max() == 255 and gray.min() == 0


def test_load_gray_errors(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "cut.png").write_bytes((save(tmp_path / "full.png", qr_array(CARD))).read_bytes()[:60])
    with pytest.raises(ImageFileError, match="no such file"):
        load_gray(tmp_path / "missing.png")
    with pytest.raises(ImageFileError, match="not an image"):
        load_gray(tmp_path / "notes.png")
    with pytest.raises(ImageFileError, match="cannot read image"):
        load_gray(tmp_path / "cut.png")
    with pytest.raises(ImageFileError, match="folder"):
        load_gray(tmp_path)
    err = pytest.raises(ImageFileError, load_gray, tmp_path / "missing.png").value
    assert isinstance(err, CameraError) and isinstance(err, KioskError) and isinstance(err, OSError)


def test_fit_frame():
    small = shade(10, (100, 50))
    small[0, :] = 250  # the lightest tenth of the edge decides the border
    frame = fit_frame(small, (640, 480))
    assert frame.shape == (480, 640)
    assert frame[0, 0] == 250 and frame[240, 320] == 10
    big = fit_frame(shade(7, (1000, 3000)), (640, 480))
    assert big.shape == (480, 640) and big[240, 320] == 7


def test_list_images_natural_order(tmp_path):
    for name in ("card10.png", "card2.png", "Card1.jpg", ".hidden.png", "notes.txt"):
        save(tmp_path / name, shade(0)) if name.endswith((".png", ".jpg")) else (tmp_path / name).write_text("x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["Card1.jpg", "card2.png", "card10.png"]


# --- replay -----------------------------------------------------------------------------------


def test_replay_folder_in_order_then_exhausted(tmp_path):
    for i, value in enumerate([10, 20, 30]):
        save(tmp_path / f"frame{i}.png", shade(value))
    with ReplaySource(tmp_path) as source:
        assert isinstance(source, FrameSource)
        assert [int(source.read()[0, 0]) for _ in range(3)] == [10, 20, 30]
        assert not source.exhausted
        assert source.read() is None
        assert source.exhausted
    assert source.closed


def test_replay_loop_and_size(tmp_path):
    save(tmp_path / "a.png", shade(10))
    save(tmp_path / "b.png", shade(20))
    source = ReplaySource(tmp_path, loop=True, size=(640, 480))
    frames = [source.read() for _ in range(5)]
    assert [int(f[240, 320]) for f in frames] == [10, 20, 10, 20, 10]
    assert all(f.shape == (480, 640) and f.dtype == np.uint8 for f in frames)
    assert not source.exhausted
    with pytest.raises(ValueError):
        frames[0][0, 0] = 99  # shared between loops: read-only


def test_replay_single_file_converts_colour_to_grey(tmp_path):
    rgb = np.zeros((30, 40, 3), dtype=np.uint8)
    rgb[..., 1] = 200  # pure green
    Image.fromarray(rgb, "RGB").save(tmp_path / "green.png")
    source = ReplaySource(tmp_path / "green.png")
    assert int(source.read()[0, 0]) == round(0.587 * 200)
    assert source.read() is None


def test_replay_from_frames_and_card_decodes():
    source = ReplaySource.from_frames([qr_array(CARD), shade(0)], loop=True)
    assert make_decoder().decode(source.read()) == [CARD]
    assert make_decoder().decode(source.read()) == []
    assert make_decoder().decode(source.read()) == [CARD]


def test_replay_paces_at_fps():
    clock = FakeClock()
    source = ReplaySource.from_frames([shade(1)], loop=True, fps=10, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        source.read()
    assert clock.slept == [0.1, 0.1, 0.1]
    clock.now += 5  # a reader that fell far behind gets the next frame at once, then the pace again
    source.read()
    source.read()
    assert clock.slept == [0.1, 0.1, 0.1, 0.1]


def test_replay_paces_in_real_time():
    source = ReplaySource.from_frames([shade(1)], loop=True, fps=50)
    started = time.monotonic()
    for _ in range(6):
        source.read()
    assert time.monotonic() - started >= 5 / 50 * 0.9


def test_replay_show_and_fail_next(tmp_path):
    source = ReplaySource.from_frames([shade(1)], loop=True)
    source.show(qr_array(CARD), frames=2)
    path = save(tmp_path / "other.png", shade(77))
    source.show(path)
    source.fail_next(count=1)
    source.fail_next(TimeoutError("slow bus"))
    with pytest.raises(CameraError, match="injected"):
        source.read()
    with pytest.raises(TimeoutError, match="slow bus"):
        source.read()
    assert make_decoder().decode(source.read()) == [CARD]
    assert make_decoder().decode(source.read()) == [CARD]
    assert int(source.read()[0, 0]) == 77
    assert int(source.read()[0, 0]) == 1


def test_replay_errors(tmp_path):
    with pytest.raises(CameraError, match="does not exist"):
        ReplaySource(tmp_path / "nowhere")
    with pytest.raises(CameraError, match="has no images"):
        ReplaySource(tmp_path)
    with pytest.raises(ValueError):
        ReplaySource()
    with pytest.raises(ValueError):
        ReplaySource(tmp_path, frames=[shade(0)])
    with pytest.raises(CameraError, match="greyscale"):
        ReplaySource.from_frames([np.zeros((4, 4), np.float32)])
    save(tmp_path / "a.png", shade(0))
    with pytest.raises(CameraError, match="needs a folder"):
        ReplaySource(tmp_path / "a.png", watch=True)
    (tmp_path / "b.png").write_text("broken")
    source = ReplaySource(tmp_path)
    source.read()
    with pytest.raises(ImageFileError, match="b.png"):
        source.read()  # a broken file is reported once, and the replay goes on
    assert source.read() is None


def test_replay_closed(tmp_path):
    source = ReplaySource.from_frames([shade(0)])
    source.close()
    source.close()
    with pytest.raises(CameraError, match="closed"):
        source.read()


# --- watch mode: drop a file in and the camera sees it ------------------------------------


def drop(folder: Path, name: str, gray: np.ndarray) -> Path:
    # Written beside the folder and moved in, as the docs ask
    temp = save(folder.parent / f".{name}", gray)
    os.replace(temp, folder / name)
    return folder / name


def test_watch_ignores_old_files_and_picks_up_dropped_ones(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    save(folder / "old.png", shade(5))
    source = ReplaySource(folder, watch=True, poll_s=0.01)
    assert source.read() is None
    drop(folder, "card.png", qr_array(CARD))
    frame = source.read()
    assert frame is not None and make_decoder().decode(frame) == [CARD]
    assert source.read() is None  # delivered once
    assert not source.exhausted
    # A replaced file counts as new: copy the next card over the same name
    drop(folder, "card.png", shade(200))
    time.sleep(0.01)
    frames = [source.read() for _ in range(3)]
    assert any(f is not None and int(f[0, 0]) == 200 for f in frames)


def test_watch_from_another_thread(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    source = ReplaySource(folder, watch=True, poll_s=0.02, size=(640, 480))
    timer = threading.Timer(0.1, drop, args=(folder, "later.png", qr_array(CARD)))
    timer.start()
    deadline = time.monotonic() + 5
    frame = None
    while frame is None and time.monotonic() < deadline:
        frame = source.read()
    timer.join()
    assert frame is not None and frame.shape == (480, 640)
    assert make_decoder().decode(frame) == [CARD]


def test_watch_waits_for_a_half_written_file(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    source = ReplaySource(folder, watch=True, poll_s=0)
    full = save(tmp_path / "full.png", qr_array(CARD)).read_bytes()
    (folder / "card.png").write_bytes(full[:100])
    assert source.read() is None  # unreadable: perhaps still being written
    (folder / "card.png").write_bytes(full)
    frame = source.read()
    assert frame is not None and make_decoder().decode(frame) == [CARD]
    (folder / "broken.png").write_bytes(b"\x89PNG nonsense")
    assert source.read() is None
    with pytest.raises(ImageFileError, match="broken.png"):
        source.read()  # unchanged and still unreadable: reported once
    assert source.read() is None


# --- USB camera through OpenCV ---------------------------------------------------------------


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10) -> Path:
    import cv2

    height, width = frames[0].shape
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        pytest.fail("OpenCV cannot write an MJPG .avi on this machine")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def test_usb_source_reads_a_video_file(tmp_path):
    card = fit_frame(qr_array(CARD, module_px=5), (640, 480))
    video = write_video(tmp_path / "gate.avi", [card, card, shade(30, (480, 640))])
    with USBCameraSource(video) as camera:
        assert camera.frame_size == (640, 480)
        first = camera.read()
        assert first.shape == (480, 640) and first.dtype == np.uint8 and first.ndim == 2
        assert make_decoder().decode(first) == [CARD]
        assert make_decoder().decode(camera.read()) == [CARD]
        assert abs(int(camera.read()[240, 320]) - 30) < 8
        assert camera.read() is None
        assert camera.exhausted
    with pytest.raises(CameraError, match="closed"):
        camera.read()
    camera.close()


def test_usb_source_errors(tmp_path):
    with pytest.raises(CameraError, match="does not exist"):
        USBCameraSource(tmp_path / "none.avi")
    (tmp_path / "junk.avi").write_bytes(b"not a video")
    with pytest.raises(CameraError, match="cannot open"):
        USBCameraSource(tmp_path / "junk.avi")
    with pytest.raises(CameraError, match="no USB camera at index 63"):
        USBCameraSource(63)


def test_usb_source_without_opencv(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(CameraError, match="pip install opencv-python-headless"):
        USBCameraSource(0)


# --- Raspberry Pi camera ----------------------------------------------------------------------


def test_picamera_missing_is_an_error_with_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # as on a PC: import fails
    with pytest.raises(CameraError) as caught:
        PiCameraSource()
    assert PICAMERA2_HINT in str(caught.value)
    assert "sudo apt install python3-picamera2" in str(caught.value)
    assert "--system-site-packages" in str(caught.value)


def test_open_camera_never_falls_back_to_a_fake(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(CameraError, match="python3-picamera2"):
        open_camera(CameraSettings(source="picamera2"))


def test_importing_cameras_does_not_import_camera_libraries():
    import subprocess

    code = "import sensors.cameras, sensors.decoders, sensors.scanning, sys; print(sorted({'picamera2','libcamera','cv2','zxingcpp','pyzbar'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class StubPicamera2:
    """Stands in for picamera2.Picamera2 at its own interface: YUV420 lores arrays with padded rows."""

    instances: ClassVar[list[StubPicamera2]] = []

    def __init__(self, camera_num=0):
        self.camera_num = camera_num
        self.camera_controls = {"AfMode": (0, 2, 0), "AfSpeed": (0, 1, 0), "FrameRate": (1, 120, 30)}
        self.calls: list[str] = []
        self.controls: dict = {}
        self.config = None
        self.stall = False
        StubPicamera2.instances.append(self)

    def create_video_configuration(self, **kwargs):
        return kwargs

    def configure(self, config):
        self.config = config

    def start(self):
        self.calls.append("start")

    def set_controls(self, controls):
        self.controls.update(controls)

    def capture_array(self, name="main", wait=None):
        assert name == "lores" and wait is False
        return "job"

    def wait(self, job, timeout=None):
        if self.stall:
            raise TimeoutError
        width, height = self.config["lores"]["size"]
        stride = width + 64
        yuv = np.full((height * 3 // 2, stride), 128, dtype=np.uint8)  # chroma rows and row padding: grey
        yuv[:height, :width] = np.arange(width, dtype=np.uint8)[np.newaxis, :]
        return yuv

    def stop(self):
        self.calls.append("stop")

    def close(self):
        self.calls.append("close")


@pytest.fixture
def stub_picamera2(monkeypatch):
    StubPicamera2.instances.clear()
    picamera2 = types.ModuleType("picamera2")
    picamera2.Picamera2 = StubPicamera2
    libcamera = types.ModuleType("libcamera")
    libcamera.controls = types.SimpleNamespace(
        AfModeEnum=types.SimpleNamespace(Continuous=2), AfSpeedEnum=types.SimpleNamespace(Fast=1)
    )
    monkeypatch.setitem(sys.modules, "picamera2", picamera2)
    monkeypatch.setitem(sys.modules, "libcamera", libcamera)
    return StubPicamera2


def test_picamera_source_takes_the_y_plane_of_lores(stub_picamera2):
    with PiCameraSource(640, 480, 30) as camera:
        stub = stub_picamera2.instances[0]
        assert stub.config["lores"] == {"size": (640, 480), "format": "YUV420"}
        assert stub.config["controls"]["FrameRate"] == 30
        assert stub.controls == {"AfMode": 2, "AfSpeed": 1} and camera.autofocus
        frame = camera.read()
        assert frame.shape == (480, 640) and frame.flags.c_contiguous
        assert (frame[0] == np.arange(640, dtype=np.uint8)).all()
        stub.stall = True
        with pytest.raises(CameraError, match="no frame within"):
            camera.read()
    assert stub.calls == ["start", "stop", "close"]
    camera.close()
    assert stub.calls == ["start", "stop", "close"]


def test_picamera_fixed_focus_is_left_alone(stub_picamera2):
    class FixedFocus(StubPicamera2):
        def __init__(self, camera_num=0):
            super().__init__(camera_num)
            self.camera_controls = {"FrameRate": (1, 120, 30)}

    sys.modules["picamera2"].Picamera2 = FixedFocus
    camera = PiCameraSource(320, 241)
    assert not camera.autofocus and camera.read().shape == (240, 320)
    camera.close()


def test_picamera_absent_camera(stub_picamera2):
    def no_camera(camera_num=0):
        raise IndexError("list index out of range")

    sys.modules["picamera2"].Picamera2 = no_camera
    with pytest.raises(CameraError, match="rpicam-hello --list-cameras"):
        PiCameraSource()


# --- factory -----------------------------------------------------------------------------------


def test_open_camera_replay(tmp_path):
    folder = tmp_path / "cards"
    folder.mkdir()
    watched = open_camera(CameraSettings(source="replay", replay_path=str(folder)))
    assert isinstance(watched, ReplaySource) and watched.watch and watched.size == (640, 480)
    card = save(tmp_path / "card.png", qr_array(CARD))
    held = open_camera(CameraSettings(source="replay", replay_path=str(card), fps=60))
    assert held.loop and held.fps == 60
    frames = [held.read() for _ in range(3)]
    assert all(make_decoder().decode(f) == [CARD] and f.shape == (480, 640) for f in frames)
    assert open_camera(CameraSettings(source="none")) is None
    with pytest.raises(CameraError, match="replay_path is required"):
        open_camera(CameraSettings(source="replay"))


def test_open_camera_usb_error():
    with pytest.raises(CameraError, match="no USB camera"):
        open_camera(CameraSettings(source="usb", usb_device=63))


# --- real hardware (deselected by default: pytest -m hardware on a Pi) ---------------------------


@pytest.mark.hardware
def test_pi_camera_delivers_frames_at_rate():
    with PiCameraSource(640, 480, 30) as camera:
        camera.read()
        started = time.monotonic()
        frames = [camera.read() for _ in range(30)]
        elapsed = time.monotonic() - started
    assert all(f.shape == (480, 640) and f.dtype == np.uint8 for f in frames)
    assert 30 / elapsed >= 20, f"only {30 / elapsed:.1f} frames/s"
    assert np.std(frames[-1]) > 1, "the picture is flat: lens cap on, or no light?"


@pytest.mark.hardware
def test_pi_camera_reads_a_card_held_up(capsys):
    # Hold a printed card 20–40 cm in front of the camera while this runs (10 s)
    decoder = make_decoder()
    with PiCameraSource(640, 480, 30) as camera:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            texts = decoder.decode(camera.read())
            if texts:
                break
    assert texts, "no QR code seen in 10 s"
