"""The package as a user gets it: `pip install` into a fresh virtual environment, then served from another folder."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.server import ROOT, free_port

PIP_TIMEOUT = 600  # seconds; pip's cache usually makes the install take well under a minute
START_TIMEOUT = 60.0  # seconds `council serve` may take to answer /api/v1/health
# Left out of the copy that pip builds from: what a checkout accumulates but a source distribution never holds.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis")
# Nothing of the checkout or of the developer's settings may leak into the installed package's processes.
NOT_PASSED_ON = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "XDG_DATA_HOME", "XDG_RUNTIME_DIR"}
# Run by the new venv's python: its site-packages and the files the project's packages were imported from.
WHERE_IMPORTED = ("import json, sysconfig, api, council, domain, projections; "
                  "print(json.dumps({'site': sysconfig.get_path('purelib'), "
                  "'files': [m.__file__ for m in (api, council, domain, projections)]}))")


def clean_environment(**extra: str) -> dict[str, str]:
    kept = {name: value for name, value in os.environ.items()
            if name not in NOT_PASSED_ON and not name.startswith("COUNCIL_")}
    return kept | extra


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def health(port: int, path: str = "/api/v1/health") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_package_installed_into_a_fresh_venv_serves_health_from_another_folder(tmp_path):
    started = time.monotonic()
    tmp_path = tmp_path.resolve()
    # pip builds in the source tree (build/, *.egg-info): it gets a copy, so the checkout stays untouched.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=clean_environment())
    python, council = venv / "bin" / "python", venv / "bin" / "council"
    pip_started = time.monotonic()
    run([str(python), "-m", "pip", "install", str(source)], cwd=tmp_path, env=clean_environment(),
        timeout=PIP_TIMEOUT)
    print(f"\npip install took {time.monotonic() - pip_started:.1f} s")
    assert council.is_file(), f"pip installed no `council` script into {venv / 'bin'}"

    data, home, elsewhere = tmp_path / "data", tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    port = free_port()
    env = clean_environment(COUNCIL_DATA_DIR=str(data), HOME=str(home), COUNCIL_BIND=f"127.0.0.1:{port}",
                            COUNCIL_WORKERS="1", PYTHONUNBUFFERED="1")

    imported = json.loads(run([str(python), "-c", WHERE_IMPORTED], cwd=elsewhere, env=env))
    site = Path(imported["site"]).resolve()
    assert site.is_relative_to(venv), imported
    for file in map(Path, imported["files"]):
        assert file.resolve().is_relative_to(site), f"{file} is not the installed copy in {site}"
        assert not file.resolve().is_relative_to(ROOT), f"{file} was imported from the checkout"

    initialized = run([str(council), "db", "init"], cwd=elsewhere, env=env)
    assert f"database sqlite:///{data}/council.db" in initialized, initialized
    assert f"evidence files in {data}/evidence" in initialized, initialized
    assert (data / "council.db").is_file(), f"no database in {data}: {sorted(p.name for p in data.iterdir())}"

    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([str(council), "serve"], cwd=elsewhere, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                raise AssertionError(f"council serve exited with {server.returncode}:\n{log_path.read_text()}")
            try:
                status, body = health(port)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"council serve did not answer /api/v1/health on port {port} "
                                     f"within {START_TIMEOUT} s:\n{log_path.read_text()}")
            time.sleep(0.2)
        answer = json.loads(body)
        assert answer["status"] == "ok" and answer["database"] == "ok", f"{answer}\n{log_path.read_text()}"
        assert answer["backend"] == "sqlite", f"{answer}\n{log_path.read_text()}"
        # The pages' templates, stylesheet and catalogues and Swagger UI's files are package data, not checkout files.
        status, login = health(port, "/login")
        assert status == 200 and "Đăng nhập".encode() in login, login[:500]
        assert health(port, "/static/pages/pages.css")[0] == 200
        status, docs = health(port, "/api/v1/docs")
        assert status == 200 and b"/api/v1/docs/assets/swagger-ui-bundle.js" in docs, docs[:500]
        assert health(port, "/api/v1/docs/assets/swagger-ui-bundle.js")[0] == 200
        served = log_path.read_text()
        assert f"serving database sqlite:///{data}/council.db" in served, served
        assert list(elsewhere.iterdir()) == [], f"the commands wrote into the folder they ran in:\n{served}"
    finally:
        if server.poll() is None:
            server.terminate()  # SIGTERM: gunicorn's graceful stop
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)
    print(f"installed package served /api/v1/health; whole test took {time.monotonic() - started:.1f} s")
