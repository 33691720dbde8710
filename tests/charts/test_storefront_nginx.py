"""frontend/nginx.conf run by a real nginx on loopback: it serves the storefront files (the admin
page at /admin too), proxies each API path to its upstream (three real HTTP servers standing in
for the API Services), keeps "/index.html" a file rather than the indexing API, and enforces the
body-size limit."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.charts.helm import REPO
from tests.support.kube import find_binary, free_port

FRONTEND = REPO / "frontend"


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request with JSON naming the upstream, the path and the forwarded headers."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        payload = {
            "upstream": self.server.name,  # type: ignore[attr-defined]
            "method": self.command,
            "path": self.path,
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "host": self.headers.get("Host"),
            "body_bytes": len(body),
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Storefront:
    url: str
    error_log: Path


def _upstream(name: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.name = name  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def render_template(template: str, env: dict[str, str]) -> str:
    """What the nginx image's envsubst step does: replace ${VAR} for the variables that are set."""
    return re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), m.group(0)), template)


@pytest.fixture(scope="module")
def storefront(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefront]:
    nginx = find_binary("nginx")
    tmp = tmp_path_factory.mktemp("nginx")
    servers = {name: _upstream(name) for name in ("search", "products", "index")}
    port = free_port()
    env = {
        "LISTEN_PORT": f"127.0.0.1:{port}",
        "SEARCH_UPSTREAM": servers["search"][1],
        "PRODUCTS_UPSTREAM": servers["products"][1],
        "INDEX_UPSTREAM": servers["index"][1],
        "CLIENT_MAX_BODY_SIZE": "1m",
    }
    site = render_template((FRONTEND / "nginx.conf").read_text(), env)
    assert "${" not in site
    # The image serves the files from /usr/share/nginx/html; here they stay in frontend/.
    (tmp / "site.conf").write_text(site.replace("/usr/share/nginx/html", str(FRONTEND)))
    temp_paths = " ".join(
        f"{kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp / "nginx.conf").write_text(
        f"daemon off; pid {tmp / 'nginx.pid'}; error_log {tmp / 'error.log'} info;\n"
        # As root, nginx's workers would drop to nobody and lose access to the temp dirs.
        + ("user root;\n" if os.geteuid() == 0 else "")
        + "events {}\n"
        "http {\n"
        f"  access_log off; {temp_paths}\n"
        "  types { text/html html; text/css css; application/javascript js; image/svg+xml svg; }\n"
        "  default_type application/octet-stream;\n"
        f"  include {tmp / 'site.conf'};\n"
        "}\n"
    )
    base = [str(nginx), "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf")]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, (tmp / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.1)
        yield Storefront(url=f"http://127.0.0.1:{port}", error_log=tmp / "error.log")
    finally:
        process.terminate()
        process.wait(timeout=10)
        for server, _ in servers.values():
            server.shutdown()


def fetch(url: str, data: bytes | None = None, method: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def proxied(storefront: Storefront, path: str, **kwargs: object) -> dict:
    status, body = fetch(storefront.url + path, **kwargs)  # type: ignore[arg-type]
    assert status == 200, (path, status, body[:200])
    return dict(json.loads(body))


def test_serves_the_storefront_files(storefront: Storefront) -> None:
    index = (FRONTEND / "index.html").read_bytes()
    assert fetch(storefront.url + "/") == (200, index)
    # "/index.html" is a file, not the indexing API under "/index".
    assert fetch(storefront.url + "/index.html") == (200, index)
    assert fetch(storefront.url + "/healthz") == (200, b"ok\n")
    # the admin page at /admin; its API under /admin/ is the search pods'
    admin = (FRONTEND / "admin.html").read_bytes()
    assert fetch(storefront.url + "/admin") == (200, admin)
    assert fetch(storefront.url + "/admin.html") == (200, admin)


def test_the_admin_page_with_a_slash_redirects_to_it(storefront: Storefront) -> None:
    """ "/admin/" is not proxied to the search pods (which answer it 404): nginx redirects it to
    the page, with a relative Location that keeps the shopper's host and port."""
    connection = http.client.HTTPConnection(storefront.url.removeprefix("http://"), timeout=10)
    for path, location in (("/admin/", "/admin"), ("/admin/?days=30", "/admin?days=30")):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert (response.status, response.getheader("Location")) == (308, location), path
    connection.close()
    assert fetch(storefront.url + "/admin/") == (200, (FRONTEND / "admin.html").read_bytes())


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/search?q=red+shoes&top_k=3", "search"),
        ("/info", "search"),
        ("/health", "search"),
        ("/ready", "search"),
        ("/metrics", "search"),
        ("/events", "search"),
        ("/admin/insights?days=7", "search"),
        ("/admin/status", "search"),
        ("/products/?skip=0&limit=40", "products"),
        ("/products/categories", "products"),
        ("/images/abc123.jpg", "products"),
        ("/index/jobs/42", "index"),
        ("/index/dead-letters", "index"),
    ],
)
def test_api_paths_reach_their_upstream(storefront: Storefront, path: str, upstream: str) -> None:
    answer = proxied(storefront, path)
    assert answer["upstream"] == upstream
    assert answer["path"] == path
    assert answer["forwarded_for"] == "127.0.0.1"


def test_uploads_are_proxied_up_to_the_limit(storefront: Storefront) -> None:
    answer = proxied(storefront, "/search", data=b"x" * 500_000, method="POST")
    assert (answer["upstream"], answer["method"], answer["body_bytes"]) == (
        "search",
        "POST",
        500_000,
    )
    answer = proxied(storefront, "/index", data=b"y" * 1000, method="POST")
    assert answer["upstream"] == "index"
    status, _ = fetch(storefront.url + "/search", data=b"z" * 2_000_000, method="POST")
    assert status == 413


def test_lookalike_paths_are_not_proxied(storefront: Storefront) -> None:
    for path in ("/searching", "/indexes", "/products.html"):
        status, body = fetch(storefront.url + path)
        assert b'"upstream"' not in body, path
        assert status in (200, 404), path
