"""The generated firmware speaking the MLPerf Tiny device protocol on qemu mps2-an386
(Cortex-M4), its UART0 on a socket or a pty: outputs bit-exact with the numpy runtime
(TFLite Micro arithmetic) for KWS (int8 bytes) and AD (float32 windows, quantized on
the device); the loop's instructions against the semihosting
harness's exact count; the device's error replies; a reset in the middle of a command
and a timeout, each an error naming the command; the `serial` system under test (pyserial)
on the qemu pty. Needs the Cortex-M toolchain (the `toolchain` fixture fails with the
install line without it) and ../shared."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tinykws.eval.runner import open_runner
from tinykws.harness.data import load_workload_data
from tinykws.harness.device.protocol import DeviceResetError, DeviceTimeout
from tinykws.harness.registry import get_workload

pytestmark = [pytest.mark.mcu, pytest.mark.shared]


def _data(shared_dir, name, limit):
    from tinykws.export.contract import io_tensors, tensor_spec
    from tinykws.formats.tflite_reader import read_tflite

    w = get_workload(name)
    model = shared_dir / w.model.path
    spec = tensor_spec(io_tensors(read_tflite(model), str(model))[0])
    return model, load_workload_data(w, shared_dir, input_scale=spec.scale, input_zero_point=spec.zero_point,
                                     limit=limit)


def _reference(model, inputs):
    from tinykws.intmodel import intmodel_from_tflite, run

    return run(intmodel_from_tflite(model, "tflite_micro"), inputs).output.reshape(len(inputs), -1)


@pytest.fixture(scope="module")
def kws_build(toolchain, shared_dir, tmp_path_factory):
    """The KWS firmware with the device-protocol main, for tests that drive qemu directly."""
    from tinykws.formats.tflite_reader import read_tflite
    from tinykws.harness.device.qemu import build_device_firmware
    from tinykws.mcu.boards import QEMU_BOARDS

    model = shared_dir / get_workload("kws01").model.path
    return build_device_firmware(read_tflite(model), QEMU_BOARDS["mps2-an386"], "int8", "kws01",
                                 tmp_path_factory.mktemp("kws_fw"))


@pytest.fixture(scope="module")
def kws_device(toolchain, shared_dir):
    model, data = _data(shared_dir, "kws01", 6)
    runner = open_runner("c-qemu-serial", model, workload="kws01", frontend="none", timeout=30.0)
    yield runner, model, data
    runner.close()


def test_kws_on_the_device_is_bit_exact(kws_device):
    runner, model, data = kws_device
    outputs = runner.run(data.inputs)
    assert np.array_equal(outputs.reshape(len(outputs), -1), _reference(model, data.inputs))
    assert runner.info.facts["device_model"] == "kws01"
    assert any(line.startswith("> infer 1 0") for line in runner.transcript)


def test_device_loop_instructions_match_the_exact_count(kws_device):
    """`infer 3 1` through the device timer against the semihosting harness's exact
    instructions of one tkws_invoke call on the same input: the loop adds only its own
    few instructions per iteration (and the timer's 1 us is 3.9 instructions)."""
    runner, model, data = kws_device
    timing = runner.time_inferences(data.inputs[:1], 3, 1)
    assert timing.estimated and timing.seconds == pytest.approx(timing.instructions / 120e6)
    with open_runner("c-qemu-m4", model, frontend="none") as exact:
        exact.run(data.inputs[:1])
        per_call = exact.instructions[0]
        twice = exact.time_inferences(data.inputs[:1], 2)
        assert twice.instructions == 2 * per_call and twice.estimated
    extra = timing.instructions - 3 * per_call
    assert 0 <= extra <= 3 * 100 + 8, (timing.instructions, per_call)


def test_device_errors_are_replies_not_hangs(kws_device):
    runner, _, _ = kws_device
    session = runner.session
    assert session.command("frobnicate").errors == ("e-[Unknown command: frobnicate]",)
    assert "exceeds maximum of 490" in session.command("db load 100000").errors[0]
    session.command("db load 4").checked()
    assert session.command("db 123").errors == ("e-[Insufficent number of hex digits]",)
    assert session.command("db 12zz").errors == ("e-[Invalid hex digit]",)  # 0x12 stays loaded
    assert session.command("db print").checked().messages == ("m-buffer-12",)
    assert "holds 1 bytes; the model takes 490" in session.command("infer 1 0").errors[0]
    assert session.command("infer 0").errors == ("e-[Inference iterations must be >0]",)
    assert "longer than" in session.command("x" * 5000).errors[0]
    assert session.name() == "m-name-dut-[tinykws]"
    assert session.timestamp() > 0


def test_ad_windows_are_quantized_on_the_device(toolchain, shared_dir):
    """AD: float32 windows travel as stored and are quantized on the device, which reports
    the reconstruction error; the outputs are the numpy runtime's. (The uint8 pixels of
    IC and VWW: bench/harness_suite.py qemu, ic01 on all 200 images.)"""
    model, data = _data(shared_dir, "ad01", 1)
    windows = data.inputs[:3]
    with open_runner("c-qemu-serial", model, workload="ad01", frontend="none",
                     labels=[f"x{i}" for i in range(640)]) as runner:
        assert runner.info.facts["wire_format"] == "float32"
        out = runner.run(windows).reshape(3, -1)
        assert np.array_equal(out, _reference(model, windows))
        spec = runner.info.output
        for sent, reported, raw in zip(windows, runner.last_results, out):
            reals = runner.wire.spec.scale * (sent.astype(np.float64) - runner.wire.spec.zero_point)
            mse = np.mean((reals - spec.scale * (raw.astype(np.float64) - spec.zero_point)) ** 2)
            assert reported[0] == pytest.approx(mse, abs=6e-4)


def test_a_reset_during_infer_and_a_timeout_name_the_command(kws_build, shared_dir):
    from tinykws.harness.device.qemu import QemuDevice
    from tinykws.harness.device.session import DeviceSession

    model, data = _data(shared_dir, "kws01", 1)
    device = QemuDevice(kws_build.firmware)
    try:
        session = DeviceSession(device.transport, timeout=30, chunk_bytes=2000)
        session.wait_ready()
        session.load(data.inputs[0].tobytes())
        with pytest.raises(DeviceTimeout, match=r"'infer 400 0' within 0.5 s"):
            session.infer(400, 0, timeout=0.5)
        device.reset()  # ends the infer that timed out; the firmware starts again
        session = DeviceSession(device.transport, timeout=30, chunk_bytes=2000)
        session.wait_ready()
        session.load(data.inputs[0].tobytes())
        timer = threading.Timer(0.3, device.reset)
        timer.start()
        with pytest.raises(DeviceResetError, match="'infer 400 0'"):
            session.infer(400, 0, timeout=60)
        timer.join()
    finally:
        device.close()


def test_serial_system_under_test_on_the_qemu_pty(kws_build, shared_dir):
    from tinykws.harness.device.qemu import QemuDevice

    model, data = _data(shared_dir, "kws01", 3)
    device = QemuDevice(kws_build.firmware, uart="pty")
    try:
        with open_runner("serial", model, port=device.pty_path, workload="kws01", frontend="none",
                         timeout=30.0) as runner:
            assert runner.info.facts["device_name"] == "m-name-dut-[tinykws]"
            out = runner.run(data.inputs)
            assert np.array_equal(out.reshape(3, -1), _reference(model, data.inputs))
            timing = runner.time_inferences(data.inputs[:1], 2, 0)
            assert not timing.estimated and timing.clock == "device timer (m-lap-us)" and timing.seconds > 0
    finally:
        device.close()
