#!/usr/bin/env python3
"""Where sqlparser 0.64 and the real server disagree on how SQL groups, and which of those
disagreements let a statement that tenantry's analyser accepts as confined leak rows.

The analyser accepts a statement when `<tenant column> = :tenant` is a top-level AND-conjunct
of the WHERE in sqlparser's AST. If the server groups the same text differently, say
`(tenant_id = ? AND x) XOR y` where sqlparser read `tenant_id = ? AND (x XOR y)`, the
statement the analyser proved confined returns other tenants' rows.

Method, per dialect (PostgreSQL, MySQL/MariaDB, SQLite):

1. Operator pairs. For every operator X that takes a right operand (infix or prefix) and
   every operator Y that takes a left operand (infix or postfix) the script writes
   `a X b Y c` with literal operands, and also `(a X b) Y c` ("left") and `a X (b Y c)`
   ("right"). sqlparser's reading comes from the real parser: scripts/precedence-probe
   parses each text and renders it back with every compound expression parenthesised
   (so `SELECT a X b Y c` becomes e.g. `SELECT ((a X b) Y c)`), which names sqlparser's
   grouping (the rendering of the text equals the rendering of "left" or "right") and is
   itself SQL the server can run. The server evaluates the original, "left", "right" and
   sqlparser's rendering for several operand values (errors are outcomes too: in
   PostgreSQL `integer = boolean` fails where `boolean = boolean` does not). The server's
   grouping is the one that matches the original on every value; the pair disagrees when
   the server's value of the original differs from its value of sqlparser's rendering.
2. Leaks. Every operator is put next to the tenant conjunct T = `tenant_id = :tenant`, as
   `T AND b Y c`, `a X b AND T` and `T AND a X b OR 1` (the last catches a prefix whose
   operand sqlparser lets run over OR, as MySQL's BINARY), with a few operand values.
   Each statement goes through tenantry's own analyser (the probe links it, feature
   `analyzer`); when the analyser accepts it, the SQL exactly as generated code sends it
   (placeholders rewritten by the analyser) runs on the server with the tenant bound to 1,
   against a table that also holds tenant 2's rows. LEAK = accepted and tenant 2's rows
   come back. (A grouping disagreement between two operators that both bind tighter than
   AND cannot move the tenant conjunct: it changes a value inside one conjunct.)
3. Constructs whose meaning depends on a server setting or on lexing (MySQL `||` without
   PIPES_AS_CONCAT, HIGH_NOT_PRECEDENCE, NO_BACKSLASH_ESCAPES, ANSI_QUOTES, `--` comments,
   `#`, nested `/* */`, PostgreSQL standard_conforming_strings, E'', dollar quotes, SQLite's
   double-quoted-string fallback, ...): hand-written statements, checked the same way as
   in step 2, each under the session setting it needs.

Servers (start them first, e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql)
main start` and `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`):
  PostgreSQL  psql -h 127.0.0.1 -U postgres test   (override with --pg "psql args")
  MariaDB     mysql -h127.0.0.1 -uroot test        (override with --mysql "mysql args")
  SQLite      python3's sqlite3 module and the SQLite that sqlx bundles (libsqlite3-sys
              0.37, linked into the probe); both versions are printed.
A dialect whose server cannot be reached is skipped with a note. The script only creates
session-local objects (a pg_temp function, TEMP/TEMPORARY tables, an in-memory SQLite
database) and changes session settings only.

The probe is its own Cargo workspace (scripts/precedence-probe, not a member of the tenantry
workspace) and needs its own build: this script runs `cargo build --manifest-path
scripts/precedence-probe/Cargo.toml` into --target-dir (default: a directory under the
system temp dir, so the work tree stays clean). If the probe does not build with the
analyser (the analyser mid-edit), it is rebuilt without it and step 2 falls back to
sqlparser's conjuncts and a naive placeholder rewrite, which the report says.

Usage:
  python3 scripts/operator-precedence.py [--dialects postgres,mysql,sqlite] [--quick]
        [--cases-only] [--verbose] [--json FILE]
--quick uses fewer operand values per pair; --cases-only skips the pair matrix and the
operator-next-to-the-tenant-conjunct probes; --verbose prints agreeing pairs too.
A full run takes about 1.5 minutes on two cores (the first build of the probe about as long).
Exit status: 0 when it ran (whatever it found), 2 when the probe cannot be built.
"""

import argparse
import itertools
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE_MANIFEST = HERE / "precedence-probe" / "Cargo.toml"

# --------------------------------------------------------------------------------------
# The probe: sqlparser 0.64 (same pin as the workspace), tenantry's analyser, bundled SQLite
# --------------------------------------------------------------------------------------


class Probe:
    def __init__(self, manifest, target_dir, verbose=False):
        self.manifest = Path(manifest)
        self.target_dir = Path(target_dir)
        self.verbose = verbose
        self.analyzer = True
        self.binary = None

    def build(self):
        for features in (["--features", "analyzer"], ["--no-default-features"]):
            cmd = [
                "cargo", "build", "--quiet", "--manifest-path", str(self.manifest),
                "--target-dir", str(self.target_dir), *features,
            ]
            lock = self.manifest.parent / "Cargo.lock"
            if lock.exists():
                cmd.append("--locked")
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode == 0:
                self.analyzer = features[-1] == "analyzer"
                # both builds write the same binary name; the last one built is the one run
                self.binary = self.target_dir / "debug" / "precedence-probe"
                return
            sys.stderr.write(f"probe build {' '.join(features)} failed:\n{r.stderr[-3000:]}\n")
        raise SystemExit(2)

    def run(self, requests):
        """requests: list of (command, dialect, sql); answers: list of (ok, a, b)."""
        if not requests:
            return []
        data = "".join(f"{c}\t{d}\t{s.encode().hex()}\n" for c, d, s in requests)
        r = subprocess.run([str(self.binary)], input=data, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"probe failed: {r.stderr[-2000:]}")
        out = []
        for line in r.stdout.splitlines():
            parts = line.split("\t")
            vals = [bytes.fromhex(p).decode() for p in parts[1:]]
            if parts[0] == "OK":
                out.append((True, vals[0], vals[1] if len(vals) > 1 else ""))
            else:
                out.append((False, vals[0], ""))
        assert len(out) == len(requests), (len(out), len(requests))
        return out


