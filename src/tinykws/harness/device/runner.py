"""Devices that speak the MLPerf Tiny protocol as ModelRunners (systems under test):

- "c-qemu-serial": the .tflite's generated C with the device-protocol main, built for an
  emulated board (default mps2-an386, Cortex-M4) and run under qemu, UART0 on a socket;
- "serial": a board on a serial port (pyserial) running firmware that speaks the
  protocol (tinykws' own, or an MLPerf Tiny reference submission's).

Each inference loads the sample in the benchmark's stored form (`db`) and runs
`infer 1 0`; `time_inferences` runs `infer N W` and reads the device's timestamps. On
qemu the timer counts instructions, so the timing is instructions and the seconds an
estimate under a stated clock and CPI.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import weakref
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.codegen.source import tflite_path
from tinykws.errors import ConfigError
from tinykws.eval.runner import InferenceTiming, ModelRunner, RunnerInfo, TensorSpec
from tinykws.export.contract import resolve_contract
from tinykws.export.runners import ends_in_softmax, runner_info
from tinykws.fixedpoint.primitives import dequantize_int, quantize_real
from tinykws.formats.tflite_reader import read_tflite
from tinykws.harness.device.protocol import DeviceError, ProtocolError
from tinykws.harness.device.session import REFERENCE_CHUNK_BYTES, DeviceSession

# Input format of a workload -> how a sample travels (its stored form).
WIRE_FORMATS = {"int8": "int8", "frontend": "int8", "uint8_minus_128": "uint8_minus_128",
                "float32_windows": "float32"}


@dataclasses.dataclass(frozen=True)
class WireFormat:
    """How an int8 model input is sent: "int8" as is, "uint8_minus_128" as pixels
    (q + 128), "float32" as the reals it stands for (the device quantizes them back)."""

    kind: str
    spec: TensorSpec

    def encode(self, item: np.ndarray) -> bytes:
        q = np.asarray(item).reshape(-1)
        if self.kind == "int8":
            return q.astype(np.int8).tobytes()
        if self.kind == "uint8_minus_128":
            return (q.astype(np.int16) + 128).astype(np.uint8).tobytes()
        reals = dequantize_int(q, self.spec.scale, self.spec.zero_point).astype("<f4")
        if not np.array_equal(quantize_real(reals, self.spec.scale, self.spec.zero_point, np.int8), q):
            raise ProtocolError("the float32 form of an input does not quantize back to it")
        return reals.tobytes()


def wire_format(workload: str | None, input_format: str | None, spec: TensorSpec) -> WireFormat:
    """The wire format of a workload (by name) or of an input format named directly."""
    if input_format is None and workload is not None:
        from tinykws.harness.registry import get_workload

        input_format = get_workload(workload).input.format
    kind = WIRE_FORMATS.get(input_format or "int8")
    if kind is None:
        raise ConfigError(f"unknown input format {input_format!r}; choose from {', '.join(WIRE_FORMATS)}")
    return WireFormat(kind, spec)


class DeviceRunner(ModelRunner):
    """A model on a device reached through `session`. `instructions_per_us` (qemu under
    -icount) turns the timer into instructions; then `clock_hz` and `cpi` give the
    estimated seconds."""

    def __init__(self, session: DeviceSession, info: RunnerInfo, wire: WireFormat, *, closer=None,
                 instructions_per_us: float | None = None, clock_hz: float = 0.0, cpi: float = 1.0,
                 infer_timeout: float = 600.0):
        self.session = session
        self.info = info
        self.wire = wire
        self._closer = closer
        self.instructions_per_us = instructions_per_us
        self.clock_hz = clock_hz
        self.cpi = cpi
        self.infer_timeout = infer_timeout
        self.last_results: list[tuple[float, ...]] = []

    @property
    def transcript(self) -> list[str]:
        """The serial exchange so far (commands "> ...", replies "< ...")."""
        extra = [f"... {self.session.dropped} more lines not kept"] if self.session.dropped else []
        return [*self.session.transcript, *extra]

    def _outputs(self, raw: bytes | None, results: tuple[float, ...]) -> np.ndarray:
        spec = self.info.output
        size = int(np.prod(spec.shape, dtype=np.int64))
        if raw is not None:
            if len(raw) != size:
                raise ProtocolError(f"the device sent {len(raw)} output bytes, the model has {size}")
            return np.frombuffer(raw, np.int8).reshape(spec.shape)
        # A reference firmware prints only dequantized values with 3 decimals: they give back
        # the integers exactly when the output step is wider than a thousandth.
        if len(results) != size or not spec.quantized or spec.scale < 0.002:
            raise ProtocolError(f"the device reports {len(results)} values with 3 decimals and no raw outputs; "
                                f"they cannot be turned back into the model's {size} int8 outputs")
        q = np.rint(np.asarray(results) / spec.scale) + spec.zero_point
        return np.clip(q, -128, 127).astype(np.int8).reshape(spec.shape)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        outputs = []
        for item in np.asarray(inputs):
            self.session.load(self.wire.encode(item))
            reply = self.session.infer(1, 0, timeout=self.infer_timeout)
            self.last_results.append(reply.results)
            outputs.append(self._outputs(reply.raw, reply.results))
        return np.stack(outputs)

    def time_inferences(self, inputs: np.ndarray, count: int, warmup: int = 0) -> InferenceTiming:
        """`infer count warmup` on the device; its two timestamps give the time."""
        if count < 1 or warmup < 0:
            raise ConfigError(f"infer needs count >= 1 and warmup >= 0, got {count} and {warmup}")
        self.session.load(self.wire.encode(np.asarray(inputs)[0]))
        reply = self.session.infer(count, warmup, timeout=self.infer_timeout * (1 + (count + warmup) / 10))
        if self.instructions_per_us is None:
            return InferenceTiming(count, reply.elapsed_us / 1e6, "device timer (m-lap-us)")
        instructions = int(round(reply.elapsed_us * self.instructions_per_us))
        return InferenceTiming(count, instructions * self.cpi / self.clock_hz,
                               f"instructions on qemu x CPI {self.cpi:g} / {self.clock_hz / 1e6:g} MHz",
                               instructions=instructions, estimated=True)

    def close(self) -> None:
        self.session.close()
        if self._closer is not None:
            self._closer()
            self._closer = None


def open_c_qemu_serial_runner(model: Any, board: str = "mps2-an386", workload: str | None = None,
                              input_format: str | None = None, clock_hz: float | None = None, cpi: float = 1.0,
                              chunk_bytes: int = 2000, timeout: float = 60.0,
                              frontend: str | Mapping[str, Any] | None = None,
                              labels: Sequence[str] | None = None) -> DeviceRunner:
    """The generated C of the .tflite `model` with the device-protocol main on qemu
    `board`; the sample travels as the workload's stored form. clock_hz (default: the
    core's reference board, 120 MHz for the M4) and cpi make the time estimate."""
    from tinykws import __version__
    from tinykws.harness.device.qemu import QemuDevice, build_device_firmware
    from tinykws.mcu.boards import QEMU_BOARDS, get_board
    from tinykws.mcu.qemu import ICOUNT_SHIFT
    from tinykws.mcu.toolchain import find_toolchain
    from tinykws.profile.mcu import REFERENCE_BOARDS

    if board not in QEMU_BOARDS:
        raise ConfigError(f"board {board!r} is not emulated; choose from {', '.join(QEMU_BOARDS)}")
    if cpi <= 0 or (clock_hz is not None and clock_hz <= 0):
        raise ConfigError("the clock and the cycles per instruction must be positive")
    path = tflite_path(model)
    tfl = read_tflite(path)
    contract = resolve_contract(path, tfl, frontend, labels)
    wire = wire_format(workload, input_format, contract.input)
    b = QEMU_BOARDS[board]
    reference = get_board(REFERENCE_BOARDS[b.core.name])
    clock = float(clock_hz or reference.clock_hz)
    tmp = tempfile.TemporaryDirectory(prefix="tkws_cqs_")
    try:
        build = build_device_firmware(tfl, b, wire.kind, (workload or path.stem).replace(".", "_"), tmp.name)
        firmware = build.firmware
        device = QemuDevice(firmware)
    except BaseException:
        tmp.cleanup()
        raise

    def closer() -> None:
        device.close()
        tmp.cleanup()

    try:
        session = DeviceSession(device.transport, timeout=timeout, chunk_bytes=chunk_bytes)
        session.wait_ready(timeout)
        profile = session.profile()
    except BaseException:
        closer()
        raise
    tools = find_toolchain().describe()
    elf_sha = hashlib.sha256(firmware.elf.read_bytes()).hexdigest()
    facts = {"board": board, "core": b.core.name, "clock_hz": clock, "clock_source": f"{reference.name} clock",
             "cpi_assumed": cpi, "flash_bytes": firmware.sizes.flash, "static_ram_bytes": firmware.sizes.static_ram,
             "arena_bytes": build.arena_bytes, "code_sha256": elf_sha, "device_firmware": profile["firmware"],
             "device_model": profile["model"], "wire_format": wire.kind, "icount_shift": ICOUNT_SHIFT}
    info = runner_info("c-qemu-serial", f"tinykws generated C on qemu {board} ({b.core.name}) over the MLPerf "
                       f"Tiny serial protocol, gcc -O2 ({tools['gcc']}), qemu {tools['qemu']}", str(path), contract,
                       ends_in_softmax(tfl), "tflite_micro", __version__, facts)
    # Under -icount shift S one instruction is 2^S ns: microseconds -> instructions.
    runner = DeviceRunner(session, info, wire, closer=closer, instructions_per_us=1000.0 / 2 ** ICOUNT_SHIFT,
                          clock_hz=clock, cpi=cpi, infer_timeout=timeout)
    runner._finalizer = weakref.finalize(runner, closer)
    return runner


