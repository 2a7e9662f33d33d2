"""Run ``baton serve`` in a network namespace and record every packet it tries to send off loopback.

Started by tests/test_network_isolation.py as ``unshare --net --mount python tests/netns_probe.py``
(root). In the new namespace only loopback exists, and every address is routed to it (``ip route add
local 0.0.0.0/0 dev lo``): a connection to any host or a DNS query reaches ``lo`` as a packet instead
of failing before it leaves the socket, and a packet socket on ``lo`` sees it, like ``tcpdump -i lo``.
``/etc/resolv.conf`` is replaced (in this mount namespace only) by one naming a TEST-NET resolver, so
a name lookup is a UDP packet to port 53 whatever the host's resolver is.

Before the server starts, the probe looks up a canary name and checks the capture saw it; then it
starts the server with neither ``ORT_DISABLE_TELEMETRY`` nor ``ANONYMIZED_TELEMETRY`` in its
environment (the service must set them itself), drives a human handoff to the end (the closed
handoff is embedded and stored in the case memory), and keeps listening for
``--seconds`` after start-up. It prints one JSON report: ``{"canary_seen": bool, "attempts": [...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from bench_server import TRIGGER, BatonServer, new_customer, register, say

_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4
_TCP, _UDP = 6, 17
_SYN, _ACK = 0x02, 0x10
RESOLVER = "192.0.2.53"  # TEST-NET-1: nothing real answers there
CANARY = "canary.baton-probe.example"
TELEMETRY_VARS = ("ORT_DISABLE_TELEMETRY", "ANONYMIZED_TELEMETRY")


@dataclass(frozen=True)
class Attempt:
    """One outbound packet: who it was for, and the name it asked for when it was a DNS query."""

    proto: str
    dst: str
    port: int
    query: str | None
    at_s: float


def _dns_name(payload: bytes) -> str | None:
    """The first question's name of a DNS query (None when it does not parse)."""
    labels, i = [], 12
    try:
        while payload[i]:
            size = payload[i]
            labels.append(payload[i + 1 : i + 1 + size].decode("ascii", "replace"))
            i += 1 + size
    except IndexError:
        return None
    return ".".join(labels)


def _parse(frame: bytes, started: float) -> Attempt | None:
    """An outbound attempt in one ``lo`` frame, or None (loopback traffic, replies, ICMP errors)."""
    ethertype = int.from_bytes(frame[12:14], "big")
    ip = frame[14:]
    if ethertype == 0x0800:
        proto, dst = ip[9], socket.inet_ntop(socket.AF_INET, ip[16:20])
        loopback = dst.startswith("127.")
        payload = ip[(ip[0] & 0x0F) * 4 :]
    elif ethertype == 0x86DD:
        proto, dst = ip[6], socket.inet_ntop(socket.AF_INET6, ip[24:40])
        loopback = dst == "::1"
        payload = ip[40:]
    else:
        return None
    if proto not in (_TCP, _UDP):
        return None  # the kernel's ICMP "unreachable" answers to the attempts themselves
    port = int.from_bytes(payload[2:4], "big")
    if proto == _TCP and (payload[13] & (_SYN | _ACK)) != _SYN:
        return None  # only connection attempts, not the RSTs refusing them or loopback traffic
    if loopback and port != 53:
        return None  # the test talking to the server
    query = _dns_name(payload[8:]) if proto == _UDP and port == 53 else None
    return Attempt("tcp" if proto == _TCP else "udp", dst, port, query, round(time.monotonic() - started, 2))


class Capture:
    """Every outbound attempt seen on ``lo``, recorded by a daemon thread."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.attempts: list[Attempt] = []
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
        self._sock.bind(("lo", 0))
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            frame, address = self._sock.recvfrom(65535)
            if address[2] == _PACKET_OUTGOING and (attempt := _parse(frame, self.started)):
                self.attempts.append(attempt)


def isolate(workdir: Path) -> None:
    """Loopback up, every address routed to it, and a resolver that can only be observed."""
    for cmd in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "local"],
        ["ip", "-6", "route", "add", "local", "::/0", "dev", "lo", "table", "local"],
    ):
        subprocess.run(cmd, check=True)
    resolv = workdir / "resolv.conf"
    resolv.write_text(f"nameserver {RESOLVER}\noptions timeout:1 attempts:1\n", encoding="utf-8")
    subprocess.run(["mount", "--bind", str(resolv), "/etc/resolv.conf"], check=True)


def canary_seen(capture: Capture) -> bool:
    """Look a name up and check the capture saw the query (else a clean report would prove nothing)."""
    with contextlib.suppress(OSError):  # nobody answers; the query is what counts
        socket.getaddrinfo(CANARY, 443)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(a.query == CANARY for a in capture.attempts):
            return True
        time.sleep(0.05)
    return False


class IsolatedServer(BatonServer):
    """``baton serve`` without the telemetry switches in its environment: it must set them itself."""

    def environment(self) -> dict[str, str]:
        """The usual environment minus the telemetry variables."""
        env = super().environment()
        for var in TELEMETRY_VARS:
            env.pop(var, None)
        return env


async def closed_handoff(server: BatonServer) -> None:
    """A customer asks for a person, an agent accepts and closes with a note (indexed in case memory)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        agent = await register(http, server, "maria")
        customer = await new_customer(http)
        await say(http, customer, "Hi, I'm Dana and I want to sell my 3 bedroom house in Brookline")
        turn = await say(http, customer, TRIGGER)
        handoff_id = turn["handoff"]["handoff_id"]
        for action, body in (("accept", None), ("complete", {"note": "valuation visit booked Friday"})):
            reply = await http.post(f"/v1/handoffs/{handoff_id}/{action}", json=body, headers=agent.auth)
            reply.raise_for_status()


def main() -> None:
    """Isolate, check the capture, run the server for ``--seconds`` after start-up, print the report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    isolate(args.workdir)
    capture = Capture()
    report: dict[str, object] = {"canary_seen": canary_seen(capture)}
    capture.attempts.clear()
    server = IsolatedServer(args.workdir / "data", env={"BATON_CASE_MEMORY": "true"})
    server.start(timeout=180)
    try:
        ready = time.monotonic()
        asyncio.run(closed_handoff(server))
        time.sleep(max(0.0, args.seconds - (time.monotonic() - ready)))
    finally:
        server.stop()
    # A late answer-less retry of the canary lookup (its AAAA twin) may land after the clear: ours.
    report["attempts"] = [asdict(a) for a in capture.attempts if a.query != CANARY]
    report["log"] = server.tail(20)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
