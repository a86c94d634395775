"""Byte pipes to a device: a socket (qemu's UART as a Unix socket, or TCP) or a serial
port (pyserial). `read` waits at most `timeout` seconds and returns b"" when nothing
came; a closed connection is DeviceDisconnected."""

from __future__ import annotations

import select
import socket
from abc import ABC, abstractmethod

from tinykws.errors import EngineUnavailableError
from tinykws.harness.device.protocol import DeviceDisconnected


class Transport(ABC):
    """A bidirectional byte stream to a device; `description` names it for messages."""

    description: str = "device"

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of `data`."""

    @abstractmethod
    def read(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` seconds (at least one byte), or b""."""

    def close(self) -> None:
        """Close the connection. Safe to call twice."""

    def _read_when_ready(self, fd, receive, errors: tuple[type[BaseException], ...], timeout: float) -> bytes:
        """`receive()` once `fd` is readable within `timeout` s; b"" if it does not become
        readable; DeviceDisconnected on an error or end of stream."""
        try:
            ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
            if not ready:
                return b""
            data = receive()
        except errors as exc:
            raise DeviceDisconnected(f"{self.description}: the connection failed ({exc})") from None
        if not data:
            raise DeviceDisconnected(f"{self.description}: the device closed the connection")
        return data


class SocketTransport(Transport):
    """A connected socket (AF_UNIX or AF_INET)."""

    def __init__(self, sock: socket.socket, description: str):
        self.sock = sock
        self.description = description

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise DeviceDisconnected(f"{self.description}: cannot send ({exc})") from None

    def read(self, timeout: float) -> bytes:
        return self._read_when_ready(self.sock, lambda: self.sock.recv(65536), (OSError,), timeout)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class SerialTransport(Transport):
    """A serial port through pyserial (a board's USB UART, or a pty)."""

    def __init__(self, port: str, baudrate: int = 115200):
        try:
            import serial
        except ImportError:
            raise EngineUnavailableError("the serial system under test needs pyserial; install the serial extra "
                                         "(pip install 'tinykws[serial]')") from None
        try:
            self.port = serial.Serial(port, baudrate=baudrate, timeout=0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceDisconnected(f"serial port {port}: cannot open ({exc})") from None
        self.description = f"serial port {port} at {baudrate} baud"
        self._serial = serial

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except (self._serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"{self.description}: cannot send ({exc})") from None

    def read(self, timeout: float) -> bytes:
        return self._read_when_ready(self.port.fileno(), lambda: self.port.read(65536),
                                     (self._serial.SerialException, OSError), timeout)

    def close(self) -> None:
        try:
            self.port.close()
        except (self._serial.SerialException, OSError):
            pass