# --------------------------------------------------------------------------------------
# Servers. Each takes a list of steps and answers one outcome string per "eval" step:
#   "V:<text>"  a value (first column of the first row), "NULL", "NOROW",
#   "ERR:<code>: <message>"
# A step is ("set", sql) -- a session statement, its outcome ignored -- or
# ("eval", sql, nparams) -- run sql with nparams parameters all bound to the integer 1.
# --------------------------------------------------------------------------------------


class Postgres:
    name = "postgres"
    title = "PostgreSQL"

    def __init__(self, args):
        self.args = shlex.split(args)

    FUNC = r"""
CREATE FUNCTION pg_temp.ev(q text, p int) RETURNS text LANGUAGE plpgsql AS $ev$
DECLARE r text; n int;
BEGIN
  IF p IS NULL THEN EXECUTE q INTO r; ELSE EXECUTE q INTO r USING p; END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN RETURN 'NOROW'; END IF;
  RETURN coalesce('V:' || r, 'NULL');
EXCEPTION WHEN others THEN
  RETURN 'ERR:' || SQLSTATE || ': ' || SQLERRM;
END $ev$;
"""

    def version(self):
        r = subprocess.run(["psql", *self.args, "-X", "-At", "-c", "SHOW server_version"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return None
        return "PostgreSQL " + r.stdout.strip()

    def run(self, steps):
        tag = "$tq7$"
        lines = [self.FUNC]
        for st in steps:
            if st[0] == "set":
                lines.append(st[1].rstrip().rstrip(";") + ";")
            else:
                sql, nparams = st[1], st[2]
                assert tag not in sql
                p = "1" if nparams else "NULL"
                lines.append(
                    f"SELECT 'R' || encode(convert_to(pg_temp.ev({tag}{sql}{tag}, {p}), 'UTF8'), 'hex');")
        r = subprocess.run(["psql", *self.args, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=0", "-f", "-"],
                           input="\n".join(lines) + "\n", capture_output=True, text=True)
        out = [bytes.fromhex(l[1:]).decode() for l in r.stdout.splitlines() if l.startswith("R")]
        n = sum(1 for st in steps if st[0] == "eval")
        if len(out) != n:
            raise RuntimeError(f"psql answered {len(out)} of {n}: {r.stderr[-2000:]}")
        return out

    def placeholder_sql(self, sql):
        return sql


class MySql:
    name = "mysql"
    title = "MariaDB/MySQL"

    def __init__(self, args):
        self.args = shlex.split(args)
        self.default_mode = None

    def version(self):
        r = subprocess.run(["mysql", *self.args, "-B", "-N", "-e", "SELECT version(), @@GLOBAL.sql_mode"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return None
        v, mode = (r.stdout.strip().split("\t") + [""])[:2]
        self.default_mode = mode
        return f"{'MariaDB' if 'MariaDB' in v else 'MySQL'} {v} (global sql_mode={mode or '(empty)'})"

    def run(self, steps):
        lines = ["SET @p = 1;"]
        line_of = {}
        k = 0
        for st in steps:
            if st[0] == "set":
                lines.append(st[1].rstrip().rstrip(";") + ";")
            else:
                sql, nparams = st[1], st[2]
                using = " USING " + ", ".join(["@p"] * nparams) if nparams else ""
                lines.append(f"SELECT 'R{k}'; SET @q = X'{sql.encode().hex()}'; PREPARE s FROM @q; EXECUTE s{using};")
                line_of[len(lines)] = k
                k += 1
        r = subprocess.run(["mysql", *self.args, "-B", "-N", "--force"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True)
        out = [None] * k
        cur = None
        for l in r.stdout.splitlines():
            m = re.fullmatch(r"R(\d+)", l)
            if m:
                cur = int(m.group(1))
                out[cur] = "NOROW"
            elif cur is not None and out[cur] == "NOROW":
                out[cur] = "NULL" if l == "NULL" else "V:" + l
        for l in r.stderr.splitlines():
            m = re.match(r"ERROR (\d+) \((\w+)\) at line (\d+): (.*)", l)
            if m and int(m.group(3)) in line_of:
                i = line_of[int(m.group(3))]
                if out[i] is None or not out[i].startswith("ERR:"):
                    out[i] = f"ERR:{m.group(1)}: {m.group(4)}"
        return [o if o is not None else "ERR:?: no answer" for o in out]


class Sqlite:
    """python3's sqlite3 module (engine='python') or the probe's bundled SQLite ('bundled')."""

    name = "sqlite"

    def __init__(self, engine, probe):
        self.engine = engine
        self.probe = probe
        self.title = "SQLite (python3 sqlite3)" if engine == "python" else "SQLite (sqlx's bundled libsqlite3-sys)"

    def version(self):
        if self.engine == "python":
            return f"SQLite {sqlite3.sqlite_version} (python3 {sys.version.split()[0]} sqlite3 module)"
        ok, v, _ = self.probe.run([("sqlite-version", "sqlite", "")])[0]
        return f"SQLite {v} (bundled by libsqlite3-sys 0.37, as sqlx 0.9 links it)"

    def run(self, steps):
        if self.engine == "bundled":
            reqs = [("sqlite", "sqlite", st[1]) for st in steps]
            answers = self.probe.run(reqs)
            out = []
            for st, (ok, rows, _tail) in zip(steps, answers):
                if st[0] != "eval":
                    continue
                if not ok:
                    out.append("ERR:SQLITE: " + rows)
                elif rows == "":
                    out.append("NOROW")
                else:
                    first = rows.split("\n")[0]
                    out.append("NULL" if first == "NULL" else "V:" + first)
            return out
        conn = sqlite3.connect(":memory:")
        conn.create_function("regexp", 2, lambda p, s: None if p is None or s is None else int(str(p) in str(s)),
                             deterministic=True)
        conn.create_function("match", 2, lambda p, s: None if p is None or s is None else int(str(p) == str(s)),
                             deterministic=True)
        out = []
        for st in steps:
            if st[0] == "set":
                try:
                    conn.executescript(st[1])
                except sqlite3.Error:
                    pass
                continue
            try:
                row = conn.execute(st[1], (1,) * st[2]).fetchone()
                if row is None:
                    out.append("NOROW")
                elif row[0] is None:
                    out.append("NULL")
                else:
                    out.append("V:" + str(row[0]))
            except (sqlite3.Error, sqlite3.Warning, ValueError) as e:
                out.append(f"ERR:SQLITE: {e}")
        conn.close()
        return out


# --------------------------------------------------------------------------------------
# Operators. A template has {l} (left operand) and/or {r} (right operand); types name the
# literal domains below. X (the first operator) must end with {r}; Y must start with {l}.
# --------------------------------------------------------------------------------------


def op(name, template, ltype=None, rtype=None):
    return {"name": name, "t": template, "l": ltype, "r": rtype}


def infix(names, ltype, rtype):
    return [op(n, "{l} " + n + " {r}", ltype, rtype) for n in names.split("  ")]


PG_TYPES = {
    "int": ["3", "2", "0"],
    "bool": ["true", "false", "NULL"],
    "text": ["CAST('ab' AS text)", "CAST('a%' AS text)", "CAST('b' AS text)"],
    "jsonb": ["CAST('{\"a\": {\"b\": 1}}' AS jsonb)", "CAST('[\"a\", 1]' AS jsonb)"],
    "jkey": ["CAST('a' AS text)", "0"],
    "tarr": ["CAST('{a,b}' AS text[])", "CAST('{a}' AS text[])"],
    "iarr": ["ARRAY[1, 2]", "ARRAY[2, 3]"],
    "ts": ["TIMESTAMP '2020-01-01 12:00'"],
    "zone": ["CAST('UTC' AS text)", "CAST('+05' AS text)"],
}

PG_OPS = (
    infix("+  -  *  /  %  ^  &  |  #  <<  >>  =  <>  !=  <  <=  >  >=", "int", "int")
    + infix("IS DISTINCT FROM  IS NOT DISTINCT FROM", "int", "int")
    + [op("OPERATOR(pg_catalog.+)", "{l} OPERATOR(pg_catalog.+) {r}", "int", "int"),
       op("OPERATOR(pg_catalog.=)", "{l} OPERATOR(pg_catalog.=) {r}", "int", "int")]
    + infix("AND  OR", "bool", "bool")
    + infix("||  LIKE  NOT LIKE  ILIKE  NOT ILIKE  SIMILAR TO  NOT SIMILAR TO  ~  !~  ~*  !~*  ^@", "text", "text")
    + [op("LIKE..ESCAPE", "{l} LIKE {r} ESCAPE '!'", "text", "text"),
       op("ESCAPE <expr>", "{l} LIKE 'a%' ESCAPE {r}", "text", "text")]
    + infix("->  ->>", "jsonb", "jkey") + infix("#>  #>>  ?|  ?&", "jsonb", "tarr")
    + infix("@>  <@", "jsonb", "jsonb") + infix("?", "jsonb", "text") + infix("&&", "iarr", "iarr")
    + [op("BETWEEN", "{l} BETWEEN 1 AND {r}", "int", "int"),
       op("NOT BETWEEN", "{l} NOT BETWEEN 1 AND {r}", "int", "int"),
       op("BETWEEN SYMMETRIC", "{l} BETWEEN SYMMETRIC 3 AND {r}", "int", "int"),
       op("AT TIME ZONE", "{l} AT TIME ZONE {r}", "ts", "zone")]
    + [op("NOT (prefix)", "NOT {r}", None, "bool"), op("- (prefix)", "- {r}", None, "int"),
       op("+ (prefix)", "+ {r}", None, "int"), op("~ (prefix)", "~ {r}", None, "int"),
       op("|/ (prefix)", "|/ {r}", None, "int"), op("@ (prefix)", "@ {r}", None, "int")]
    + [op(n, "{l} " + n, "any") for n in ["IS NULL", "IS NOT NULL", "ISNULL", "NOTNULL"]]
    + [op(n, "{l} " + n, "bool") for n in ["IS TRUE", "IS NOT TRUE", "IS FALSE", "IS UNKNOWN"]]
    + [op("::int", "{l}::int", "any"), op("::text", "{l}::text", "any"),
       op("COLLATE", '{l} COLLATE "C"', "text"), op("[1]", "{l}[1]", "iarr"),
       op("IN (list)", "{l} IN (1, 2)", "int"), op("NOT IN (list)", "{l} NOT IN (1, 2)", "int"),
       op("= ANY", "{l} = ANY(ARRAY[1, 2])", "int"), op("AT TIME ZONE 'UTC'", "{l} AT TIME ZONE 'UTC'", "ts")]
)

MY_TYPES = {
    "int": ["2", "1", "0"],
    "str": ["'ab'", "'a%'", "'b'"],
    "json": ["'{\"a\": [1, 2]}'", "'[1, 2]'"],
    "jpath": ["'$.a'", "'$[0]'"],
}

MY_OPS = (
    infix("+  -  *  /  %  DIV  MOD  =  <=>  <>  !=  <  <=  >  >=  &  |  ^  <<  >>", "int", "int")
    + infix("AND  &&  OR  ||  XOR", "int", "int")
    + infix("LIKE  NOT LIKE  REGEXP  NOT REGEXP  RLIKE  SOUNDS LIKE", "str", "str")
    + [op("LIKE..ESCAPE", "{l} LIKE {r} ESCAPE '!'", "str", "str"),
       op("ESCAPE <expr>", "{l} LIKE 'a%' ESCAPE {r}", "str", "str")]
    + infix("->  ->>", "json", "jpath")
    + [op("BETWEEN", "{l} BETWEEN 1 AND {r}", "int", "int"),
       op("NOT BETWEEN", "{l} NOT BETWEEN 1 AND {r}", "int", "int")]
    + [op("NOT (prefix)", "NOT {r}", None, "int"), op("! (prefix)", "! {r}", None, "int"),
       op("- (prefix)", "- {r}", None, "int"), op("~ (prefix)", "~ {r}", None, "int"),
       op("+ (prefix)", "+ {r}", None, "int"), op("BINARY (prefix)", "BINARY {r}", None, "str"),
       op("@v := (prefix)", "@v := {r}", None, "int")]
    + [op(n, "{l} " + n, "any") for n in ["IS NULL", "IS NOT NULL", "IS TRUE", "IS NOT TRUE", "IS FALSE",
                                             "IS UNKNOWN"]]
    + [op("COLLATE", "{l} COLLATE utf8mb4_bin", "str"), op("IN (list)", "{l} IN (1, 2)", "int"),
       op("NOT IN (list)", "{l} NOT IN (1, 2)", "int"), op("MEMBER OF", "{l} MEMBER OF ('[1, 2]')", "int")]
)

SQ_TYPES = {
    "int": ["2", "1", "0"],
    "str": ["'ab'", "'a%'", "'b'"],
    "json": ["'{\"a\": [1, 2]}'", "'[1, 2]'"],
    "jkey": ["'a'", "'$[0]'"],
}

SQ_OPS = (
    infix("||  *  /  %  +  -  &  |  <<  >>  <  <=  >  >=  =  ==  <>  !=", "int", "int")
    + infix("IS  IS NOT  IS DISTINCT FROM  IS NOT DISTINCT FROM  AND  OR", "int", "int")
    + infix("LIKE  NOT LIKE  GLOB  NOT GLOB  REGEXP  NOT REGEXP  MATCH", "str", "str")
    + [op("LIKE..ESCAPE", "{l} LIKE {r} ESCAPE '!'", "str", "str"),
       op("ESCAPE <expr>", "{l} LIKE 'a%' ESCAPE {r}", "str", "str")]
    + infix("->  ->>", "json", "jkey")
    + [op("BETWEEN", "{l} BETWEEN 1 AND {r}", "int", "int"),
       op("NOT BETWEEN", "{l} NOT BETWEEN 1 AND {r}", "int", "int")]
    + [op("NOT (prefix)", "NOT {r}", None, "int"), op("- (prefix)", "- {r}", None, "int"),
       op("+ (prefix)", "+ {r}", None, "int"), op("~ (prefix)", "~ {r}", None, "int")]
    + [op(n, "{l} " + n, "any") for n in ["ISNULL", "NOTNULL", "NOT NULL", "IS NULL", "IS NOT NULL", "IS TRUE",
                                             "IS NOT TRUE", "IS FALSE"]]
    + [op("COLLATE", "{l} COLLATE NOCASE", "str"), op("IN (list)", "{l} IN (1, 2)", "int"),
       op("NOT IN (list)", "{l} NOT IN (1, 2)", "int")]
)

CATALOGUE = {"postgres": (PG_TYPES, PG_OPS), "mysql": (MY_TYPES, MY_OPS), "sqlite": (SQ_TYPES, SQ_OPS)}

AND_LIKE = {"AND", "&&"}


def domain(types, t, k):
    return types[t][:k] if t and t != "any" else []


def pair_cases(types, ops, per_slot, cap):
    """Every (X, Y, [(a, b, c)...]) to test."""
    for x in ops:
        if not x["t"].endswith("{r}"):
            continue
        for y in ops:
            if not y["t"].startswith("{l}"):
                continue
            a_dom = domain(types, x["l"], per_slot) if "{l}" in x["t"] else [None]
            c_dom = domain(types, y["r"], per_slot) if "{r}" in y["t"] else [None]
            b_dom = []
            for v in domain(types, x["r"], per_slot) + domain(types, y["l"], per_slot):
                if v not in b_dom:
                    b_dom.append(v)
            if not b_dom:
                b_dom = types["int"][:per_slot]
            triples = list(itertools.product(a_dom or [None], b_dom, c_dom or [None]))
            if len(triples) > cap:
                step = len(triples) / cap
                triples = [triples[int(i * step)] for i in range(cap)]
            yield x, y, triples


def fill(t, l=None, r=None):
    return t.replace("{l}", l if l is not None else "").replace("{r}", r if r is not None else "")


def texts(x, y, a, b, c):
    raw = fill(x["t"], a, fill(y["t"], b, c))
    left = fill(y["t"], "(" + fill(x["t"], a, b) + ")", c)
    right = fill(x["t"], a, "(" + fill(y["t"], b, c) + ")")
    return raw, left, right


def norm(outcome):
    """Outcomes compared across groupings: a syntax error's message quotes the text near
    the error, which differs with the parentheses, so only its code counts."""
    if outcome.startswith(("ERR:42601", "ERR:1064")) or (outcome.startswith("ERR:SQLITE") and "syntax error" in outcome):
        return "SYNTAX ERROR"
    return outcome


def is_syntax_error(outcome):
    return norm(outcome) == "SYNTAX ERROR"


def grouping_name(o, l, r):
    """Which of left/right the outcomes of the original match."""
    n = len(o)
    eq_l = all(o[i] == l[i] for i in range(n))
    eq_r = all(o[i] == r[i] for i in range(n))
    if eq_l and eq_r:
        return "undetermined"
    if eq_l:
        return "left"
    if eq_r:
        return "right"
    if all(is_syntax_error(v) for v in o):
        return "rejected"
    return "other"


def show(x, y):
    return f"{x['name']} … {y['name']}"


# --------------------------------------------------------------------------------------
# Leak checks
# --------------------------------------------------------------------------------------

LEAK_SETUP = {
    "postgres": "CREATE TEMP TABLE IF NOT EXISTS t (id int, tenant_id int, name text); TRUNCATE t; "
                "INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 2, 'c')",
    "mysql": "CREATE TEMPORARY TABLE IF NOT EXISTS t (id int, tenant_id int, name text); DELETE FROM t; "
             "INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 2, 'c')",
    "sqlite": "CREATE TABLE IF NOT EXISTS t (id int, tenant_id int, name text); DELETE FROM t; "
              "INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 2, 'c'); "
              "CREATE TABLE IF NOT EXISTS u (id int, name text); DELETE FROM u; INSERT INTO u VALUES (1, 'a'), (2, 'b')",
}
# How many rows of tenants other than 1 the WHERE lets through (the tenant is bound to 1);
# NULL when no row matches at all.
LEAK_SELECT = "SELECT sum(CASE WHEN tenant_id = 1 THEN 0 ELSE 1 END) FROM t WHERE "


def setup_steps(dialect):
    return [("set", s) for s in LEAK_SETUP[dialect].split("; ")]


def naive_rewrite(sql, dialect):
    n = sql.count(":tenant")
    if dialect == "postgres":
        return sql.replace(":tenant", "$1"), n
    return sql.replace(":tenant", "?"), n


def check_statements(probe, server, dialect, items):
    """items: list of dict(sql=..., settings=[...]). Adds analyser/parser/server verdicts."""
    reqs = []
    for it in items:
        reqs.append(("parse", dialect, it["sql"]))
        reqs.append(("analyze", dialect, it["sql"]))
    answers = probe.run(reqs)
    steps = setup_steps(dialect)
    pending = []
    for k, it in enumerate(items):
        (pok, canon, conj), (aok, asql, abinds) = answers[2 * k], answers[2 * k + 1]
        it["parsed"] = pok
        it["parser_reading"] = canon if pok else "parse error: " + canon
        it["tenant_conjunct"] = pok and "(tenant_id = :tenant)" in conj.split("\n")
        if probe.analyzer:
            it["analyser"] = "accepts" if aok else "refuses: " + asql
            run_sql, nparams = (asql, len([b for b in abinds.split(",") if b])) if aok else (None, 0)
        else:
            it["analyser"] = ("conjunct found (analyser not built)" if it["tenant_conjunct"]
                              else "no tenant conjunct (analyser not built)")
            run_sql, nparams = naive_rewrite(it["sql"], dialect) if it["tenant_conjunct"] else (None, 0)
        it["sent"] = run_sql
        if run_sql is None:
            it["server"] = None
            continue
        for s in it.get("settings", []):
            steps.append(("set", s))
        steps.append(("eval", run_sql, nparams))
        for s in it.get("reset", []):
            steps.append(("set", s))
        pending.append(it)
    outs = server.run(steps)
    for it, out in zip(pending, outs):
        it["server"] = out
        it["leak"] = out.startswith("V:") and out[2:].split(".")[0].isdigit() and int(out[2:].split(".")[0]) > 0
    return items


# --------------------------------------------------------------------------------------
# Hand-written constructs: settings and lexing
# --------------------------------------------------------------------------------------


def cases(dialect, mysql_default_mode):
    L = LEAK_SELECT
    base = mysql_default_mode or ""

    def mode(*extra):
        flags = [f for f in base.split(",") if f] + list(extra)
        return [f"SET SESSION sql_mode = '{','.join(flags)}'"]

    reset_my = [f"SET SESSION sql_mode = '{base}'"]
    if dialect == "mysql":
        sqlx = mode("PIPES_AS_CONCAT", "NO_ENGINE_SUBSTITUTION")
        return [
            dict(name="|| is OR (no PIPES_AS_CONCAT: server default, sqlx with pipes_as_concat(false))",
                 sql=L + "tenant_id = :tenant AND 0 || 1", settings=mode(), reset=reset_my),
            dict(name="|| under PIPES_AS_CONCAT (sqlx's default session)",
                 sql=L + "tenant_id = :tenant AND 0 || 1", settings=sqlx, reset=reset_my),
            dict(name="|| is OR: tenant conjunct after it",
                 sql=L + "1 || 0 AND tenant_id = :tenant", settings=mode(), reset=reset_my),
            dict(name="XOR binds looser than AND on the server",
                 sql=L + "tenant_id = :tenant AND 1 XOR 1", settings=sqlx, reset=reset_my),
            dict(name="XOR before the tenant conjunct",
                 sql=L + "1 XOR 1 AND tenant_id = :tenant", settings=sqlx, reset=reset_my),
            dict(name="&& is AND (agreement expected)",
                 sql=L + "tenant_id = :tenant && id > 0", settings=sqlx, reset=reset_my),
            dict(name="HIGH_NOT_PRECEDENCE: NOT a BETWEEN ... (meaning changes inside the conjunct)",
                 sql=L + "tenant_id = :tenant AND NOT id BETWEEN 5 AND 6", settings=mode("HIGH_NOT_PRECEDENCE"),
                 reset=reset_my),
            dict(name="NO_BACKSLASH_ESCAPES: '\\'' ends the string early on the server",
                 sql=L + "tenant_id = :tenant AND name = 'x\\' OR 1 = 1 -- '",
                 settings=mode("NO_BACKSLASH_ESCAPES"), reset=reset_my),
            dict(name="NO_BACKSLASH_ESCAPES: same with a double-quoted string",
                 sql=L + "tenant_id = :tenant AND name = \"x\\\" OR 1 = 1 -- \"",
                 settings=mode("NO_BACKSLASH_ESCAPES"), reset=reset_my),
            dict(name="backslash escapes on (server default): agreement expected",
                 sql=L + "tenant_id = :tenant AND name = 'x\\' OR 1 = 1 -- '", settings=sqlx, reset=reset_my),
            dict(name="ANSI_QUOTES: \"tenant_id\" is a string to sqlparser, a column to the server",
                 sql=L + "\"tenant_id\" = :tenant", settings=mode("ANSI_QUOTES"), reset=reset_my),
            dict(name="ANSI_QUOTES: \"...\" with a backslash (identifier on the server)",
                 sql=L + "tenant_id = :tenant AND name <> \"x\\\" OR 1 = 1 -- \"",
                 settings=mode("ANSI_QUOTES"), reset=reset_my),
            dict(name="nested /* /* */ */ (MySQL does not nest)",
                 sql=L + "tenant_id = :tenant /* /* */ OR 1 = 1 -- */", settings=sqlx, reset=reset_my),
            dict(name="--x is not a comment (needs a space)",
                 sql=L + "tenant_id = :tenant AND id = 1--1 OR 1 = 1", settings=sqlx, reset=reset_my),
            dict(name="--<tab> is a comment", sql=L + "tenant_id = :tenant --\tOR 1 = 1", settings=sqlx,
                 reset=reset_my),
            dict(name="--<tab> hides the tenant conjunct?", sql=L + "id > 0 --\t\nAND tenant_id = :tenant",
                 settings=sqlx, reset=reset_my),
            dict(name="--<vertical tab> comment?", sql=L + "id > 0 --\x0b AND tenant_id = :tenant",
                 settings=sqlx, reset=reset_my),
            dict(name="--<form feed> comment?", sql=L + "id > 0 --\x0c AND tenant_id = :tenant",
                 settings=sqlx, reset=reset_my),
            dict(name="--<carriage return> comment?", sql=L + "id > 0 --\r AND tenant_id = :tenant",
                 settings=sqlx, reset=reset_my),
            dict(name="--<control char 0x01> comment?", sql=L + "id > 0 --\x01 AND tenant_id = :tenant",
                 settings=sqlx, reset=reset_my),
            dict(name="--<no-break space> comment?", sql=L + "id > 0 --\u00a0 AND tenant_id = :tenant",
                 settings=sqlx, reset=reset_my),
            *[dict(name=f"--<{n}> is a comment to sqlparser; to the server?",
                   sql=L + f"tenant_id = :tenant --{c}1 OR 1 = 1", settings=sqlx, reset=reset_my)
              for n, c in [("tab", "\t"), ("vertical tab", "\x0b"), ("form feed", "\x0c"), ("carriage return", "\r"),
                           ("control char 0x01", "\x01"), ("DEL 0x7f", "\x7f"), ("no-break space", "\u00a0"),
                           ("em space", "\u2003")]],
            dict(name="-- at the very end", sql=L + "tenant_id = :tenant --", settings=sqlx, reset=reset_my),
            dict(name="# comment", sql=L + "tenant_id = :tenant # OR 1 = 1", settings=sqlx, reset=reset_my),
            dict(name="#\\r is not a line end for the server?", sql=L + "tenant_id = :tenant #\r OR 1 = 1",
                 settings=sqlx, reset=reset_my),
            dict(name="--\\r is not a line end for the server?", sql=L + "tenant_id = :tenant -- \r OR 1 = 1",
                 settings=sqlx, reset=reset_my),
            dict(name="/*! executable comment */", sql=L + "tenant_id = :tenant /*! OR 1 = 1 */",
                 settings=sqlx, reset=reset_my),
            dict(name="/*M! executable comment */", sql=L + "tenant_id = :tenant /*M! OR 1 = 1 */",
                 settings=sqlx, reset=reset_my),
            dict(name="/*+ optimizer hint */", sql=L.replace("SELECT ", "SELECT /*+ NO_ICP(t) */ ") + "tenant_id = :tenant",
                 settings=sqlx, reset=reset_my),
            dict(name="@v := is an assignment binding looser than OR",
                 sql=L + "tenant_id = :tenant AND @v := 0 OR 1", settings=sqlx, reset=reset_my),
        ]
    if dialect == "postgres":
        return [
            dict(name="standard_conforming_strings=off: '\\'' does not end the string on the server",
                 sql=L + "name = 'x\\' AND tenant_id = :tenant AND name <> ' OR true --'",
                 settings=["SET standard_conforming_strings = off", "SET escape_string_warning = off"],
                 reset=["SET standard_conforming_strings = on"]),
            dict(name="standard_conforming_strings=on (default): agreement expected",
                 sql=L + "name = 'x\\' AND tenant_id = :tenant AND name <> ' OR true --'"),
            dict(name="E'\\'' escape string", sql=L + "tenant_id = :tenant AND name <> E'\\' OR true --'"),
            dict(name="E'\\\\' then quote", sql=L + "tenant_id = :tenant AND name <> E'\\\\' OR true --'"),
            dict(name="U&'...' UESCAPE", sql=L + "tenant_id = :tenant AND name <> U&'!0027' UESCAPE '!' OR true"),
            dict(name="dollar quotes $$", sql=L + "tenant_id = :tenant AND name <> $$ ' $$ OR true"),
            dict(name="tagged dollar quotes containing $$", sql=L + "tenant_id = :tenant AND name <> $a$ $$ OR true -- $a$"),
            dict(name="nested comments (both nest)", sql=L + "tenant_id = :tenant /* /* */ OR true */"),
            dict(name="nested comments hiding the tenant conjunct",
                 sql=L + "id > 0 /* /* */ AND tenant_id = :tenant /* */ -- */"),
            dict(name="--x is a comment in PostgreSQL", sql=L + "tenant_id = :tenant AND id = 1--1 OR true"),
            dict(name="operator followed by -- (PostgreSQL ends the operator before --)",
                 sql=L + "tenant_id = :tenant AND id <>-- x\n 5"),
            dict(name="operator followed by /* ", sql=L + "tenant_id = :tenant AND id <>/* x */ 5"),
            dict(name="# is XOR, not a comment", sql=L + "tenant_id = :tenant AND (id # 1) > 0"),
            dict(name="OPERATOR(pg_catalog.=) is not a tenant predicate",
                 sql=L + "tenant_id OPERATOR(pg_catalog.=) :tenant"),
        ]
    return [
        dict(name="\"tenant_id\" resolves to the column", sql=L + "\"tenant_id\" = :tenant"),
        dict(name="\"tenantid\" (no such column) falls back to a string",
             sql=L + "\"tenantid\" = :tenant"),
        dict(name="\"tenant_id\" on a table without that column: a string, not an error",
             sql="SELECT count(*) FROM u WHERE \"tenant_id\" = :tenant"),
        dict(name="\"tenant_id\" <> ... on a table without that column",
             sql="SELECT count(*) FROM u WHERE \"tenant_id\" = :tenant OR \"tenant_id\" <> :tenant"),
        dict(name="[tenant_id] / `tenant_id` identifiers", sql=L + "[tenant_id] = :tenant AND `tenant_id` = :tenant"),
        dict(name="backslash is not an escape", sql=L + "tenant_id = :tenant AND name <> 'x\\' OR 1 = 1 -- '"),
        dict(name="nested comments (SQLite does not nest)", sql=L + "tenant_id = :tenant /* /* */ OR 1 = 1 -- */"),
        dict(name="unterminated /* runs to the end of input", sql=L + "tenant_id = :tenant /* OR 1 = 1"),
        dict(name="--x is a comment in SQLite", sql=L + "tenant_id = :tenant AND id = 1--1 OR 1 = 1"),
        dict(name="# is not a comment", sql=L + "tenant_id = :tenant # OR 1 = 1"),
    ]


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


# sqlparser reads each expression where the analyser meets it, in a WHERE (in a SELECT list
# a trailing keyword such as ISNULL would be taken for a column alias); the server
# evaluates it as `SELECT <expr>`, and sqlparser's reading as `SELECT <its rendering>`.
WHERE_FRAME = "SELECT 1 FROM t WHERE "


def run_matrix(probe, server, dialect, per_slot, cap, settings, only=None, verbose=False):
    types, ops = CATALOGUE[dialect]
    pairs = [p for p in pair_cases(types, ops, per_slot, cap)
             if only is None or only(p[0], p[1])]
    # sqlparser's readings of original, left and right
    reqs = []
    for x, y, triples in pairs:
        for a, b, c in triples:
            for t in texts(x, y, a, b, c):
                reqs.append(("parse", dialect, WHERE_FRAME + t))
    parsed = probe.run(reqs)
    steps = [("set", s) for s in settings]
    k = 0
    plan = []
    for x, y, triples in pairs:
        entry = {"x": x, "y": y, "triples": [], "parser": None}
        for a, b, c in triples:
            raw, left, right = texts(x, y, a, b, c)
            p_raw, p_left, p_right = parsed[k], parsed[k + 1], parsed[k + 2]
            k += 3
            canon = p_raw[1] if p_raw[0] else None
            if canon is not None:
                assert canon.startswith(WHERE_FRAME), canon
                canon = "SELECT " + canon[len(WHERE_FRAME):]
            if p_raw[0]:
                reading = ("left" if p_left[0] and p_left[1] == p_raw[1] else
                           "right" if p_right[0] and p_right[1] == p_raw[1] else "other")
            else:
                reading = "parse error"
            entry["parser"] = entry["parser"] or reading
            entry["triples"].append(dict(a=a, b=b, cv=c, raw=raw, left=left, right=right, canon=canon,
                                         reading=reading))
            for t in (raw, left, right):
                steps.append(("eval", "SELECT " + t, 0))
            steps.append(("eval", canon if canon else "SELECT 1", 0))
        plan.append(entry)
    outs = server.run(steps)
    k = 0
    results = []
    for e in plan:
        o, l, r, c = [], [], [], []
        for tr in e["triples"]:
            tr["o"], tr["l"], tr["r"], tr["p"] = outs[k:k + 4]
            tr["no"], tr["np"] = norm(tr["o"]), norm(tr["p"])
            k += 4
            o.append(norm(tr["o"])); l.append(norm(tr["l"])); r.append(norm(tr["r"])); c.append(norm(tr["p"]))
        e["server"] = grouping_name(o, l, r)
        if e["parser"] == "parse error":
            e["verdict"] = "parser refuses" if not all(is_syntax_error(v) for v in o) else "both refuse"
        elif all(is_syntax_error(v) for v in o):
            e["verdict"] = "server refuses"
        else:
            diff = [tr for tr in e["triples"] if tr["no"] != tr["np"]]
            e["witness"] = diff[0] if diff else None
            e["verdict"] = "DISAGREE" if diff else "agree"
        results.append(e)
    return results


def leak_probes(dialect):
    """For every operator, the statements in which it sits next to the tenant conjunct:
      A  `T AND b Y c`        (Y binds looser than AND on the server: XOR, MySQL's ||)
      B  `a X b AND T`        (the same, from the other side)
      C  `T AND a X b OR 1`   (X's right operand swallows `OR 1` in sqlparser: MySQL BINARY)
    where T is `tenant_id = :tenant`, with a few operand values each."""
    types, ops = CATALOGUE[dialect]
    true = "true" if dialect == "postgres" else "1"
    T = "tenant_id = :tenant"
    items, seen = [], set()

    def add(name, where):
        sql = LEAK_SELECT + where
        if sql not in seen:
            seen.add(sql)
            items.append(dict(name=name, sql=sql))

    for o in ops:
        t = o["t"]
        ls = domain(types, o["l"], 3) or types["int"][:3]
        rs = domain(types, o["r"], 3) or types["int"][:3]
        if t.startswith("{l}"):
            for b in ls:
                for c in (rs[:2] if "{r}" in t else [None]):
                    add(f"A: T AND {o['name']}", f"{T} AND " + fill(t, b, c))
        if t.endswith("{r}"):
            for a in (ls[:2] if "{l}" in t else [None]):
                for b in rs:
                    add(f"B: {o['name']} AND T", fill(t, a, b) + f" AND {T}")
            for a in (ls[:1] if "{l}" in t else [None]):
                for b in rs[:2]:
                    add(f"C: T AND {o['name']} … OR {true}", f"{T} AND " + fill(t, a, f"{b} OR {true}"))
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dialects", default="postgres,mysql,sqlite")
    ap.add_argument("--pg", default="-h 127.0.0.1 -U postgres test", help="psql connection arguments")
    ap.add_argument("--mysql", default="-h127.0.0.1 -uroot test", help="mysql connection arguments")
    ap.add_argument("--target-dir", default=os.path.join(tempfile.gettempdir(), "tenantry-precedence-probe"))
    ap.add_argument("--manifest", default=str(PROBE_MANIFEST))
    ap.add_argument("--quick", action="store_true", help="two operand values per slot instead of three")
    ap.add_argument("--cases-only", action="store_true", help="skip the operator-pair matrix")
    ap.add_argument("--verbose", action="store_true", help="print agreeing pairs too")
    ap.add_argument("--json", help="write every result to this file")
    args = ap.parse_args()

    probe = Probe(args.manifest, args.target_dir, args.verbose)
    probe.build()
    print(f"sqlparser: 0.64.0 (probe {probe.binary}); analyser: "
          f"{'linked (tenantry-analyzer from this checkout)' if probe.analyzer else 'NOT built: conjunct check by sqlparser AST only'}")
    per_slot, cap = (2, 8) if args.quick else (3, 12)
    dump = {}
    for dialect in args.dialects.split(","):
        if dialect == "postgres":
            servers = [Postgres(args.pg)]
        elif dialect == "mysql":
            servers = [MySql(args.mysql)]
        else:
            servers = [Sqlite("bundled", probe), Sqlite("python", probe)]
        for server in servers:
            v = server.version()
            print("\n" + "=" * 100)
            if v is None:
                print(f"{server.title}: not reachable, skipped")
                continue
            print(f"{dialect}: {v}")
            print("=" * 100)
            runs = [("", [], None)]
            if dialect == "mysql":
                base = server.default_mode or ""
                flags = [f for f in base.split(",") if f]
                sqlx = ",".join(flags + ["PIPES_AS_CONCAT", "NO_ENGINE_SUBSTITUTION"])
                runs = [
                    (f"sql_mode = server default ({base or 'empty'})", [f"SET SESSION sql_mode = '{base}'"], None),
                    ("sql_mode + PIPES_AS_CONCAT (sqlx default)",
                     [f"SET SESSION sql_mode = '{sqlx}'"], lambda x, y: "||" in (x["name"], y["name"])),
                    ("sql_mode + HIGH_NOT_PRECEDENCE",
                     [f"SET SESSION sql_mode = '{','.join(flags + ['HIGH_NOT_PRECEDENCE'])}'"],
                     lambda x, y: x["name"] in ("NOT (prefix)", "! (prefix)")),
                ]
            if not args.cases_only:
                for label, settings, only in runs:
                    results = run_matrix(probe, server, dialect, per_slot, cap, settings, only, args.verbose)
                    report_matrix(server, label + (" (only the pairs it can change)" if only else ""), results,
                                  args.verbose)
                    dump.setdefault(server.title, []).append(
                        {"run": label, "pairs": [strip(e) for e in results]})
                for label, settings, only in runs:
                    probes = leak_probes(dialect)
                    for it in probes:
                        it["settings"] = settings
                    check_statements(probe, server, dialect, probes)
                    report_probes(server.title, label, probes, args.verbose)
                    dump.setdefault(server.title, []).append({"run": label, "leak_probes": probes})
            items = cases(dialect, getattr(server, "default_mode", None))
            check_statements(probe, server, dialect, items)
            report_cases(server.title, "settings and lexing", items)
            dump.setdefault(server.title, []).append({"cases": items})
    print("\n" + "=" * 100)
    print(f"LEAKS: statements tenantry's analyser accepts that return other tenants' rows ({len(SUMMARY)})")
    print("=" * 100)
    for line in SUMMARY:
        print(" - " + line)
    if args.json:
        Path(args.json).write_text(json.dumps(dump, indent=1, default=str))


def strip(e):
    return {"x": e["x"]["name"], "y": e["y"]["name"], "parser": e["parser"], "server": e["server"],
            "verdict": e["verdict"], "witness": e.get("witness")}


def report_matrix(server, label, results, verbose):
    counts = {}
    for e in results:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    print(f"\n-- operator pairs{' (' + label + ')' if label else ''}: {len(results)} pairs: "
          + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
    rows = results if verbose else [e for e in results if e["verdict"] == "DISAGREE"]
    if not rows:
        return
    by_x = {}
    for e in results:
        if e["verdict"] == "DISAGREE":
            by_x.setdefault(e["x"]["name"], []).append(f"{e['y']['name']} ({e['parser']}/{e['server']})")
    print("   disagreements by first operator X, as `Y (sqlparser's grouping/server's grouping)`,"
          " left = (a X b) Y c, right = a X (b Y c):")
    for xname, ys in by_x.items():
        print(f"   {xname:24} " + "; ".join(ys))
    print(f"{'pair (X … Y)':38} {'sqlparser':12} {'server':12} {'verdict':15} example: original  ->  server value vs value of sqlparser's reading")
    for e in rows:
        w = e.get("witness") or e["triples"][0]
        ex = f"{w['raw']}  ->  {w['o']}  vs  {w['canon']} = {w['p']}" if w.get("canon") else w["raw"]
        print(f"{show(e['x'], e['y']):38} {e['parser']:12} {e['server']:12} {e['verdict']:15} {ex}")


SUMMARY = []


def report_probes(server_title, label, items, verbose):
    acc = [it for it in items if it["analyser"].startswith(("accepts", "conjunct"))]
    leaks = [it for it in acc if it.get("leak")]
    firsts = {}
    for it in leaks:
        firsts.setdefault(it["name"], it)
    SUMMARY.extend(f"{server_title}{' [' + label + ']' if label else ''}: {it['name']}: WHERE {it['sql'][len(LEAK_SELECT):]!r}"
                   for it in firsts.values())
    print(f"\n-- every operator next to the tenant conjunct{' (' + label + ')' if label else ''}: "
          f"{len(items)} statements, analyser accepts {len(acc)}, LEAK {len(leaks)}")
    shown = set()
    for it in (acc if verbose else leaks):
        if not verbose and it["name"] in shown:
            continue
        shown.add(it["name"])
        print(f"[{'LEAK' if it.get('leak') else 'no leak':7}] {it['name']}")
        print(f"          statement : {it['sql']!r}")
        print(f"          sqlparser : {it['parser_reading']!r}")
        print(f"          server    : rows of other tenants returned: {it['server']}  (sent {it['sent']!r})")


def report_cases(server_title, title, items):
    print(f"\n-- {title}")
    for it in items:
        verdict = ("LEAK" if it.get("leak") and (it["analyser"].startswith("accepts") or it["analyser"].startswith("conjunct"))
                   else "refused" if not it["analyser"].startswith(("accepts", "conjunct")) else "no leak")
        if verdict == "LEAK":
            SUMMARY.append(f"{server_title}: {it['name']}: {it['sql']!r}"
                           + (f" with {'; '.join(it['settings'])}" if it.get("settings") else ""))
        print(f"[{verdict:7}] {it['name']}")
        print(f"          statement : {it['sql']!r}")
        if it.get("settings"):
            print(f"          session   : {'; '.join(it['settings'])}")
        print(f"          sqlparser : {it['parser_reading']!r}")
        print(f"          analyser  : {it['analyser']}")
        if it.get("server") is not None:
            print(f"          server    : rows of other tenants returned: {it['server']}  (sent {it['sent']!r})")


if __name__ == "__main__":
    main()
