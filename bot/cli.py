"""The `medcode` command line: each command is a thin call into codedata, rendered as text or --json."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

import click

from codedata import search
from codedata.codes import looks_like_icd, normalise_icd
from handlers.answers import REMINDER, hcpcs_in, known_words, shown_concepts, recognised_query
from handlers.commands import CODE_OR_PREFIX
from handlers.parsing import PROCEDURE, clean_text, codes_asked, find_identifiers
from codedata.db import open_db, releases
from codedata.defaults import ensure_defaults
from codedata.errors import BadInput, MedcodeError
from codedata.importers import SYSTEMS, import_release
from codedata.importers.fetch import fetch, is_address
from codedata import watches
from codedata.checks import check_claim
from codedata.releases import changes_between, diff_pair
from codedata.models import ClaimRequest, ProcedureLine, SearchResult
from codedata.windows import parse_dos, windows

from . import render
from .config import Settings


class MedcodeGroup(click.Group):
    """Turns domain errors into one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MedcodeError as exc:
            click.echo(f"medcode: {exc}", err=True)
            ctx.exit(2)
        except click.UsageError as exc:
            sub = exc.ctx and exc.ctx.parent is not None
            where = f"medcode {exc.ctx.info_name} --help" if sub else "medcode --help"
            click.echo(f"medcode: {exc.format_message()} (see {where})", err=True)
            ctx.exit(2)
        except sqlite3.Error as exc:
            click.echo(f"medcode: database error ({exc.__class__.__name__}: {exc})", err=True)
            ctx.exit(3)


class Context:
    """Settings and the lazily opened database, shared by commands."""

    def __init__(self, db_path: Path | None):
        self.settings = Settings()
        self.db_path = db_path or self.settings.medcode_db
        self._db = None

    def db(self):
        if self._db is None:
            self._db = open_db(self.db_path)
            _import_defaults(self._db)
        return self._db


def _import_defaults(db) -> None:
    bar = _ProgressBar("first use: importing bundled code data")
    for result in ensure_defaults(db, progress=bar):
        bar.close()
        click.echo(render.import_result(result), err=True)


class _ProgressBar:
    """A click progress bar on stderr, created when the importer first reports its size."""

    def __init__(self, label: str):
        self.label, self.bar, self.done = label, None, 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar, self.done = None, 0


MAX_CODES_LOOKED_UP = 20


def _unknown(answer) -> bool:
    """A code lookup that found no such code: like a search that finds nothing, exit 1."""
    return getattr(answer, "status", None) == "unknown"


def _emit(as_json: bool, payload, text: str) -> None:
    if as_json:
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        click.echo(text)


@click.group(cls=MedcodeGroup)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Database file (default: $MEDCODE_DB or ~/.local/share/medcode/medcode.db).")
@click.version_option(package_name="medcode-bot")
@click.pass_context
def main(ctx: click.Context, db_path: Path | None) -> None:
    """medcode: ICD-10-CM, HCPCS and CPT answers for medical billing teams."""
    ctx.obj = Context(db_path)


def _lookup_options(command):
    command = click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")(command)
    command = click.option("--dos", help="Date of service for a code lookup, YYYY-MM-DD (default today): the "
                                         "release in force on that date answers.")(command)
    command = click.option("--offset", default=0, show_default=True, type=click.IntRange(0, 10_000),
                           help="Skip this many search results (the next page).")(command)
    command = click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100),
                           help="Search results per page.")(command)
    return click.argument("query", nargs=-1, required=True)(command)


