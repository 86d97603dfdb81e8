"""Append-only tables: the database itself refuses to change or remove a row once written
(the action trail and the access log). One function states the guard for any table, on SQLite
and on PostgreSQL; `init_db` runs its statements after creating the tables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppendOnly:
    table: str
    refused: str  # the error a refused change raises, e.g. "the action trail is append-only"
    collides: str  # SQL over NEW: the insert would meet an existing row (INSERT OR REPLACE)
    function: str  # the PostgreSQL trigger function's name

    def sqlite(self) -> list[str]:
        t, refused = self.table, self.refused
        return [
            f"""CREATE TRIGGER IF NOT EXISTS {t}_no_update BEFORE UPDATE ON {t}
               BEGIN SELECT RAISE(ABORT, '{refused}'); END""",
            f"""CREATE TRIGGER IF NOT EXISTS {t}_no_delete BEFORE DELETE ON {t}
               BEGIN SELECT RAISE(ABORT, '{refused}'); END""",
            # INSERT OR REPLACE deletes the row it collides with without firing a delete
            # trigger: refuse any insert that would collide, before SQLite resolves the conflict.
            f"""CREATE TRIGGER IF NOT EXISTS {t}_no_replace BEFORE INSERT ON {t}
               WHEN EXISTS (SELECT 1 FROM {t} WHERE {self.collides})
               BEGIN SELECT RAISE(ABORT, '{refused}: the row exists (REPLACE refused)'); END""",
        ]

    def postgres(self) -> list[str]:
        t, fn = self.table, self.function
        return [
            f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger AS $$
               BEGIN RAISE EXCEPTION '{self.refused}'; END; $$ LANGUAGE plpgsql""",
            f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}",
            f"""CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
               FOR EACH ROW EXECUTE FUNCTION {fn}()""",
            f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}",
            f"""CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
               FOR EACH STATEMENT EXECUTE FUNCTION {fn}()""",
        ]

    def statements(self, postgres: bool) -> list[str]:
        return self.postgres() if postgres else self.sqlite()
