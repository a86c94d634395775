"""The generated C firmware with the device-protocol main on an emulated board, its UART0
exposed to the host as a Unix socket (or a pty, which a serial-port client opens).

qemu runs with -icount (the timer counts executed instructions), reboots on reset
instead of exiting, and has a QMP socket so that a test can reset the board mid-run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tinykws.errors import TargetError
from tinykws.formats.tflite_model import TFLiteModel
from tinykws.harness.device.protocol import DeviceDisconnected
from tinykws.harness.device.transport import SocketTransport
from tinykws.mcu.boards import Board
from tinykws.mcu.firmware import Firmware
from tinykws.mcu.qemu import qemu_command

CONNECT_TIMEOUT_S = 20.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    """In the child before exec: on Linux, have the kernel end qemu when tinykws dies
    (killed, or stopped by a signal no Python code sees), so no emulator is left spinning."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: close() still ends qemu
        pass


def _connect(path: Path, process: subprocess.Popen, what: str) -> socket.socket:
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise TargetError(f"qemu exited with status {process.returncode} before {what} could be reached")
        if path.exists():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                return sock
            except OSError:
                sock.close()
        if time.monotonic() > deadline:
            raise TargetError(f"qemu did not open {what} ({path}) within {CONNECT_TIMEOUT_S:g} s")
        time.sleep(0.02)


class QemuDevice:
    """`firmware` (built with main "eembc") running on its board. uart "socket": qemu
    waits for the host to connect, and `transport` is UART0; uart "pty": UART0 is the
    terminal `pty_path` (a board's serial port, as far as a client can tell), `transport`
    None."""

    def __init__(self, firmware: Firmware, uart: str = "socket"):
        if uart not in ("socket", "pty"):
            raise TargetError(f"uart must be 'socket' or 'pty', not {uart!r}")
        self.firmware = firmware
        self.board: Board = firmware.board
        self._tmp = tempfile.TemporaryDirectory(prefix="tkws_dev_")
        folder = Path(self._tmp.name)
        uart_path, qmp = folder / "uart.sock", folder / "qmp.sock"
        self.log_path = folder / "qemu.log"
        chardev = f"socket,id=tkws_uart,path={uart_path},server=on,wait=on" if uart == "socket" else \
            "pty,id=tkws_uart"
        extra = ["-chardev", chardev, "-qmp", f"unix:{qmp},server=on,wait=off"]
        command = qemu_command(firmware.elf, self.board, serial="chardev:tkws_uart", reboot=True, extra=extra)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                        cwd=folder, preexec_fn=_die_with_parent)
        self._qmp_path = qmp
        self.transport: SocketTransport | None = None
        self.pty_path = ""
        try:
            if uart == "socket":
                self.transport = SocketTransport(_connect(uart_path, self.process, "the UART socket"),
                                                 f"qemu {self.board.name} UART0")
            else:
                self.pty_path = self._pty()
        except BaseException:
            self.close()
            raise

    def _pty(self) -> str:
        # qemu names the terminal on stderr: "char device redirected to /dev/pts/N (label tkws_uart)".
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while time.monotonic() < deadline:
            match = re.search(r"redirected to (\S+) \(label tkws_uart\)", self.messages())
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise TargetError(f"qemu did not report the pty of UART0: {self.messages().strip()[-500:]}")

    def reset(self) -> None:
        """Reset the board through QMP (as a reset button would); the firmware restarts."""
        sock = _connect(self._qmp_path, self.process, "the QMP socket")
        try:
            stream = sock.makefile("rwb")
            stream.readline()  # the greeting
            for request in ({"execute": "qmp_capabilities"}, {"execute": "system_reset"}):
                stream.write(json.dumps(request).encode() + b"\n")
                stream.flush()
                answer = json.loads(stream.readline() or b"{}")
                while "event" in answer:
                    answer = json.loads(stream.readline() or b"{}")
                if "error" in answer:
                    raise TargetError(f"qemu refused {request['execute']}: {answer['error']}")
        except (OSError, ValueError) as exc:
            raise DeviceDisconnected(f"qemu's QMP socket failed during a reset ({exc})") from None
        finally:
            sock.close()

    def messages(self) -> str:
        """What qemu and the firmware's semihosting console printed."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Stop qemu and remove its sockets. Safe to call twice."""
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()
        self._tmp.cleanup()


# Wire format -> how the firmware turns the sample into the int8 input (TKWS_EE_INPUT).
FIRMWARE_INPUT_MODES = {"int8": 0, "uint8_minus_128": 1, "float32": 2}
COMMAND_SIZE = 4096  # characters: "db " and up to 2,000 bytes in one command


@dataclass(frozen=True)
class DeviceBuild:
    """A device firmware: the ELF and the generated model's facts (arena bytes)."""

    firmware: Firmware
    arena_bytes: int | None


def eembc_defines(model_name: str, input_mode: int, result_mode: int, command_size: int) -> tuple[str, ...]:
    """Preprocessor definitions of the device-protocol main (tkws_main_eembc.c)."""
    if not model_name.replace("_", "").replace("-", "").isalnum():
        raise TargetError(f"model name {model_name!r} must be letters, digits, '-' and '_'")
    return (f'TKWS_EE_MODEL="{model_name}"', f"TKWS_EE_INPUT={input_mode}", f"TKWS_EE_RESULT={result_mode}",
            f"TKWS_EE_CMD_SIZE={command_size}")


def build_device_firmware(tfl: TFLiteModel, board: Board, wire_kind: str, model_name: str,
                          out_dir: str | os.PathLike) -> DeviceBuild:
    """The .tflite's generated C (TFLite Micro arithmetic) linked with the device-protocol
    main for `board`; samples arrive in `wire_kind` form; an autoencoder fed float32
    reports the reconstruction error as its result."""
    from tinykws.codegen import generate_project
    from tinykws.intmodel import intmodel_from_tflite
    from tinykws.mcu.firmware import build_firmware
    from tinykws.mcu.project import from_codegen

    if wire_kind not in FIRMWARE_INPUT_MODES:
        raise TargetError(f"unknown wire format {wire_kind!r}; known: {', '.join(FIRMWARE_INPUT_MODES)}")
    out = Path(out_dir)
    intmodel = intmodel_from_tflite(tfl, "tflite_micro")
    project = from_codegen(generate_project(intmodel, out / "project"), intmodel)
    defines = eembc_defines(model_name, FIRMWARE_INPUT_MODES[wire_kind], 1 if wire_kind == "float32" else 0,
                            COMMAND_SIZE)
    c_project = dataclasses.replace(project.c_project, defines=project.c_project.defines + defines)
    return DeviceBuild(build_firmware(c_project, board, out / "build", main="eembc"), project.arena_bytes)