def _answer(obj: Context, kind: str, query: tuple[str, ...], limit: int, offset: int, as_json: bool,
            dos: str | None = None) -> None:
    day = parse_dos(dos)  # a bad date is one line and exit 2, before anything is read
    text = clean_text(" ".join(query))  # full-width Ｅ１１．９, zero-width and bidi characters, as in Slack
    # Patient details are blanked as in Slack ("Gonzalez diabetes" searches "diabetes"), with the reminder.
    known = known_words(obj.db)
    cleaned = find_identifiers(text, known)
    text = cleaned.text.strip()
    if not text:
        raise click.UsageError("nothing left to look up: give a code or words such as 'type 2 diabetes'")
    if cleaned.identifiers:
        click.echo(f"medcode: {REMINDER.removeprefix(':lock: ')}", err=True)
    codes = codes_asked(text, hcpcs_in(obj.db()), kind)
    if codes:
        # Codes among other words or punctuation (E11.9 I10, "jane doe E11.9", E11.9,I10): one answer each, as
        # Slack gives; the words around them are neither searched nor repeated.
        answers = [search.resolve(obj.db(), code, code_kind, dos=day)
                   for code, code_kind in codes[:MAX_CODES_LOOKED_UP]]
        if len(codes) > MAX_CODES_LOOKED_UP:
            click.echo(f"medcode: {len(codes) - MAX_CODES_LOOKED_UP} more codes not looked up: at most "
                       f"{MAX_CODES_LOOKED_UP} at a time", err=True)
        _emit(as_json, [a.model_dump(mode="json") for a in answers], "\n\n".join(render.answer(a, kind) for a in answers))
        if any(_unknown(a) for a in answers):
            raise SystemExit(1)
        return
    answer = search.resolve(obj.db(), text, kind, limit=limit, offset=offset, dos=day)
    nothing = isinstance(answer, SearchResult) and not answer.results or _unknown(answer)
    if nothing and not as_json:
        # Like grep: a search that finds nothing exits 1, with one line on stderr.
        click.echo(f"medcode: {render.answer(answer, kind)}", err=True)
        raise SystemExit(1)
    if isinstance(answer, SearchResult):
        # As in Slack, only what was read as code-set words is repeated, never the typed text.
        answer = answer.model_copy(update={"query": recognised_query(answer, text, known),
                                           "interpreted": shown_concepts(answer, text, known)})
    _emit(as_json, answer.model_dump(mode="json"), render.answer(answer, kind))
    if nothing:
        raise SystemExit(1)


@main.command(context_settings={"ignore_unknown_options": True})
@_lookup_options
@click.pass_obj
def icd(obj: Context, query: tuple[str, ...], limit: int, offset: int, as_json: bool, dos: str | None) -> None:
    """Look up an ICD-10-CM code (E11.9, e119, S72.001A) or search by words ("rt knee pain")."""
    _answer(obj, "icd", query, limit, offset, as_json, dos)


@main.command(context_settings={"ignore_unknown_options": True})
@_lookup_options
@click.pass_obj
def cpt(obj: Context, query: tuple[str, ...], limit: int, offset: int, as_json: bool, dos: str | None) -> None:
    """Look up a CPT/HCPCS code (99213, J1745), a modifier (25, -59, RT), or search ("knee x-ray 3 views")."""
    _answer(obj, "cpt", query, limit, offset, as_json, dos)


def _codes(value: str | None) -> list[str]:
    return [c for c in clean_text(value).replace(";", ",").replace(" ", ",").split(",") if c]


def _diagnoses(value: str | None) -> tuple[list[str], dict[str, str]]:
    """Diagnosis codes in order, and the words typed after a code ("I63.31 thrombosis of right carotid artery")
    keyed by the undotted code: a word that is not shaped like a code belongs to the code before it."""
    codes: list[str] = []
    words: dict[str, list[str]] = {}
    for token in clean_text(value).replace(";", ",").replace(",", " ").split():
        if looks_like_icd(token) and any(ch.isdigit() for ch in token) or not codes:
            codes.append(token)
        else:
            words.setdefault(codes[-1], []).append(token)
    described = {}
    for code, typed in words.items():
        try:
            described[normalise_icd(code)] = " ".join(typed)
        except MedcodeError:
            codes[codes.index(code) + 1:codes.index(code) + 1] = typed  # a malformed code: keep every token
    return codes, described


def _assignments(values: tuple[str, ...], what: str) -> dict[str, str]:
    """Parse CODE=VALUE pairs given to --units/--mod (repeatable or comma-separated)."""
    found = {}
    for item in (i for v in values for i in v.split(",") if i):
        code, _, value = item.partition("=")
        if not code or not value:
            raise MedcodeError(f"--{what} takes CODE=VALUE, e.g. --{what} 97140={'59' if what == 'mod' else '2'}")
        found[code.strip().upper()] = value.strip()
    return found


