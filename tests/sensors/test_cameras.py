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
    WEBCAM_HINT,
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
    pi_camera_controls,
    qr_array,
    streaked,
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


def test_streaked_smears_sideways_only():
    bar = np.full((20, 40), 255, dtype=np.uint8)
    bar[:, 20] = 0  # one dark column
    smeared = streaked(bar, 5)
    assert smeared.shape == bar.shape and smeared.dtype == np.uint8
    assert (smeared[:, 18:23] == 204).all() and (smeared[:, :17] == 255).all()  # 255 × 4/5, over 5 columns
    assert (smeared[0] == smeared[-1]).all()  # nothing vertical
    assert (streaked(bar, 1) == bar).all() and streaked(bar, 1) is not bar
    half = streaked(bar, 2.0)  # a run of 3 with half-weight ends: the column spreads by half a pixel each side
    assert half[0, 20] == 128 and half[0, 19] == half[0, 21] == 191
    with pytest.raises(ValueError):
        streaked(bar.astype(np.float32), 3)


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
    monkeypatch.setitem(sys.modules, "cv2", None)  # as on a gate installed without the webcam extra
    with pytest.raises(CameraError) as caught:
        USBCameraSource(0)
    message = str(caught.value)
    assert message.startswith("USB 摄像头需要 OpenCV")  # Chinese first, then English
    assert "camera.source: usb" in message and "pip install '.[webcam]'" in message and WEBCAM_HINT in message
    assert "opencv-python-headless" in message


def test_doctor_names_the_webcam_extra_when_opencv_is_missing(monkeypatch):
    from sensors.diagnostics import probe_camera

    monkeypatch.setitem(sys.modules, "cv2", None)
    check = probe_camera(lambda: open_camera(CameraSettings(source="usb")))
    assert check.status.value == "fail" and "pip install '.[webcam]'" in check.detail and "OpenCV" in check.detail


