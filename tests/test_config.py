"""Config: names, defaults, resolution, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmirror.config import DEFAULT_USER_AGENT, load_config
from newsmirror.exceptions import ConfigError

CHANNEL = '''
[[channel]]
group = "新媒体"
site = "Aljazeera 半岛网"
channel = "新闻"
url = "rsshub:/aljazeera/news"
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsmirror.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_resolution(tmp_path):
    config = load_config(write(tmp_path, CHANNEL + '''
[[channel]]
group = "g"
site = "s"
channel = "local"
url = "feeds/a.xml"
author = "Someone"
include = "Rust"
'''))
    assert config.rsshub.base == "https://rsshub.app"
    assert config.output.dir == tmp_path / "site"
    assert config.output.state == tmp_path / "site" / ".newsmirror" / "state.db"
    assert config.output.posts_dir == tmp_path / "site" / "source" / "_posts"
    assert (config.output.max_items, config.output.retention, config.output.image_proxy) == (15, "keep", "")
    assert (config.fetch.concurrency, config.fetch.per_host, config.fetch.timeout) == (16, 4, 20.0)
    assert config.fetch.max_bytes == 20_000_000 and config.fetch.user_agent == DEFAULT_USER_AGENT
    first, second = config.channels
    assert first.url == "https://rsshub.app/aljazeera/news"
    assert first.author == "Aljazeera 半岛网" and first.key == "新媒体/Aljazeera 半岛网/新闻"
    assert second.url == (tmp_path / "feeds" / "a.xml").as_uri()
    assert second.author == "Someone"
    assert second.wants("Rust 1.95") and not second.wants("Go 1.30")


def test_all_names(tmp_path):
    config = load_config(write(tmp_path, '''
[rsshub]
base = "http://127.0.0.1:1200/"
[output]
dir = "out"
state = "state/s.db"
image_proxy = "https://proxy.example/?"
max_items = 3
retention = "window"
[fetch]
concurrency = 2
per_host = 1
timeout = 1.5
max_bytes = 1000
user_agent = "x"
''' + CHANNEL.replace('rsshub:/aljazeera/news', 'rsshub:aljazeera/news') + 'max_items = 7\nexclude = "ad"\n'))
    assert config.output.state == tmp_path / "state" / "s.db"
    assert config.output.retention == "window" and config.fetch.timeout == 1.5
    (channel,) = config.channels
    assert channel.url == "http://127.0.0.1:1200/aljazeera/news"
    assert channel.max_items == 7 and not channel.wants("an ad")


@pytest.mark.parametrize("text, message", [
    ("[output]\ndirr = 'x'\n", "[output]: unknown key 'dirr'"),
    ("[outputs]\n", "unknown table or key 'outputs'"),
    (CHANNEL + "urll = 'x'\n", "channel #1 (新媒体/Aljazeera 半岛网/新闻): unknown key 'urll'"),
    ("[[channel]]\ngroup = 'g'\nsite = 's'\nurl = 'x'\n", "channel #1 (g/s/?): missing 'channel'"),
    (CHANNEL + "include = '(unclosed'\n", "include: bad regex '(unclosed'"),
    (CHANNEL + CHANNEL, "channel #2 (新媒体/Aljazeera 半岛网/新闻) repeats channel #1"),
    ("[output]\nmax_items = '15'\n", "max_items must be an integer"),
    ("[output]\nmax_items = 0\n", "max_items must be greater than 0"),
    ("[fetch]\ntimeout = true\n", "timeout must be an integer or a number"),
    ("[output]\nretention = 'forever'\n", "retention must be one of"),
    ("[rsshub]\nbase = 'ftp://x'\n", "base must be an http(s) URL"),
    (CHANNEL.replace('"新闻"', '"../up"'), "cannot be a folder name"),
    (CHANNEL.replace('"新闻"', '"_drafts"'), "cannot be a folder name"),
    (CHANNEL.replace('rsshub:/aljazeera/news', 'gopher://x'), "unsupported URL scheme 'gopher'"),
    ("[output\n", "invalid TOML"),
    ("[output]\ndirr = 'x'\n", "unknown key 'dirr' (did you mean 'dir'?)"),
    ("[fetch]\nintervall = '1h'\n", "(did you mean 'interval'?)"),
    ("[sites]\n", "unknown table or key 'sites' (did you mean 'site'?)"),
    (CHANNEL + "exclued = 'x'\n", "(did you mean 'exclude'?)"),
    (CHANNEL.replace('rsshub:/aljazeera/news', '127.0.0.1:8801/world.xml'),
     "did you mean 'http://127.0.0.1:8801/world.xml'?"),
    (CHANNEL.replace('rsshub:/aljazeera/news', 'localhost:1200/cnbeta'), "did you mean 'http://localhost:1200/cnbeta'?"),
    (CHANNEL.replace('rsshub:/aljazeera/news', 'www.example.org/feed.xml'), "did you mean 'http://www.example.org/feed.xml'?"),
])
def test_errors_name_file_and_entry(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(str(path)) and message in text, text
    assert "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("host", ["127.0.0.1", "https://www.youtube.com", "printer.local", "Player.Example",
                                  "localhost", "player.example/embed", 3])
def test_iframe_hosts_must_be_public_names(tmp_path, host):
    value = f'"{host}"' if isinstance(host, str) else str(host)
    with pytest.raises(ConfigError, match=r"\[clean\] iframe_hosts"):
        load_config(write(tmp_path, f"[clean]\niframe_hosts = [{value}]\n" + CHANNEL))


def test_rsshub_key_goes_only_to_the_instance(tmp_path):
    config = load_config(write(tmp_path, '[rsshub]\nbase = "https://hub.example"\nkey = "K"\n' + CHANNEL + '''
[[channel]]
group = "g"
site = "s"
channel = "c"
url = "https://other.example/feed"
'''))
    hub, other = config.channels
    assert hub.url == "https://hub.example/aljazeera/news" and hub.fetch_url == hub.url + "?key=K"
    assert other.fetch_url == other.url and "K" not in repr(hub)
