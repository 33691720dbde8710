"""The e2e cluster's stand-in for the storefront's base image, nginx-unprivileged
(tests/e2e/images/nginx: Debian's nginx laid out like the upstream image).

Why: the storefront image is frontend/Dockerfile built unchanged on that stand-in, so the stand-in
must carry the base's name, user and entry point, and its entry point must fill the storefront's
template exactly as the upstream one does (only the variables that are set, nginx's own ``$host``
and ``$uri`` left alone). Its main nginx.conf, with the storefront's rendered site in conf.d, is
checked by Debian's nginx (the package the stand-in installs). On the node, ``make e2e`` runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.charts.helm import REPO, render
from tests.charts.test_storefront_nginx import render_template
from tests.support.kube import find_binary

STANDIN = REPO / "tests" / "e2e" / "images" / "nginx"
FRONTEND = REPO / "frontend"
BUILD_SCRIPT = REPO / "tools" / "k8s" / "build-e2e-images.sh"


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    lines = [line for line in dockerfile.read_text().splitlines() if not line.startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in joined.splitlines()
        if line.strip()
    ]


def _storefront_env() -> dict[str, str]:
    """The storefront container's environment as the chart (and so the operator) sets it."""
    (deployment,) = [
        d
        for d in render()
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("storefront")
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_standin_is_built_under_the_name_the_storefront_image_builds_on() -> None:
    (base,) = [rest for word, rest in _instructions(FRONTEND / "Dockerfile") if word == "ARG"]
    name = base.split("=", 1)[1]
    assert name == "docker.io/nginxinc/nginx-unprivileged:1.27.0-alpine"
    script = BUILD_SCRIPT.read_text()
    assert f"build_only nginx {name}\n" in script
    # The base is built before the storefront image that names it (buildah never pulls here).
    assert script.index(f"build_only nginx {name}") < script.index(
        'build visual-search-storefront visual-search-storefront:0.1.0 "$REPO/frontend"'
    )


def test_standin_has_the_upstream_user_port_and_entry_point() -> None:
    instructions = _instructions(STANDIN / "Dockerfile")
    steps = dict(instructions)
    assert steps["FROM"] == "docker.io/library/python:3.11-slim-bookworm"  # the Python stand-in
    assert steps["USER"] == "101"  # the chart's storefront podSecurityContext runs as 101
    (pod,) = [
        d["spec"]["template"]["spec"]["securityContext"]
        for d in render()
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("storefront")
    ]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (101, 101)
    assert steps["EXPOSE"] == "8080"
    assert steps["ENTRYPOINT"] == '["/docker-entrypoint.sh"]'
    assert steps["CMD"] == '["nginx", "-g", "daemon off;"]'
    # No service starts during the package's install (the build shares the host's network).
    (install,) = [rest for word, rest in instructions if word == "RUN" and "apt-get" in rest]
    assert install.index("policy-rc.d") < install.index("apt-get install")
    # uid 101 must reach the log symlinks: Debian leaves /var/log/nginx 0750 root:adm, and nginx
    # opens its error log before reading any configuration (it refused to start without this).
    assert "ln -sf /dev/stderr /var/log/nginx/error.log" in install
    assert "chmod 0755 /var/log/nginx" in install


def test_entrypoint_fills_the_template_like_the_upstream_image(tmp_path: Path) -> None:
    templates, output, bin_dir = tmp_path / "templates", tmp_path / "conf.d", tmp_path / "bin"
    for folder in (templates, output, bin_dir):
        folder.mkdir()
    template = (FRONTEND / "nginx.conf").read_text()
    (templates / "default.conf.template").write_text(template)
    (templates / "notes.txt").write_text("not a template: ${SEARCH_UPSTREAM}")
    # A stand-in `nginx` on PATH that only says how it was started.
    fake = bin_dir / "nginx"
    fake.write_text('#!/bin/sh\necho "nginx started with: $*"\n')
    fake.chmod(0o755)
    env = {
        **_storefront_env(),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "NGINX_ENVSUBST_TEMPLATE_DIR": str(templates),
        "NGINX_ENVSUBST_OUTPUT_DIR": str(output),
    }
    result = subprocess.run(
        [str(STANDIN / "docker-entrypoint.sh"), "nginx", "-g", "daemon off;"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "nginx started with: -g daemon off;"
    assert sorted(p.name for p in output.iterdir()) == ["default.conf"]
    site = (output / "default.conf").read_text()
    assert site == render_template(template, env)
    assert "${" not in site
    assert f"proxy_pass {env['SEARCH_UPSTREAM']};" in site
    assert f"listen {env['LISTEN_PORT']};" in site
    for own in ("$host", "$remote_addr", "$proxy_add_x_forwarded_for", "$uri"):
        assert own in site, own  # nginx's variables are not the environment's


def test_entrypoint_runs_other_commands_untouched(tmp_path: Path) -> None:
    output = tmp_path / "conf.d"
    output.mkdir()
    result = subprocess.run(
        [str(STANDIN / "docker-entrypoint.sh"), "sh", "-c", "echo plain"],
        env={**os.environ, "NGINX_ENVSUBST_OUTPUT_DIR": str(output)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout) == (0, "plain\n"), result.stderr
    assert not list(output.iterdir())


def test_standin_configuration_is_valid_for_debians_nginx(tmp_path: Path) -> None:
    """The stand-in's nginx.conf with the storefront's rendered site in conf.d, checked by
    `nginx -t`; the image's absolute paths are moved under a temporary folder."""
    etc, tmp, logs = tmp_path / "etc", tmp_path / "tmp", tmp_path / "log"
    for folder in (etc / "conf.d", tmp, logs):
        folder.mkdir(parents=True)
    main = (STANDIN / "nginx.conf").read_text()
    for needed in (
        "pid /tmp/",
        "include /etc/nginx/conf.d/*.conf;",
        "include /etc/nginx/mime.types;",
    ):
        assert needed in main, needed
    assert not re.search(r"^\s*user\s", main, re.M)  # runs as the container's uid 101
    temp_paths = re.findall(r"^\s*(\w+_temp_path) (\S+);", main, re.M)
    assert {name for name, _ in temp_paths} == {
        f"{kind}_temp_path" for kind in ("proxy", "client_body", "fastcgi", "uwsgi", "scgi")
    }
    assert all(path.startswith("/tmp/") for _, path in temp_paths)  # read-only root file system
    places = {"/etc/nginx/": f"{etc}/", "/tmp/": f"{tmp}/", "/var/log/nginx/": f"{logs}/"}
    moved = re.sub("|".join(map(re.escape, places)), lambda m: places[m.group(0)], main)
    (etc / "nginx.conf").write_text(moved)
    (etc / "mime.types").write_text("types { text/html html; text/css css; }\n")
    # The chart's values, but upstreams that resolve here (Service names resolve in the cluster).
    env = {**_storefront_env(), "SEARCH_UPSTREAM": "http://127.0.0.1:1",
           "PRODUCTS_UPSTREAM": "http://127.0.0.1:2", "INDEX_UPSTREAM": "http://127.0.0.1:3"}  # fmt: skip
    site = render_template((FRONTEND / "nginx.conf").read_text(), env)
    (etc / "conf.d" / "default.conf").write_text(site)
    nginx = find_binary("nginx")
    check = subprocess.run(
        [str(nginx), "-t", "-p", str(tmp_path), "-e", str(logs / "error.log"),
         "-c", str(etc / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "syntax is ok" in check.stderr
