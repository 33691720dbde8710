"""A minimal cluster DNS for the test node: A records of Services and headless Service pods.

Why: no CoreDNS image can be had here, and pods reach each other by Service names
(``<svc>.<ns>.svc.cluster.local``). This test-only stand-in answers exactly those names from the
API server (ClusterIP, or the ready endpoint addresses of a headless Service, and
``<hostname>.<svc>.<ns>.svc...`` for StatefulSet pods); every other name is NXDOMAIN at once, so
nothing is forwarded anywhere. It never ships in a chart.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable

DOMAIN = "cluster.local"

#: ``get(path) -> (status, body)`` against the API server.
Getter = Callable[[str], tuple[int, bytes]]


class ClusterDns:
    """Serve A queries on ``(address, 53/udp)`` from a one-second cache of Services/Endpoints."""

    def __init__(self, address: str, get: Getter, port: int = 53) -> None:
        self._get = get
        self._records: dict[str, list[str]] = {}
        self._loaded = 0.0
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((address, port))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="cluster-dns", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()

    def _load(self) -> dict[str, list[str]]:
        with self._lock:
            if time.monotonic() - self._loaded < 1.0:
                return self._records
            records: dict[str, list[str]] = {}
            status, body = self._get("/api/v1/services")
            services = json.loads(body)["items"] if status == 200 else []
            status, body = self._get("/api/v1/endpoints")
            endpoints = json.loads(body)["items"] if status == 200 else []
            addresses: dict[tuple[str, str], list[dict[str, str]]] = {}
            for ep in endpoints:
                key = (ep["metadata"]["namespace"], ep["metadata"]["name"])
                for subset in ep.get("subsets") or []:
                    addresses.setdefault(key, []).extend(subset.get("addresses") or [])
            for svc in services:
                ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
                fqdn = f"{name}.{ns}.svc.{DOMAIN}"
                cluster_ip = svc["spec"].get("clusterIP")
                ready = addresses.get((ns, name), [])
                if cluster_ip and cluster_ip != "None":
                    records[fqdn] = [cluster_ip]
                else:
                    records[fqdn] = [a["ip"] for a in ready]
                for addr in ready:
                    if addr.get("hostname"):
                        records[f"{addr['hostname']}.{fqdn}"] = [addr["ip"]]
            self._records, self._loaded = records, time.monotonic()
            return records

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                packet, peer = self._sock.recvfrom(512)
            except OSError:
                return
            with contextlib.suppress(Exception):
                self._sock.sendto(self._answer(packet), peer)

    def _answer(self, packet: bytes) -> bytes:
        ident, _flags, qdcount = struct.unpack("!HHH", packet[:6])
        labels, offset = [], 12
        while packet[offset]:
            length = packet[offset]
            labels.append(packet[offset + 1 : offset + 1 + length].decode().lower())
            offset += 1 + length
        qtype, _qclass = struct.unpack("!HH", packet[offset + 1 : offset + 5])
        question = packet[12 : offset + 5]
        name = ".".join(labels)
        known = self._load()
        ips = known.get(name)
        if ips is None:
            # NXDOMAIN, authoritative: the resolver moves to its next search domain at once.
            return struct.pack("!HHHHHH", ident, 0x8583, qdcount, 0, 0, 0) + question
        answers = b""
        count = 0
        if qtype == 1:  # A
            for ip in ips:
                answers += struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(ip)
                count += 1
        return struct.pack("!HHHHHH", ident, 0x8580, qdcount, count, 0, 0) + question + answers