def test_a_gate_without_opencv_never_imports_it(tmp_path):
    # The Pi camera (picamera2 faked as above) and the replay camera, read by the scan loop and the default
    # decoder in a process where OpenCV cannot be imported at all
    import subprocess

    card = save(tmp_path / "card.png", qr_array(CARD))
    code = f"""
import sys
sys.modules["cv2"] = None  # import cv2 raises ImportError, as when opencv is not installed
import types
from tests.sensors import test_cameras as t
picamera2 = types.ModuleType("picamera2"); picamera2.Picamera2 = t.StubPicamera2
libcamera = types.ModuleType("libcamera"); libcamera.controls = t.libcamera_controls_module()
sys.modules.update(picamera2=picamera2, libcamera=libcamera)
from kiosk.config.hardware import CameraSettings
from sensors.cameras import open_camera
from sensors.decoders import make_decoder
from sensors.scanning import Scanner
pi = open_camera(CameraSettings(source="picamera2"))
assert pi.read().shape == (480, 640)
pi.close()
replay = open_camera(CameraSettings(source="replay", replay_path={str(card)!r}, fps=100))
with Scanner(replay, make_decoder(), repeat_after_s=60) as scanner:
    scan = scanner.get(timeout=10)
print(scan.text, "cv2" in sys.modules and sys.modules["cv2"] is not None)
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [CARD, "False"]


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


# What a Camera Module 3 (imx708) advertises on libcamera 0.5+, as picamera2's camera_controls: name → (min, max, default)
IMX708_CONTROLS = {
    "AeEnable": (False, True, True), "AeExposureMode": (0, 3, 0), "AeConstraintMode": (0, 3, 0),
    "ExposureTime": (26, 220417486, 20000), "ExposureTimeMode": (0, 1, 0),
    "AnalogueGain": (1.12, 16.0, 1.0), "AnalogueGainMode": (0, 1, 0),
    "FrameDurationLimits": (33333, 120000, 33333),
    "AfMode": (0, 2, 0), "AfSpeed": (0, 1, 0), "AfRange": (0, 2, 0), "LensPosition": (0.0, 15.0, 1.0),
}
# A Camera Module 2 (imx219) on an older libcamera: a fixed-focus lens, no ExposureTimeMode / AnalogueGainMode
IMX219_OLD_CONTROLS = {
    "AeEnable": (False, True, True), "AeExposureMode": (0, 3, 0), "ExposureTime": (75, 11766829, None),
    "AnalogueGain": (1.0, 10.666, None), "FrameDurationLimits": (33333, 120000, 33333),
}


class StubPicamera2:
    """Stands in for picamera2.Picamera2 at its own interface: YUV420 lores arrays with padded rows.

    Like picamera2, ``configure`` refuses a control the camera does not advertise (``FrameRate`` is picamera2's
    own, turned into FrameDurationLimits), and ``capture_metadata`` reports what the configuration asked for.
    """

    instances: ClassVar[list[StubPicamera2]] = []
    advertised: ClassVar[dict] = IMX708_CONTROLS

    def __init__(self, camera_num=0):
        self.camera_num = camera_num
        self.camera_controls = dict(self.advertised)
        self.calls: list[str] = []
        self.controls: dict = {}
        self.config = None
        self.stall = False
        StubPicamera2.instances.append(self)

    def create_video_configuration(self, **kwargs):
        return kwargs

    def configure(self, config):
        for name in config.get("controls", {}):
            if name != "FrameRate" and name not in self.camera_controls:
                raise RuntimeError(f"Control {name} is not advertised by libcamera")
        self.config = config
        self.controls.update(config.get("controls", {}))

    def start(self):
        self.calls.append("start")

    def set_controls(self, controls):
        self.controls.update(controls)

    def capture_metadata(self):
        return {"ExposureTime": self.controls.get("ExposureTime", 20000), "AnalogueGain": 3.5}

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


class Enum(int):
    """A libcamera enum member: an int with a name, so a test can tell the enum was used."""

    def __new__(cls, value, name):
        member = super().__new__(cls, value)
        member.label = name
        return member


def libcamera_controls_module():
    names = {
        "AfModeEnum": {"Manual": 0, "Auto": 1, "Continuous": 2}, "AfSpeedEnum": {"Normal": 0, "Fast": 1},
        "AeExposureModeEnum": {"Normal": 0, "Short": 1, "Long": 2, "Custom": 3},
        "ExposureTimeModeEnum": {"Auto": 0, "Manual": 1}, "AnalogueGainModeEnum": {"Auto": 0, "Manual": 1},
    }
    return types.SimpleNamespace(**{
        kind: types.SimpleNamespace(**{name: Enum(value, f"{kind}.{name}") for name, value in members.items()})
        for kind, members in names.items()
    })


@pytest.fixture
def stub_picamera2(monkeypatch):
    StubPicamera2.instances.clear()
    monkeypatch.setattr(StubPicamera2, "advertised", IMX708_CONTROLS)
    picamera2 = types.ModuleType("picamera2")
    picamera2.Picamera2 = StubPicamera2
    libcamera = types.ModuleType("libcamera")
    libcamera.controls = libcamera_controls_module()
    monkeypatch.setitem(sys.modules, "picamera2", picamera2)
    monkeypatch.setitem(sys.modules, "libcamera", libcamera)
    return StubPicamera2


def test_picamera_source_takes_the_y_plane_of_lores(stub_picamera2):
    with PiCameraSource(640, 480, 30) as camera:
        stub = stub_picamera2.instances[0]
        assert stub.config["lores"] == {"size": (640, 480), "format": "YUV420"}
        assert stub.config["queue"] is False
        assert camera.autofocus and camera.choose_from == 1  # the frame choice is off by default
        frame = camera.read()
        assert frame.shape == (480, 640) and frame.flags.c_contiguous
        assert (frame[0] == np.arange(640, dtype=np.uint8)).all()
        stub.stall = True
        with pytest.raises(CameraError, match="no frame within"):
            camera.read()
    assert stub.calls == ["start", "stop", "close"]
    camera.close()
    assert stub.calls == ["start", "stop", "close"]


def test_picamera_gate_controls_go_into_the_configuration(stub_picamera2):
    # Camera Module 3 on libcamera 0.5+: a 6 ms shutter (manual), gain left to auto-exposure, continuous AF, 30 fps
    camera = PiCameraSource(640, 480, 30)
    stub = stub_picamera2.instances[0]
    controls = stub.config["controls"]
    assert controls == {"FrameRate": 30.0, "ExposureTimeMode": 1, "ExposureTime": 6000, "AfMode": 2, "AfSpeed": 1}
    # libcamera's enum members, as picamera2's manual writes them (controls.AfModeEnum.Continuous, …)
    assert controls["AfMode"].label == "AfModeEnum.Continuous" and controls["AfSpeed"].label == "AfSpeedEnum.Fast"
    assert controls["ExposureTimeMode"].label == "ExposureTimeModeEnum.Manual"
    assert "AnalogueGain" not in controls and "AnalogueGainMode" not in controls  # auto-exposure raises the gain
    assert "AeExposureMode" not in controls  # moot with a fixed shutter
    assert stub.controls == controls and camera.controls == controls and camera.skipped_controls == []
    assert camera.metadata()["ExposureTime"] == 6000
    camera.close()


def test_picamera_fixed_gain_fixed_focus(stub_picamera2):
    camera = PiCameraSource(640, 480, 30, exposure_us=4000, analogue_gain=8, focus="fixed", focus_distance_m=0.25)
    controls = stub_picamera2.instances[0].config["controls"]
    assert controls == {"FrameRate": 30.0, "ExposureTimeMode": 1, "ExposureTime": 4000, "AnalogueGainMode": 1,
                        "AnalogueGain": 8.0, "AfMode": 0, "LensPosition": 4.0}  # 1 / 0.25 m = 4 dioptres
    assert controls["AfMode"].label == "AfModeEnum.Manual"
    assert not camera.autofocus
    camera.close()


def test_picamera_auto_exposure_prefers_short(stub_picamera2):
    camera = PiCameraSource(640, 480, 25, exposure_us=0)
    controls = stub_picamera2.instances[0].config["controls"]
    assert controls == {"FrameRate": 25.0, "AeExposureMode": 1, "AfMode": 2, "AfSpeed": 1}
    assert controls["AeExposureMode"].label == "AeExposureModeEnum.Short"
    camera.close()


def test_picamera_older_libcamera_and_a_fixed_focus_lens(stub_picamera2, caplog):
    # imx219 on libcamera < 0.5: ExposureTime alone fixes the shutter there; no lens to drive, nothing to warn about
    stub_picamera2.advertised = IMX219_OLD_CONTROLS
    camera = PiCameraSource(320, 241)
    assert stub_picamera2.instances[0].config["controls"] == {"FrameRate": 30.0, "ExposureTime": 6000}
    assert not camera.autofocus and camera.skipped_controls == [] and not caplog.records
    assert camera.read().shape == (240, 320)
    camera.close()


def test_picamera_missing_controls_are_skipped_and_said(stub_picamera2, caplog):
    stub_picamera2.advertised = {"FrameDurationLimits": (33333, 120000, 33333), "AfMode": (0, 2, 0)}
    camera = PiCameraSource(analogue_gain=2.0)
    assert camera.controls == {"FrameRate": 30.0, "AfMode": 2}
    assert camera.skipped_controls == ["ExposureTime", "AnalogueGain", "AfSpeed"]
    assert "does not support ExposureTime, AnalogueGain, AfSpeed" in caplog.text
    camera.close()


def test_pi_camera_controls_without_libcamera_enums_are_its_numbers():
    controls, skipped = pi_camera_controls(IMX708_CONTROLS, exposure_us=0, exposure_mode="long", focus="fixed",
                                           focus_distance_m=0.5)
    assert controls == {"FrameRate": 30.0, "AeExposureMode": 2, "AfMode": 0, "LensPosition": 2.0} and skipped == []
    assert type(controls["AfMode"]) is int


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"exposure_us": 40_000, "fps": 30}, "within one frame at 30 fps"),
        ({"exposure_us": -1}, "exposure_us"),
        ({"focus": "auto"}, "focus: expected one of continuous, fixed"),
        ({"exposure_mode": "sport"}, "short, normal or long"),
    ],
)
def test_pi_camera_controls_refuse_nonsense(options, message):
    with pytest.raises(ValueError, match=message):
        pi_camera_controls(IMX708_CONTROLS, **options)


def test_picamera_bad_settings_are_a_camera_error_and_release_it(stub_picamera2):
    with pytest.raises(CameraError, match="could not start.*within one frame"):
        PiCameraSource(fps=60, exposure_us=20_000)
    assert stub_picamera2.instances[0].calls == ["stop", "close"]


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


def test_open_camera_gives_the_pi_camera_the_gate_settings(stub_picamera2):
    settings = CameraSettings(source="picamera2", fps=25, exposure_us=5000, analogue_gain=6.0, focus="fixed",
                              focus_distance_m=0.4, choose_from=3)
    camera = open_camera(settings)
    assert stub_picamera2.instances[0].config["controls"] == {
        "FrameRate": 25.0, "ExposureTimeMode": 1, "ExposureTime": 5000, "AnalogueGainMode": 1, "AnalogueGain": 6.0,
        "AfMode": 0, "LensPosition": 2.5,
    }
    assert camera.choose_from == 3
    camera.close()


def test_camera_settings_defaults_and_limits():
    from pydantic import ValidationError

    settings = CameraSettings()
    assert (settings.exposure_us, settings.analogue_gain, settings.exposure_mode) == (6000, None, "short")
    assert (settings.focus, settings.focus_distance_m, settings.choose_from) == ("continuous", 0.3, 1)
    assert CameraSettings(fps=120, exposure_us=8000).exposure_us == 8000
    with pytest.raises(ValidationError, match="longer than one frame at 120 fps"):
        CameraSettings(fps=120, exposure_us=9000)
    for bad in ({"exposure_us": -5}, {"analogue_gain": 0.5}, {"focus": "auto"}, {"focus_distance_m": 0},
                {"choose_from": 0}, {"choose_from": 50}, {"exposure_mode": "sport"}):
        with pytest.raises(ValidationError):
            CameraSettings(**bad)


def test_replay_and_video_files_are_decoded_frame_by_frame(tmp_path):
    # Only live cameras let the scan loop choose among frames; a replay's or a video file's frames all count
    assert ReplaySource.from_frames([shade(0)]).choose_from == 1
    video = write_video(tmp_path / "clip.avi", [shade(30, (480, 640))])
    with USBCameraSource(video, choose_from=4) as camera:
        assert camera.choose_from == 1


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


@pytest.mark.hardware
def test_pi_camera_keeps_the_short_shutter():
    # The gate's 6 ms shutter holds once auto-exposure has settled (it changes the gain, not the shutter)
    with PiCameraSource(640, 480, 30, exposure_us=6000) as camera:
        for _ in range(30):
            camera.read()
        metadata = camera.metadata()
    assert metadata["ExposureTime"] <= 6000 * 1.05, metadata
    assert metadata["AnalogueGain"] >= 1.0
