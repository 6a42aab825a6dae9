"""PostgreSQL URLs: a password in one (user info or query string) is refused wherever the URL
comes from, and never printed. No server is needed: the URL is refused before any connection."""

from __future__ import annotations

import pytest

from romcam.cli import main
from romcam.errors import RomcamError
from romcam.storage.engine import clean_url, shown_url

SECRET = "Sw0rdfish-42"
WITH_PASSWORD = [
    f"postgresql://nurse:{SECRET}@db.example/romcam",
    f"postgresql:///romcam?password={SECRET}",
    f"postgresql://nurse@db.example:5432/romcam?sslmode=require&password={SECRET}",
    f"postgres://db.example/romcam?PASSWORD={SECRET}",
    f"postgresql://db.example/romcam?pass%77ord={SECRET}",
    f"postgresql://nurse@db.example/romcam?password={SECRET}@x&sslmode=require",
    f"postgresql://nurse:{SECRET}?x@db.example/romcam",
    f"postgresql://nurse:{SECRET}@db.example:port/romcam",          # also a bad port
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A config folder and a working folder of their own, no ROMCAM_DB, no PostgreSQL variables."""
    (tmp_path / "user").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.setenv("ROMCAM_CONFIG_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    monkeypatch.setenv("ROMCAM_DATA_DIR", str(tmp_path / "data"))
    for name in ("ROMCAM_DB", "PGPASSWORD", "PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


@pytest.mark.parametrize("url", WITH_PASSWORD)
def test_clean_url_refuses_a_password_and_never_shows_it(url):
    wanted = "not a database URL" if ":port/" in url else "PGPASSWORD.*pgpass"
    with pytest.raises(RomcamError, match=wanted) as caught:
        clean_url(url)
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)
    assert SECRET not in shown_url(url)


@pytest.mark.parametrize("url", WITH_PASSWORD[:6])
@pytest.mark.parametrize("route", ["--db", "ROMCAM_DB", "romcam.toml", "config show --db"])
def test_a_password_is_refused_in_one_line_from_every_route(url, route, home, capsys, monkeypatch):
    argv = ["history"]
    if route == "--db":
        argv += ["--db", url]
    elif route == "ROMCAM_DB":
        monkeypatch.setenv("ROMCAM_DB", url)
    elif route == "romcam.toml":
        (home / "work" / "romcam.toml").write_text(f'db = "{url}"\n', encoding="utf-8")
    else:
        argv = ["config", "show", "--db", url]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("romcam: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "PGPASSWORD" in err and "~/.pgpass" in err
    assert SECRET not in out + err
    assert not (home / "data").exists()                      # nothing was created anywhere


@pytest.mark.parametrize("url, shown", [
    ("postgresql://nurse:pw@h/db", "postgresql://nurse:***@h/db"),
    ("postgresql://h/db?sslmode=require&password=pw", "postgresql://h/db?sslmode=require&password=***"),
    ("postgresql://h/db?password=pw&sslmode=require", "postgresql://h/db?password=***"),
    ("postgresql://nurse@h:5432/db?sslmode=require", "postgresql://nurse@h:5432/db?sslmode=require"),
    ("/data/romcam.sqlite3", "/data/romcam.sqlite3"),
])
def test_shown_url(url, shown):
    assert shown_url(url) == shown


def test_a_url_without_a_password_is_kept():
    url = "postgresql://nurse@db.example:5432/romcam?sslmode=require&passfile=/home/n/.pgpass"
    assert clean_url(url) == url
