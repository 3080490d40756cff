"""Named trend queries: the .sql files under `sql_dir/trends/`, listed and run with bound parameters.

Each query file starts with a comment header::

    -- name: top_entities_weekly
    -- description: Per week, the top entities by ...
    -- params: since (date), until (date), topic (text, default russian_interference), limit (int, default 20)

and reads its parameters as DuckDB variables (`getvariable('since')`), falling back to a default when a
variable is unset. The same file therefore runs unchanged in the duckdb CLI (`SET VARIABLE since =
'2026-10-01';`) and from here, where each given parameter is set with `SET VARIABLE "name" = ?` and a
bound value, and every declared parameter not given is reset so that nothing leaks between calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["PARAM_TYPES", "QueryInfo", "QueryParam", "list_queries", "load_query", "run_query"]

# Parameter (and query) names: also what makes it safe to put a parameter name into SET VARIABLE,
# which cannot take the variable name as a bound parameter.
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_HEADER_LINE = re.compile(r"^--\s?(?P<body>.*)$")
_HEADER_FIELD = re.compile(r"^(?P<key>name|description|params)\s*:\s*(?P<value>.*)$")
_PARAM = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<spec>[^()]*)\))?$")


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "t", "yes", "y", "1"}:
        return True
    if lowered in {"false", "f", "no", "n", "0"}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


# Declared type -> how a `--param k=v` string becomes the value that is bound. Binding typed values
# (not the raw string) turns a bad value into a clear ValueError here instead of a cast error in SQL.
PARAM_TYPES: dict[str, Callable[[str], Any]] = {
    "text": str,
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
    "int": int,
    "float": float,
    "bool": _parse_bool,
}


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter: its name, type, the default the SQL falls back to (as documented in the
    header; None when unset means "no filter"), and any other note from the header."""

    name: str
    type: str = "text"
    default: str | None = None
    note: str = ""


@dataclass(frozen=True)
class QueryInfo:
    """A query file and what its header declares."""

    name: str
    description: str
    params: tuple[QueryParam, ...]
    path: Path

    @property
    def param_names(self) -> tuple[str, ...]:
        """The declared parameter names, in header order."""
        return tuple(p.name for p in self.params)


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _parse_params(text: str, path: Path) -> tuple[QueryParam, ...]:
    """Parse `since (date), topic (text, default x), label (text, optional)`."""
    params: list[QueryParam] = []
    for item in _split_top_level(text):
        match = _PARAM.match(item)
        if match is None or not _NAME.match(match["name"]):
            raise ValueError(f"{path}: bad parameter declaration {item!r}")
        spec = [s.strip() for s in (match["spec"] or "").split(",") if s.strip()]
        type_name = spec[0] if spec else "text"
        if type_name not in PARAM_TYPES:
            raise ValueError(f"{path}: parameter {match['name']!r} has unknown type {type_name!r}")
        default: str | None = None
        notes: list[str] = []
        for extra in spec[1:]:
            if extra.startswith("default "):
                default = extra.removeprefix("default ").strip()
            else:
                notes.append(extra)
        params.append(QueryParam(match["name"], type_name, default, ", ".join(notes)))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a parameter is declared twice: {names}")
    return tuple(params)


def _parse_header(path: Path, text: str) -> QueryInfo:
    """Read the leading `-- key: value` comment lines; a comment line without a key continues the
    previous field (so long descriptions may wrap), a blank comment line ends the header."""
    fields: dict[str, str] = {}
    last: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        comment = _HEADER_LINE.match(line)
        if comment is None:
            break  # the SQL starts
        body = comment["body"].strip()
        if not body:
            if fields:
                break
            continue
        field = _HEADER_FIELD.match(body)
        if field is not None:
            last = field["key"]
            fields[last] = field["value"].strip()
        elif last is not None and last in {"description", "params"}:
            fields[last] = (fields[last] + " " + body).strip()
        else:
            last = None  # an ordinary comment: not part of any field
    name = fields.get("name", path.stem)
    if name != path.stem:
        raise ValueError(f"{path}: header name {name!r} does not match the file name")
    if not _NAME.match(name):
        raise ValueError(f"{path}: query name {name!r} must match {_NAME.pattern}")
    return QueryInfo(
        name=name,
        description=fields.get("description", ""),
        params=_parse_params(fields.get("params", ""), path),
        path=path,
    )


def list_queries(sql_dir: Path) -> list[QueryInfo]:
    """Every query in `sql_dir/trends/*.sql`, by name, with its description and declared params."""
    return [
        _parse_header(path, path.read_text(encoding="utf-8"))
        for path in sorted((Path(sql_dir) / "trends").glob("*.sql"))
    ]


def load_query(sql_dir: Path, name: str) -> tuple[QueryInfo, str]:
    """The header and SQL text of query `name`; KeyError (naming the known queries) if there is none."""
    queries = {q.name: q for q in list_queries(sql_dir)}
    info = queries.get(name)
    if info is None:
        known = ", ".join(sorted(queries)) or "(none)"
        raise KeyError(f"unknown query {name!r}; known queries: {known}")
    return info, info.path.read_text(encoding="utf-8")


def _variable(name: str) -> str:
    """A quoted variable name for SET/RESET VARIABLE (quoted because `limit` is a keyword).

    Only ever called with a name that matched `_NAME` and is declared by the query file."""
    if not _NAME.match(name):
        raise ValueError(f"bad variable name {name!r}")
    return '"' + name + '"'


def _bind_values(info: QueryInfo, params: Mapping[str, str]) -> dict[str, Any]:
    declared = {p.name: p for p in info.params}
    values: dict[str, Any] = {}
    for key, raw in params.items():
        if not _NAME.match(key) or key not in declared:
            allowed = ", ".join(info.param_names) or "(none)"
            raise ValueError(f"query {info.name!r} has no parameter {key!r}; its parameters: {allowed}")
        param = declared[key]
        try:
            values[key] = PARAM_TYPES[param.type](raw)
        except ValueError as exc:
            raise ValueError(f"parameter {key!r} of query {info.name!r} wants a {param.type}: {exc}") from exc
    return values


def run_query(
    con: duckdb.DuckDBPyConnection, sql_dir: Path, name: str, params: Mapping[str, str]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run query `name` from `sql_dir/trends/` with `params` (strings, converted by declared type);
    return (column names, rows).

    Raises KeyError for an unknown query and ValueError for an undeclared parameter or a value that
    does not parse as the declared type. Variables are set with bound values, and every declared
    variable is reset again afterwards, so that a later query on the same connection (or a user's
    ad-hoc SQL) never sees them."""
    info, sql_text = load_query(sql_dir, name)
    values = _bind_values(info, params)
    try:
        for param in info.params:
            if param.name in values:
                con.execute("SET VARIABLE " + _variable(param.name) + " = ?", [values[param.name]])
            else:
                # An earlier call (or the user) may have set it: unset means "use the default".
                con.execute("RESET VARIABLE " + _variable(param.name))
        cursor = con.execute(sql_text)
        columns = [d[0] for d in cursor.description or []]
        rows = [tuple(r) for r in cursor.fetchall()]
    finally:
        for param in info.params:
            con.execute("RESET VARIABLE " + _variable(param.name))
    return columns, rows
