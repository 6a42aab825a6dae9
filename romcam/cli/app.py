"""`romcam app`: a thin command over :mod:`romcam.app.server` (imported when it runs)."""

from __future__ import annotations

import click

from romcam.cli.options import DB_TYPE
from romcam.cli.store import DB_HELP

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
ANY_HOSTS = ("0.0.0.0", "::")


def reachable_address() -> str:
    """This computer's address on its network (what a tablet types), found without sending
    anything: the source address the OS would use for an outside address."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
    except OSError:
        return socket.gethostname()


def check_host(host: str, tls_cert, tls_key) -> None:
    """Another address than this computer's own is refused unless TLS is given (the app would
    otherwise be open to the network in clear, and browsers give the camera only to secure pages)."""
    from romcam.errors import RomcamError

    if (tls_cert is None) != (tls_key is None):
        raise RomcamError("give both --tls-cert and --tls-key, or neither")
    if host not in LOCAL_HOSTS and tls_cert is None:
        raise RomcamError(f"--host {host} would serve the app to other computers without encryption, and "
                          f"their browsers would refuse the camera: give --tls-cert and --tls-key too")


def link_qr_text(url: str) -> str:
    """``url`` as a QR code in half-block characters for a dark terminal (segno: a dark module is a
    space, a light one a block)."""
    import io

    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue().rstrip("\n")


@click.command()
@click.option("--db", type=DB_TYPE, default=None, help=DB_HELP)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than this computer's own needs --tls-cert and --tls-key.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TLS certificate (PEM) for --host.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TLS private key (PEM) for --host.")
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="Keep the access token in this file (made, mode 0600, when missing) instead of a new one "
                   "per start; refused when other users may read it or it is shorter than 32 characters.")
@click.option("--no-browser", is_flag=True, help="Do not open the browser; just print the link.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None,
              help="Folder with the .task models [default: $ROMCAM_MODEL_DIR, cache, download].")
@click.pass_context
def app(ctx, db, port, host, tls_cert, tls_key, token_file, no_browser, model_dir):
    """The guided session in a browser: a local web app on this computer (Ctrl-C stops it; a
    session running then is kept as incomplete, as `romcam session` keeps one)."""
    import logging
    import webbrowser

    from romcam.app.security import Access
    from romcam.app.server import AppConfig, serve
    from romcam.cli.config import SETTINGS_KEY
    from romcam.config import DEFAULTS

    check_host(host, tls_cert, tls_key)
    loaded = ctx.find_root().meta.get(SETTINGS_KEY)
    settings = loaded.settings if loaded is not None else DEFAULTS
    secure = tls_cert is not None
    access = Access.from_file(token_file, secure=secure) if token_file else Access(secure=secure)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("romcam app: %(message)s"))
    logger = logging.getLogger("romcam.app")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    base = {}

    def show_link(current: Access) -> None:
        url = f"{base['url']}/?token={current.token}"
        click.echo(f"romcam app: open {url}")
        if host not in LOCAL_HOSTS:
            click.echo(link_qr_text(url))

    def ready(bound: int) -> None:
        scheme = "https" if tls_cert else "http"
        shown = "127.0.0.1" if host in LOCAL_HOSTS else reachable_address() if host in ANY_HOSTS else host
        base["url"] = f"{scheme}://{shown}:{bound}"
        if host not in LOCAL_HOSTS:            # the home page shows the link's QR code for tablets
            access.base_url = base["url"]
        show_link(access)
        click.echo("romcam app: (the link holds the access token; the home page's 'New link' button replaces it; "
                   "Ctrl-C stops the app)")
        access.on_renew.append(show_link)
        if not no_browser:
            webbrowser.open(f"{base['url']}/?token={access.token}")

    try:
        serve(AppConfig(db=db, settings=settings, access=access, model_dir=model_dir), host=host, port=port,
              tls_cert=tls_cert, tls_key=tls_key, on_ready=ready)
    except KeyboardInterrupt:        # Ctrl-C: uvicorn has shut down; any running session is kept
        pass
    click.echo("romcam app: stopped")