def claim_request(dx: str | None, px: str | None, units: tuple[str, ...], mods: tuple[str, ...],
                  age: int | None, sex: str | None, dos: str | None, pointers: tuple[str, ...] = (),
                  payer: str | None = None) -> ClaimRequest:
    """Build the claim from CLI options; inline modifiers (97597-59) are accepted too."""
    unit_map = _assignments(units, "units")
    mod_map = {code: value.split("+") for code, value in _assignments(mods, "mod").items()}
    pointer_map = {}
    for code, value in _assignments(pointers, "pointer").items():
        if not all(p.isdigit() for p in value.split("+")):
            raise MedcodeError(f"--pointer takes diagnosis numbers, e.g. --pointer {code}=1+2")
        pointer_map[code] = [int(p) for p in value.split("+")]
    lines = []
    for item in _codes(px):
        code, *inline = item.upper().split("-")
        try:
            count = int(unit_map.get(code, "1"))
        except ValueError:
            raise MedcodeError(f"units for {code} must be a whole number") from None
        if not 1 <= count <= 9999:
            raise MedcodeError(f"units for {code} must be between 1 and 9999")
        lines.append(ProcedureLine(code=code, units=count, modifiers=inline + mod_map.get(code, []),
                                   pointers=pointer_map.get(code, [])))
    named = {line.code for line in lines}
    for option, assigned in (("units", unit_map), ("mod", mod_map), ("pointer", pointer_map)):
        stray = sorted(code for code in assigned if code not in named)
        if stray:  # --units 83036=2 without --px 83036 would be ignored and the claim read as OK
            raise MedcodeError(f"--{option} names {stray[0]}, which is not among the --px codes")
    diagnoses, described = _diagnoses(dx)
    _only_codes(diagnoses, lines)
    return ClaimRequest(diagnoses=diagnoses, procedures=lines, age=age, sex=sex, date_of_service=dos, payer=payer,
                        described=described)


MODIFIER_SHAPE = re.compile(r"^[A-Z0-9]{2}$")  # CPT and HCPCS Level II modifiers are two characters


def _only_codes(diagnoses: list[str], lines: list[ProcedureLine]) -> None:
    """Refuse an entry not shaped like a code, by its place and without repeating it: people paste names, MRNs
    and phone numbers, and a claim checked without an entry meant as a code would be read as OK."""
    for place, typed in enumerate(diagnoses, 1):
        if not (looks_like_icd(typed) and any(ch.isdigit() for ch in typed)):
            raise BadInput(f"--dx entry {place} is not shaped like an ICD-10-CM code (not repeated here): give codes "
                           "like E11.9 or S72.001A, words after a code only")
    for place, line in enumerate(lines, 1):
        if not PROCEDURE.match(line.code) or any(not MODIFIER_SHAPE.match(m) for m in line.modifiers):
            raise BadInput(f"--px entry {place} is not shaped like a CPT or HCPCS code (not repeated here): give "
                           "codes like 99213 or J1745, a modifier after a dash (97597-59)")


def _once(ctx, param, values):
    """One value for an option a claim has once: `--age 0 --age 45` is refused, not silently the last."""
    if len({str(v).upper() for v in values}) > 1:
        raise click.BadParameter("given twice with different values; give it once", param=param)
    return values[0] if values else None


@main.command()
@click.option("--dx", multiple=True,
              help="Diagnosis codes in order, first = primary (E11.9,I10, or repeat --dx); words after a code are "
                   "checked against it (\"I63.31 thrombosis of right carotid artery\").")
@click.option("--px", multiple=True,
              help="Procedure codes (99213,83036, or repeat --px); a modifier may follow a dash (97597-59).")
@click.option("--units", multiple=True, help="Units per procedure: 97110=4 (repeat or comma-separate).")
@click.option("--mod", "mods", multiple=True, help="Modifiers per procedure: 97140=59 or 97140=59+GP.")
@click.option("--age", type=click.IntRange(0, 130), multiple=True, callback=_once, help="Patient age in years.")
@click.option("--sex", type=click.Choice(["F", "M"], case_sensitive=False), multiple=True, callback=_once,
              help="Patient sex.")
@click.option("--dos", multiple=True, callback=_once, help="Date of service, YYYY-MM-DD (default today).")
@click.option("--pointer", "pointers", multiple=True,
              help="Diagnoses a procedure is for (CMS-1500 box 24E): 97140=2 or 97140=1+2 (default: all).")
@click.option("--payer", type=click.Choice(["medicare", "medicaid", "commercial"], case_sensitive=False),
              help="Payer: scopes payer-specific rules (unknown: findings say whose rule they are).")
