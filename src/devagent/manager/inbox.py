"""The inbox: every request a proxy refused that the user may decide on, folded into one
item per environment, host and port, across every project and agent.

Items come from the proxies' refusal logs (on the host, where the app cannot write; what
a log line says is the agent's doing, so it is bounded and shown inert). They and the
user's answers live in one SQLite database in devagent's data directory, so that the CLI,
the TUI and the web page, at once, never lose an item or an answer. Answers go where
`devagent allow` goes: the project's allowlist state and its live policy file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from devagent.errors import ProjectError
from devagent.manager import agents, allowlist
from devagent.manager.context import Context
from devagent.manager.environments import require_files
from devagent.manager.requestlog import read, record_time
from devagent.project import identify
from devagent.proxy.decision import NOT_ALLOWED
from devagent.proxy.records import BLOCKED, PRIVATE_ADDRESS, PROBE_HOST, bounded

DECIDED_ON = (NOT_ALLOWED, PRIVATE_ADDRESS)  # refusals a user answers (not attacks, not bugs)
PENDING, ALLOWED, ALLOWED_FOR, DECLINED = "pending", "allowed", "allowed for a while", "declined"
SCHEMA = """
create table if not exists items (
    id integer primary key autoincrement,
    project_hash text not null, host text not null, port integer not null,
    entry text not null, method text not null default '', path text not null default '',
    first real not null, last real not null, count integer not null,
    state text not null default 'pending', decided real, until real,
    unique (project_hash, host, port)
)
"""


@dataclass(frozen=True)
class InboxItem:
    id: int
    project_hash: str
    project_path: str
    agent: str | None
    host: str
    port: int
    entry: str  # what `allow` would add
    method: str
    path: str
    first: float
    last: float
    count: int
    state: str
    until: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InboxResult:
    items: tuple[InboxItem, ...]
    decided: InboxItem | None = None  # the item just answered (approve, reject)

    @property
    def pending(self) -> int:
        return sum(item.state == PENDING for item in self.items)

    def to_json(self) -> dict[str, Any]:
        return {"items": [i.to_json() for i in self.items], "pending": self.pending,
                "decided": self.decided.to_json() if self.decided else None}  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """The user's answer to an item: allow (always, or for ``seconds``) or decline."""

    allow: bool
    always: bool = False
    seconds: float = 600.0


@contextlib.contextmanager
def _database(context: Context) -> Iterator[sqlite3.Connection]:
    path = context.paths.data_dir / "inbox.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute("pragma journal_mode=wal")
        connection.execute(SCHEMA)
        connection.row_factory = sqlite3.Row
        yield connection
    finally:
        connection.close()


def entry_for(host: str, port: int, reason: str) -> str:
    """The allowlist entry that lets a refused destination through (a private address
    needs the entry to say it may)."""
    suffix = " private" if reason == PRIVATE_ADDRESS else ""
    if port in (80, 443):
        return host + suffix
    return (f"[{host}]:{port}" if ":" in host else f"{host}:{port}") + suffix


def _fold(log_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """The refusals of one environment's log, one fold per host and port."""
    folds: dict[tuple[str, int], dict[str, Any]] = {}

    def wanted(record: dict[str, Any]) -> bool:
        return (record.get("decision") == BLOCKED and record.get("reason") in DECIDED_ON
                and record.get("host") != PROBE_HOST)  # fmt: skip

    for record in read(log_dir, wanted):
        host, port = bounded(record.get("host", ""), 253), record.get("port")
        when = record_time(record)
        if not host or not isinstance(port, int) or when is None:
            continue
        moment = when.timestamp()
        fold = folds.setdefault((host, port), {"first": moment, "count": 0})
        # The latest refusal says what lets it through (a private address needs "private").
        fold.update(last=moment, count=fold["count"] + 1,
                    entry=entry_for(host, port, record["reason"]),
                    method=bounded(record.get("method", ""), 16),
                    path=bounded(record.get("path", ""), 200))  # fmt: skip
    return folds


def collect(context: Context) -> None:
    """Fold every environment's refusals into the database (a repeat raises the count; a
    refusal after an approval makes the item pending again - one more than a second after
    it: squid keeps a refusal for a second, so a retry at once may still meet the old one)."""
    logs = context.paths.data_dir / "proxy-logs"
    rows = []
    for log_dir in sorted(logs.iterdir()) if logs.is_dir() else []:
        for (host, port), fold in _fold(log_dir).items():
            rows.append((log_dir.name, host, port, fold["entry"], fold["method"], fold["path"],
                         fold["first"], fold["last"], fold["count"]))  # fmt: skip
    with _database(context) as db:
        db.executemany(
            """insert into items (project_hash, host, port, entry, method, path, first, last,
                                  count) values (?, ?, ?, ?, ?, ?, ?, ?, ?)
               on conflict (project_hash, host, port) do update set
                 first = min(first, excluded.first), last = max(last, excluded.last),
                 count = max(count, excluded.count), method = excluded.method,
                 path = excluded.path, entry = excluded.entry,
                 state = case when state in ('allowed', 'allowed for a while')
                               and (excluded.count > count or excluded.last > last)
                               and excluded.last > decided + 1
                          then 'pending' else state end""",
            rows,
        )


def _project_path(context: Context, key: str) -> str:
    try:
        return context.paths.project_record_file(key).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _item(context: Context, row: sqlite3.Row) -> InboxItem:
    path = _project_path(context, row["project_hash"])
    agent = agents.agent_of(context, identify(path, must_exist=False)) if path else None
    fields = ("host", "port", "entry", "method", "path", "first", "last", "count", "state",
              "until")  # fmt: skip
    return InboxItem(row["id"], row["project_hash"], path, agent.name if agent else None,
                     *(row[name] for name in fields))  # fmt: skip


def items(context: Context, *, everything: bool = False) -> InboxResult:
    """The items waiting for the user (``everything``: answered ones too), newest first."""
    collect(context)
    with _database(context) as db:
        rows = db.execute(
            "select * from items where ? or state = 'pending' order by last desc, id desc",
            (everything,),
        ).fetchall()
    return InboxResult(tuple(_item(context, row) for row in rows))


def decide(context: Context, item_id: int, how: Answer) -> InboxResult:
    """Answer one item: allow it always or for a while, or decline it."""
    collect(context)  # what was refused until now is answered too (it is not new after)
    with _database(context) as db:
        row = db.execute("select * from items where id = ?", (item_id,)).fetchone()
    if row is None:
        raise ProjectError(f"no inbox item {item_id}", hint="`devagent inbox` lists them")
    item = _item(context, row)
    if not item.project_path:
        raise ProjectError(f"inbox item {item_id}: its environment's folder is not known")
    project = identify(item.project_path, must_exist=False)
    require_files(project)
    now, until = time.time(), None
    if how.allow and how.always:
        allowlist.answer(context, project, item.entry, item.host, until=None)
        allowlist.change(context, project, allow=[item.entry])
        state = ALLOWED
    else:
        until = now + how.seconds if how.allow else None
        state = ALLOWED_FOR if how.allow else DECLINED
        allowlist.answer(context, project, item.entry, item.host, until=until,
                         decline=not how.allow)  # fmt: skip
    with _database(context) as db:
        db.execute("update items set state = ?, decided = ?, until = ? where id = ?",
                   (state, now, until, item_id))  # fmt: skip
        decided = db.execute("select * from items where id = ?", (item_id,)).fetchone()
    return InboxResult(items(context).items, _item(context, decided))
