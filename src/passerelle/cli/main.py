"""The one command line: passerelle serve | demo | chat | bench | business | business-endpoint |
backup | restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from passerelle.cli.backup import backup, restore
from passerelle.cli.business.catalog import catalog as catalog_app
from passerelle.cli.business.catalog import order as order_app
from passerelle.cli.business.command import app as business_app
from passerelle.cli.business.endpoints import endpoint as endpoint_admin_app
from passerelle.cli.business.templates import template as template_app
from passerelle.cli.business.webhooks import webhook as webhook_app
from passerelle.cli.endpoint import endpoint_app

app = typer.Typer(
    help="Passerelle: one end-to-end encrypted messaging back end for several apps.", no_args_is_help=True
)
business_app.add_typer(webhook_app, name="webhook")
business_app.add_typer(endpoint_admin_app, name="endpoint")
business_app.add_typer(template_app, name="template")
business_app.add_typer(catalog_app, name="catalog")
business_app.add_typer(order_app, name="order")
app.add_typer(business_app, name="business")
app.add_typer(endpoint_app, name="business-endpoint")
app.command()(backup)
app.command()(restore)


@app.command()
def serve(
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML file of settings and apps (a file without \\[apps.*] keeps the bundled apps)",
            show_default="the bundled chat, photo and social apps",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="SQLite database and media live here", show_default="./data")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on", show_default="127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port", show_default="8000")] = None,
    ws_port: Annotated[
        int | None,
        typer.Option(
            help="Also serve /v1/ws on this port with the fast (picows) gateway", show_default="off"
        ),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="postgresql://...", show_default="SQLite in the data dir")
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="redis://... to run several nodes", show_default="one process")
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            help="console (readable lines) or json (one JSON object per line)", show_default="console"
        ),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning or error", show_default="info")
    ] = None,
) -> None:
    """Start the server (the bundled chat, photo and social apps unless --config says otherwise).

    Every option can also come from the --config file's \\[server] table or a PASSERELLE_<SETTING>
    environment variable (PASSERELLE_PORT=9000); options win over both. docs/operations.md lists them.
    """

    from passerelle.config import ConfigError, load_settings
    from passerelle.server.app import create_app
    from passerelle.server.logs import configure_logging
    from passerelle.server.runner import GracefulServer, tune_gc, uvicorn_config
    from passerelle.server.startup import unusable_data_dir, unusable_ports

    try:
        settings = load_settings(
            config,
            data_dir=data_dir,
            host=host,
            port=port,
            ws_port=ws_port,
            database_url=database_url,
            redis_url=redis_url,
            log_format=log_format,
            log_level=log_level,
        )
    except ConfigError as exc:
        typer.echo(f"passerelle serve: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    unusable = unusable_data_dir(settings) or unusable_ports(settings)
    if unusable is not None:
        typer.echo(f"passerelle serve: {unusable}", err=True)
        raise typer.Exit(1)
    asgi = create_app(settings)
    server = GracefulServer(uvicorn_config(asgi, settings), asgi.state.services)
    tune_gc()
    server.run()


@app.command()
def bench(
    scenario: Annotated[
        str,
        typer.Option(
            help="a (closed loop), a2 (the same, many pairs), b (open loop), c (offline store, drain), "
            "d (group fan-out), e (idle connections), f (logins), g or business-campaign (a business's "
            "template campaign), h or business-webhook (inbound messages to signed webhooks), a list like "
            "a,c, or all"
        ),
    ] = "all",
    duration: Annotated[
        float, typer.Option(help="Seconds measured in (a), (a2) and (b), after the warm-up")
    ] = 10.0,
    pairs: Annotated[int, typer.Option(help="Sender/receiver pairs in (a), (b), (c)")] = 20,
    many_pairs: Annotated[int, typer.Option(help="Sender/receiver pairs in (a2)")] = 500,
    window: Annotated[int, typer.Option(help="Messages in flight per sender in (a), (a2) and (c)")] = 8,
    refill: Annotated[
        str, typer.Option(help="(a): send the next message when the receiver got one (received) or on sent")
    ] = "received",
    body_bytes: Annotated[int, typer.Option(help="Bytes of each message's encrypted body")] = 200,
    rate: Annotated[float, typer.Option(help="Messages per second in all, for the open loop (b)")] = 5000.0,
    warmup: Annotated[float, typer.Option(help="Seconds of warm-up before measuring (a) and (b)")] = 2.0,
    messages: Annotated[int, typer.Option(help="Messages stored for offline recipients in (c)")] = 50_000,
    ack_batch: Annotated[int, typer.Option(help="Receivers ack once this many items are unacked")] = 1,
    members: Annotated[int, typer.Option(help="Members of the group in (d), besides its sender")] = 1000,
    group_sends: Annotated[
        int, typer.Option(help="Messages sent to the group in (d): one latency sample each")
    ] = 500,
    idle_connections: Annotated[
        int, typer.Option(help="Idle authenticated connections in (e) (fewer if the fd limit is lower)")
    ] = 20_000,
    logins: Annotated[int, typer.Option(help="Logins in (f)")] = 2000,
    login_concurrency: Annotated[int, typer.Option(help="Logins under way at once in (f)")] = 16,
    login_via: Annotated[
        str, typer.Option(help="(f): log in on the WebSocket (ws) or with the two REST requests (http)")
    ] = "ws",
    campaign_people: Annotated[
        int, typer.Option(help="(g): people the template campaign goes to, opted in during its set-up")
    ] = 10_000,
    biz_numbers: Annotated[int, typer.Option(help="(g): the business's numbers the sends spread over")] = 3,
    biz_concurrency: Annotated[int, typer.Option(help="(g): requests the bot keeps in flight")] = 64,
    webhook_rate: Annotated[float, typer.Option(help="(h): inbound messages per second in all")] = 500.0,
    webhook_people: Annotated[int, typer.Option(help="(h): people (SDK clients) writing")] = 20,
    gateway: Annotated[
        str, typer.Option(help="WebSocket layer the clients use: picows (the fast port) or asgi (uvicorn)")
    ] = "picows",
    host: Annotated[str, typer.Option(help="Where the server under test listens")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(help="Its HTTP port; the picows gateway takes the next one", show_default="free ports"),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write latency.png and throughput.png here (needs matplotlib)")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Last stdout line: the figures as JSON (benchmarks/README.md)")
    ] = False,
) -> None:
    """Measure this machine: a real server in a child process, loaded over loopback by real clients.

    Exit status 0 when every scenario is ok, 3 when one failed (messages lost, duplicated, rejected
    or unanswered), 1 when the bench could not measure, 2 for bad options.
    """
    from passerelle.cli.bench.command import bench_command

    options = {
        "duration_s": duration,
        "pairs": pairs,
        "many_pairs": many_pairs,
        "window": window,
        "refill": refill,
        "body_bytes": body_bytes,
        "rate": rate,
        "warmup_s": warmup,
        "offline_messages": messages,
        "ack_batch": ack_batch,
        "members": members,
        "group_sends": group_sends,
        "idle_connections": idle_connections,
        "logins": logins,
        "login_concurrency": login_concurrency,
        "login_via": login_via,
        "campaign_people": campaign_people,
        "biz_numbers": biz_numbers,
        "biz_concurrency": biz_concurrency,
        "webhook_rate": webhook_rate,
        "webhook_people": webhook_people,
        "gateway": gateway,
        "host": host,
        "port": port,
        "plot_dir": plot,
    }
    raise typer.Exit(bench_command(options, scenario=scenario, as_json=json_output))


@app.command()
def demo(
    scene: Annotated[
        str,
        typer.Argument(
            help=(
                "people: three people on three apps; business: a business's bot answers them on all"
                " three; shop: a shop bot (passerelle.bot) sells to them on all three"
            ),
            show_default=True,
        ),
    ] = "people",
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the server's data and the clients' stores here (default: a temp dir)"),
    ] = None,
) -> None:
    """Three people on three apps talk through an in-process server (or, with ``business``, a
    business's bot answers them on all three); then prove the server stored no plaintext."""
    from passerelle.cli.demo.command import SCENES
    from passerelle.cli.demo.command import main as demo_main

    if scene not in SCENES:
        raise typer.BadParameter(f"{scene!r}: the demos are {', '.join(SCENES)}", param_hint="SCENE")
    raise typer.Exit(demo_main(data_dir, scene))


@app.command()
def chat(
    server: Annotated[
        str,
        typer.Option(
            envvar="PASSERELLE_SERVER",
            help="The server to register with (first run; a resumed device uses the one in its store)",
        ),
    ] = "http://127.0.0.1:8000",
    app_name: Annotated[
        str | None, typer.Option("--app", help="Your app (first run): chat, photo, social")
    ] = None,
    store: Annotated[Path | None, typer.Option(help="This device's store (keys, messages)")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone apps: your number, +33612345678")] = None,
    handle: Annotated[str | None, typer.Option(help="Handle apps: your handle")] = None,
    username: Annotated[str | None, typer.Option(help="Profile apps: your username")] = None,
    name: Annotated[str | None, typer.Option(help="Your name, shown to others (first run)")] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="PASSERELLE_PASSWORD", help="Password (else asked for)", show_default=False),
    ] = None,
    new_device: Annotated[bool, typer.Option(help="Add this device to an existing account")] = False,
    device_name: Annotated[str | None, typer.Option(help="This device's name")] = None,
    send: Annotated[str | None, typer.Option(help="Send this one message (with --to) and exit")] = None,
    to: Annotated[str | None, typer.Option(help="Address for --send: photo:alice")] = None,
    receive: Annotated[int | None, typer.Option(help="Print this many messages, then exit")] = None,
    timeout: Annotated[
        float,
        typer.Option(help="Seconds --send and --receive wait for the server (and --receive for messages)"),
    ] = 30.0,
) -> None:
    """A terminal client: register or resume a device, then chat (/help lists the commands).

    It talks to http://127.0.0.1:8000 (a local `passerelle serve`) unless --server or PASSERELLE_SERVER
    names another server: passerelle chat --server https://chat.example --app photo --handle alice
    """
    from passerelle.cli.chat.command import ChatOptions
    from passerelle.cli.chat.command import main as chat_main

    options = ChatOptions(
        server=server,
        app=app_name,
        store=store,
        phone=phone,
        handle=handle,
        username=username,
        name=name,
        password=password,
        new_device=new_device,
        device_name=device_name,
        send=send,
        to=to,
        receive=receive,
        timeout=timeout,
    )
    raise typer.Exit(chat_main(options))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
