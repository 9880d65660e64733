"""A throwaway PostgreSQL server on loopback for the ledger tests (Debian's ``postgresql``).

CI starts one in ``.ci/run`` and exports ``POLYTUI_TEST_PG_URL``; without it, the tests start
their own the same way (``initdb`` into a temporary directory, ``pg_ctl start`` on 127.0.0.1
and a free port, as the ``postgres`` user when running as root), or skip when no server
binaries are installed (``apt-get install postgresql``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

ENV_URL = "POLYTUI_TEST_PG_URL"


def server_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with ``initdb`` (Debian's layout), else the
    directory of an ``initdb`` on PATH."""
    for candidate in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )[::-1]:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(database: str = "polytui_test") -> Iterator[str]:
    """Start a server, create ``database``, yield its SQLAlchemy URL, stop and delete it."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (apt-get install postgresql)")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="polytui-pg-"))
    if as_root:
        shutil.chown(data, "postgres")
    port = _free_port()
    pgdata = data / "data"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120, cwd=data)

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        )
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(data / "log"),
            "-w",
            "-o",
            f"-k {data} -h 127.0.0.1 -p {port} -c fsync=on",
            "start",
        )
        try:
            run(
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                database,
            )
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
        finally:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
                cwd=data,
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)