@click.option("--policies", "policy_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder of local TOML policy packs (default: $MEDCODE_POLICY_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def check(obj: Context, dx, px, units, mods, age, sex, dos, pointers, payer, policy_dir, as_json) -> None:
    """Check diagnosis and procedure codes for likely denials: verdict plus findings with their basis."""
    # a repeated --dx adds to the claim, in the order typed (the last one alone would drop diagnoses unsaid)
    dx, px = (",".join(v) if v else None for v in (dx, px))
    request = claim_request(dx, px, units, mods, age, sex.upper() if sex else None,
                            parse_dos(dos).isoformat() if dos is not None else None, pointers, payer.lower() if payer else None)
    folders = tuple(p for p in (policy_dir or obj.settings.medcode_policy_dir,) if p)
    if policy_dir is not None and not any(policy_dir.glob("*.toml")):
        # A mistyped folder would check the claim without the organisation's rules and say nothing of it.
        raise click.BadParameter("that folder holds no policy pack (*.toml)", param_hint="--policies")
    report = check_claim(obj.db(), request, policy_dirs=folders)
    _emit(as_json, report.model_dump(mode="json"), render.check_report(report))


@main.command()
@click.argument("system")
@click.argument("labels", nargs=-1)
@click.option("--code", help="Only changes of this code or codes under it.")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.pass_obj
def diff(obj: Context, system: str, labels: tuple[str, ...], code: str | None, as_json: bool) -> None:
    """Show what changed between two releases of SYSTEM (FROM TO labels, default previous -> current)."""
    if len(labels) not in (0, 2):
        raise MedcodeError("give both release labels (FROM TO) or neither")
    if code is not None and not CODE_OR_PREFIX.match(code.strip()):
        raise BadInput("--code takes a code or the start of one, e.g. --code E11 or --code 9921")  # not repeated
    db = obj.db()
    old, new = diff_pair(db, system, *(labels or (None, None)))
    rows = changes_between(db, old, new, code.upper().replace(".", "") if code else None)
    payload = {"system": system, "from": old["label"], "to": new["label"], "changes": rows}
    _emit(as_json, payload, render.diff(payload))


@main.group()
def watch() -> None:
    """Channel watches (administrators): add, remove, list."""


@watch.command("add")
@click.argument("channel")
@click.argument("pattern")
@click.option("--system", default="icd10cm", show_default=True, help="Code system of the pattern.")
@click.pass_obj
def watch_add(obj: Context, channel: str, pattern: str, system: str) -> None:
    """Watch PATTERN in CHANNEL: a code (E11.9), a prefix (E11*), a subtree (E11) or a system (icd10cm)."""
    added = watches.add_watch(obj.db(), channel, pattern, system, "cli")
    click.echo(f"{channel} watches {added['system']} {added['kind']} {added['display']}")


@watch.command("remove")
@click.argument("channel")
@click.argument("pattern")
@click.option("--system", default="icd10cm", show_default=True)
@click.pass_obj
def watch_remove(obj: Context, channel: str, pattern: str, system: str) -> None:
    """Stop watching PATTERN in CHANNEL."""
    removed = watches.remove_watch(obj.db(), channel, pattern, system)
    click.echo(f"removed {removed} watch{'es' if removed != 1 else ''}")


@watch.command("list")
@click.argument("channel", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def watch_list(obj: Context, channel: str | None, as_json: bool) -> None:
    """List watches (of one channel, or all)."""
    if channel is not None and not watches.CHANNEL.match(channel):
        raise BadInput("a channel is a Slack id such as C024BE91L")  # "bad chan" listed nothing and exited 0
    rows = watches.list_watches(obj.db(), channel)
    _emit(as_json, rows, "\n".join(f"{r['channel']}  {r['system']}  {r['kind']}  {r['display']}" for r in rows)
          or "No watches.")


@main.group()
def alerts() -> None:
    """Change alerts."""


@alerts.command("deliver")
@click.pass_obj
def alerts_deliver(obj: Context) -> None:
    """Post pending change alerts to Slack once (the serve worker does this every 30 s)."""
    from .alerts import alert_client, deliver_pending

    if not obj.settings.slack_bot_token:
        raise MedcodeError("set SLACK_BOT_TOKEN to deliver alerts")
    client = alert_client(obj.settings.slack_bot_token.get_secret_value(), obj.settings.medcode_slack_api_url)
    result = deliver_pending(obj.db(), client)
    click.echo(f"delivered {result['delivered']}, not yet delivered {result['failed']}")
    if result["failed"]:
        raise SystemExit(1)


@main.command("import")
@click.argument("system", type=click.Choice(sorted(SYSTEMS)))
@click.argument("source", metavar="FILE_OR_URL")
@click.option("--label", help="Release label (default: from the file, e.g. 2026-04).")
@click.option("--effective", help="Effective date YYYY-MM-DD (default: from the file).")
@click.option("--json", "as_json", is_flag=True, help="Print the import result as JSON.")
@click.pass_obj
def import_(obj: Context, system: str, source: str, label: str | None, effective: str | None,
            as_json: bool) -> None:
    """Import an official release file of SYSTEM, from disk or an http(s) address (the previous release stays
    current if it fails)."""
    if hasattr(os, "nice"):
        os.nice(10)  # batch work: a bot serving from the same machine keeps the CPU it needs to answer fast
    with tempfile.TemporaryDirectory(prefix="medcode-") as folder:
        path = fetch(source, Path(folder)) if is_address(source) else Path(source)
        bar = _ProgressBar(f"importing {path.name}")
        result = import_release(obj.db(), system, path, label=label, effective=effective, progress=bar,
                                announce_channel=obj.settings.medcode_announce_channel)
        bar.close()
    _emit(as_json, result.model_dump(mode="json"), render.import_result(result))


@main.command("releases")
@click.option("--json", "as_json", is_flag=True, help="Print the releases as JSON.")
@click.pass_obj
def releases_(obj: Context, as_json: bool) -> None:
    """List every imported release, oldest first per system."""
    db = obj.db()
    spans = {w.release["id"]: w for system in {r["system"] for r in releases(db)} for w in windows(db, system)}
    rows = [dict(r, valid_from=spans[r["id"]].start and spans[r["id"]].start.isoformat(),
                 valid_through=spans[r["id"]].end and spans[r["id"]].end.isoformat(),
                 window=spans[r["id"]].text()) for r in releases(db)]
    payload = [{k: (bool(v) if k == "current" else v) for k, v in r.items()} for r in rows]
    _emit(as_json, payload, render.releases_table(rows))


@main.command()
@click.pass_obj
def console(obj: Context) -> None:
    """Type /icd and /cpt lines and read the answers, without Slack."""
    from .console import run_console

    run_console(obj.db(), sys.stdin, sys.stdout, interactive=sys.stdin.isatty())


@main.command()
@click.option("--http", "http_base", metavar="https://HOST",
              help="HTTP mode: the bot's public https address; every request URL points at HOST/slack/events.")
def manifest(http_base: str | None) -> None:
    """Print the Slack app manifest (YAML): Socket Mode by default (the same as manifest.yml), or HTTP mode."""
    from .manifest import manifest_yaml

    click.echo(manifest_yaml(http_base), nl=False)


@main.command()
@click.option("--http", "mode", flag_value="http", help="HTTP mode (needs SLACK_SIGNING_SECRET; PORT).")
@click.option("--socket", "mode", flag_value="socket", help="Socket Mode (needs SLACK_APP_TOKEN).")
@click.option("--port", type=int, help="HTTP port (default $PORT or 3000).")
@click.option("--host", help="HTTP listening address (default $HOST or 0.0.0.0; 127.0.0.1 behind a local proxy).")
@click.option("--processes", type=click.IntRange(min=1),
              help="HTTP mode: gunicorn worker processes answering on the port (default: one per core).")
@click.pass_obj
def serve(obj: Context, mode: str | None, port: int | None, host: str | None, processes: int | None) -> None:
    """Run the bot: Socket Mode with SLACK_APP_TOKEN, HTTP mode otherwise; with no tokens, the console."""
    settings = obj.settings
    db = obj.db()
    if mode is None:
        mode = "socket" if settings.slack_app_token else "http" if settings.has_slack_tokens else "console"
    if mode == "console":
        click.echo("No Slack tokens set: starting the medcode console (type help).", err=True)
        from .console import run_console

        run_console(db, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
        return
    if not settings.has_slack_tokens:
        raise MedcodeError("set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET) to run in Slack")
    import logging

    from handlers import Services

    from .app import create_app
    from .run import run_http, run_socket

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    search.warm(db)
    services = Services(db_path=obj.db_path, policy_dirs=tuple(p for p in (settings.medcode_policy_dir,) if p),
                        admins=frozenset(a.strip() for a in settings.medcode_admins.split(",") if a.strip()))
    from .alerts import alert_client, start_worker

    def start_alerts(lock_path: Path | None = None) -> None:
        start_worker(services.db, alert_client(settings.slack_bot_token.get_secret_value(),
                                               settings.medcode_slack_api_url), lock_path=lock_path)

    if mode == "socket":
        if not settings.slack_app_token:
            raise MedcodeError("Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token)")
        start_alerts()
        run_socket(create_app(settings, services, socket_mode=True), settings.slack_app_token.get_secret_value())
    else:
        if not settings.slack_signing_secret:
            raise MedcodeError("HTTP mode needs SLACK_SIGNING_SECRET")
        processes = processes or os.cpu_count() or 1
        replay_store = Path(f"{obj.db_path}.replay") if processes > 1 else None
        alerts_lock = Path(f"{obj.db_path}.alerts-lock")
        db.conn.close()  # the workers open their own connections
        run_http(create_app(settings, services, replay_store=replay_store), port or settings.port, processes,
                 after_fork=lambda: start_alerts(alerts_lock), host=host or settings.host)
