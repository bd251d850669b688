"""``cmltrack serve`` (the clinic's service) and ``cmltrack db upgrade``."""

from __future__ import annotations

import socket
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cmltrack.cli.app import app

db_app = typer.Typer(name="db", help="The service's database.", no_args_is_help=True)
app.add_typer(db_app)

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (SQLite or "
                                           "postgresql+psycopg://USER@HOST:PORT/DB).")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (SQLite file).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML config file.")]


@app.command()
def serve(
    db: DbOpt = None,
    data_dir: DataDirOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (0: any free one).")] = None,
    public_url: Annotated[str | None, typer.Option("--public-url",
                                                   help="Public base URL.")] = None,
    config: ConfigOpt = None,
    cds_clients: Annotated[Path | None, typer.Option("--cds-clients",
                                                     help="Trusted CDS clients file.")] = None,
    tokens: Annotated[Path | None, typer.Option("--tokens", help="API tokens file.")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="Log level.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the example clinic and print "
                                       "demo sign-in links.")] = False,
) -> None:
    """Run the clinic's service: REST API, CDS Hooks 2.0 and health probe."""
    import dataclasses

    import uvicorn

    from cmltrack.service import logs
    from cmltrack.service.app import create_app, open_services
    from cmltrack.service.settings import load_settings

    flags = {"db": db, "data_dir": data_dir, "host": host, "port": port,
             "public_url": public_url, "config": config, "cds_clients": cds_clients,
             "tokens": tokens, "log_level": log_level}
    if demo and db is None and data_dir is None:
        # A demo never touches the user's clinic: its own fresh folder unless one is named.
        flags["data_dir"] = Path(tempfile.mkdtemp(prefix="cmltrack-demo-"))
    settings = load_settings(flags)
    log_config = logs.configure(settings.log_level)
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        from cmltrack.errors import InputError

        raise InputError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
                         code="bad_argument", field="--port") from None
    sock.listen(2048)  # connections queue from now on, before uvicorn takes the socket
    bound = sock.getsockname()[1]
    settings = dataclasses.replace(settings, port=bound)
    svc = open_services(settings)
    application = create_app(settings, svc)
    out = sys.stdout
    if demo:
        from cmltrack.service.demo import load_demo, sign_in_url

        minted = load_demo(svc)
        out.write("cmltrack demo clinic loaded (12 example patients). "
                  "Decision support, not a medical device.\n")
        for role in ("clinician", "analyst"):
            out.write(f"Sign in as demo {role}: {sign_in_url(settings.base_url, minted[role])}\n")
        out.write(f"API token (clinician): {minted['clinician']}\n")
        out.write(f"API token (analyst):   {minted['analyst']}\n")
        out.write(f"API token (admin):     {minted['admin']}\n")
        out.write(f"Try: curl -H 'Authorization: Bearer {minted['clinician']}' "
                  f"{settings.base_url}/api/v1/worklist\n")
    out.write(f"cmltrack serve: listening on http://{settings.host}:{bound} "
              f"(public URL {settings.base_url}, schema {svc.revision})\n")
    out.flush()
    from cmltrack.service.core import warm_up

    warm_up()
    tune_gc()
    config_ = uvicorn.Config(application, log_config=log_config, log_level=settings.log_level,
                             access_log=False, proxy_headers=True, server_header=False)
    uvicorn.Server(config_).run(sockets=[sock])


def tune_gc() -> None:
    """Spare each request the garbage collector's work on what lives as long as the process.

    The modules, the app and the rules tables are never garbage: frozen, collections skip
    them. A request's own objects (a CDS Hooks prefetch parses into tens of thousands of
    dicts) are freed by reference counting; a higher first-generation threshold keeps the
    collector from scanning (and promoting) them while they are still alive.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Apply pending database migrations, and nothing else."""
    from cmltrack.service.settings import load_settings
    from cmltrack.store import db as dbmod

    settings = load_settings({"db": db, "data_dir": data_dir, "config": config})
    database = dbmod.connect(dbmod.resolve_url(settings.db, settings.data_dir))
    try:
        revision = dbmod.upgrade(database)
    finally:
        database.dispose()
    typer.echo(f"database at schema revision {revision}")
