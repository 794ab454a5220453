"""Alembic-style migrations for the example app, run by rf-agent's pre_switch hook.

Applies migrations/NNN_*.sql in order to the SQLite database both colors share
(APP_DB, default $HOME/data/app.db), each once, recording it in schema_migrations.
Migrations must stay backward compatible: the old color keeps serving from the
same database until the switch (add columns and tables; never drop or rename).
"""

import os
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    db = Path(os.environ.get("APP_DB") or Path(os.environ.get("HOME", "/tmp")) / "data" / "app.db")
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations")}
    for path in sorted(HERE.glob("[0-9][0-9][0-9]_*.sql")):
        if path.name in done:
            continue
        print(f"migrate: applying {path.name} to {db}", flush=True)
        try:
            with con:
                con.executescript(path.read_text(encoding="utf-8"))
                con.execute(
                    "INSERT INTO schema_migrations VALUES (?, datetime('now'))", (path.name,)
                )
        except sqlite3.Error as e:
            print(f"migrate: {path.name} failed: {e}", file=sys.stderr, flush=True)
            return 1
    print(f"migrate: {db} is at {len(list(HERE.glob('[0-9][0-9][0-9]_*.sql')))} migrations", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
