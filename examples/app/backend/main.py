"""Example FastAPI backend for rf-agent's blue/green deploys.

Endpoints answer both at the root (/health) and under /api/, because nginx
proxies the location /api/ to this process with the URI unchanged.

Fault injection for tests: an optional file FAULT in the app root (next to
VERSION) holding one of
    exit-at-start          exit with status 1 at import
    never-healthy          /health and /api/health always answer 503
    unhealthy-after N      healthy for N seconds after start, then 503 forever
    exit-after N           serve normally, then exit with status 1 N seconds after start
    slow-start N           sleep N seconds at import, before serving
No file (or an empty one) means normal behaviour.
"""

import os
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.monotonic()
APP_ROOT = Path(__file__).resolve().parent.parent


def _read_text(name: str) -> str | None:
    try:
        return (APP_ROOT / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def _parse_fault(text: str | None) -> tuple[str | None, float]:
    """Return (mode, seconds) from the FAULT file's content."""
    if not text:
        return None, 0.0
    words = text.split()
    mode, args = words[0], words[1:]
    if mode in ("exit-at-start", "never-healthy") and not args:
        return mode, 0.0
    if mode in ("unhealthy-after", "slow-start", "exit-after") and len(args) == 1:
        try:
            seconds = float(args[0])
        except ValueError:
            seconds = -1.0
        if seconds >= 0:
            return mode, seconds
    print(f"backend: FAULT file has an unknown fault {text!r}; exiting", file=sys.stderr, flush=True)
    sys.exit(1)


FAULT, FAULT_SECONDS = _parse_fault(_read_text("FAULT"))

if FAULT == "exit-at-start":
    print("backend: FAULT exit-at-start: exiting with status 1", file=sys.stderr, flush=True)
    sys.exit(1)
if FAULT == "exit-after":
    import threading

    def _exit_later() -> None:
        time.sleep(FAULT_SECONDS)
        print(f"backend: FAULT exit-after: exiting after {FAULT_SECONDS:g} s", file=sys.stderr, flush=True)
        os._exit(1)

    threading.Thread(target=_exit_later, daemon=True).start()
if FAULT == "slow-start":
    print(f"backend: FAULT slow-start: sleeping {FAULT_SECONDS:g} s", file=sys.stderr, flush=True)
    time.sleep(FAULT_SECONDS)

from fastapi import FastAPI, HTTPException, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

VERSION = _read_text("VERSION") or "unknown"
COLOR = os.environ.get("RF_COLOR") or "unknown"

ITEMS = [
    {"id": 1, "name": "anvil", "price": 120.0},
    {"id": 2, "name": "rope", "price": 9.5},
    {"id": 3, "name": "lantern", "price": 24.0},
]

app = FastAPI(title="rf-agent example", version=VERSION)


def _healthy() -> bool:
    if FAULT == "never-healthy":
        return False
    if FAULT == "unhealthy-after":
        return time.monotonic() - STARTED < FAULT_SECONDS
    return True


@app.get("/health")
@app.get("/api/health")
def health() -> JSONResponse:
    if not _healthy():
        body = {"status": "unhealthy", "version": VERSION, "color": COLOR, "fault": FAULT}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "version": VERSION, "color": COLOR})


@app.get("/api/version")
def version() -> dict[str, str]:
    return {"version": VERSION, "color": COLOR}


@app.get("/api/items")
def items() -> list[dict[str, Any]]:
    return ITEMS


@app.post("/api/echo")
async def echo(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(status_code=400, detail="body must be JSON") from None
    return {"echo": body, "version": VERSION, "color": COLOR}


@app.get("/api/db")
def db() -> dict[str, Any]:
    """The migrations the shared database has (see migrations/migrate.py)."""
    import sqlite3

    path = Path(os.environ.get("APP_DB") or Path(os.environ.get("HOME", "/tmp")) / "data" / "app.db")
    if not path.exists():
        return {"db": str(path), "migrations": []}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        try:
            rows = con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
        except sqlite3.Error:
            rows = []
    return {"db": str(path), "migrations": [r[0] for r in rows]}