def open_serial_runner(model: Any, port: str = "", baudrate: int = 115200, workload: str | None = None,
                       input_format: str | None = None, chunk_bytes: int = REFERENCE_CHUNK_BYTES,
                       timeout: float = 60.0, frontend: str | Mapping[str, Any] | None = None,
                       labels: Sequence[str] | None = None) -> DeviceRunner:
    """A board on serial `port` running firmware for the .tflite `model` that speaks the
    MLPerf Tiny protocol; times come from its timer (m-lap-us)."""
    from tinykws import __version__
    from tinykws.harness.device.transport import SerialTransport

    if not port:
        raise ConfigError("the serial system under test needs port=/dev/tty... (--sut-option port=...)")
    path = tflite_path(model)
    tfl = read_tflite(path)
    contract = resolve_contract(path, tfl, frontend, labels)
    wire = wire_format(workload, input_format, contract.input)
    transport = SerialTransport(port, baudrate)
    try:
        session = DeviceSession(transport, timeout=timeout, chunk_bytes=chunk_bytes)
        session.wait_ready(timeout)
        name = session.name()
        profile = session.profile()
    except (DeviceError, OSError):
        transport.close()
        raise
    facts = {"port": port, "baudrate": baudrate, "device_name": name, "device_firmware": profile["firmware"],
             "device_model": profile["model"], "wire_format": wire.kind}
    info = runner_info("serial", f"a device on {port} speaking the MLPerf Tiny protocol ({name}, "
                       f"{profile['firmware']})", str(path), contract, ends_in_softmax(tfl), "device", __version__, facts)
    return DeviceRunner(session, info, wire, infer_timeout=timeout)
