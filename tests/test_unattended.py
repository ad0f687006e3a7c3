"""Running unattended: `newsmirror init` scaffolds a mirror, `newsmirror watch` runs rounds as
channels come due and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import yaml

from conftest import Response, channel_toml, item, newsmirror, posts_in, rss, write_config
from newsmirror.config import load_config


def test_init_scaffolds_a_mirror_that_loads(tmp_path):
    folder = tmp_path / "mirror"
    result = newsmirror("init", str(folder))
    assert result.returncode == 0, result.stderr
    config = load_config(folder / "newsmirror.toml")
    assert config.site.enabled
    assert len(config.routes) >= 3 and config.fetch.interval == 900
    # every route names its levels, so the config needs no catalogue to load
    listed = newsmirror("channels", "--config", str(folder / "newsmirror.toml"))
    assert listed.returncode == 0, listed.stderr
    assert "/aljazeera/chinese/news" in listed.stdout
    ignore = (folder / ".gitignore").read_text(encoding="utf-8")
    assert "/site/.newsmirror/" in ignore and "/public/" in ignore
    # the built site has a folder of its own, which `hexo generate` on site/ never touches
    assert config.public_dir == (folder / "public").resolve() != config.output.dir / "public"


def test_the_workflow_runs_on_a_schedule_keeps_the_state_and_deploys(tmp_path):
    folder = tmp_path / "mirror"
    assert newsmirror("init", str(folder)).returncode == 0
    path = folder / ".github" / "workflows" / "newsmirror.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["mirror"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/cache@") for u in uses)
    cache = next(step for step in steps if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "site/.newsmirror"
    assert "${{ github.run_id }}" in cache["with"]["key"]            # a new entry every run
    assert cache["with"]["restore-keys"].startswith("newsmirror-state-")  # the latest restored
    assert any("newsmirror run" in step.get("run", "") for step in steps)
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert (folder / upload["with"]["path"]).resolve() == load_config(folder / "newsmirror.toml").public_dir
    assert uses[-1].startswith("actions/deploy-pages@")
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"
    # and GitHub's own schema for workflows accepts it (vendored by check-jsonschema)
    check = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                            "vendor.github-workflows", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_init_refuses_a_folder_that_has_a_mirror_and_changes_nothing(tmp_path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "newsmirror.toml").write_text("# mine\n", encoding="utf-8")
    result = newsmirror("init", str(folder))
    assert result.returncode == 2
    assert "already exists" in result.stderr and "Traceback" not in result.stderr
    assert (folder / "newsmirror.toml").read_text(encoding="utf-8") == "# mine\n"
    assert sorted(p.name for p in folder.iterdir()) == ["newsmirror.toml"]


def _watch(config: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}  # real time here
    return subprocess.Popen([sys.executable, "-m", "newsmirror", "watch", "--config", str(config),
                             "--min-wait", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_watch_runs_rounds_as_channels_come_due_and_stops_on_sigterm(tmp_path, server):
    server.routes["/f.xml"] = Response(200, rss(item("one", "g1")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/f.xml"))],
                          fetch_extra='interval = "1s"')
    config.write_text(config.read_text() + "\n[site]\nenabled = true\nsearch = false\n", encoding="utf-8")
    process = _watch(config)
    try:
        _wait_for(lambda: len(posts_in(tmp_path)) == 1)
        server.routes["/f.xml"] = Response(200, rss(item("two", "g2"), item("one", "g1")))
        _wait_for(lambda: len(posts_in(tmp_path)) == 2)
        _wait_for(lambda: (tmp_path / "site" / "public" / "posts" / "g" / "s" / "c" / "two.html").exists())
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    rounds = [line for line in out.splitlines() if " round " in line]
    assert len(rounds) >= 2 and all("feeds:" in line or "stopped" in line for line in rounds), out
    assert "site:" in rounds[0]
    assert "watch stopped" in out
    assert server.hits("/f.xml") >= 2
    status = newsmirror("status", "--config", str(config))
    assert status.returncode == 0 and "2 items" in status.stdout, status.stdout + status.stderr


def test_run_quiet_prints_nothing_when_all_went_well(tmp_path, server):
    server.routes["/f.xml"] = Response(200, rss(item("one", "g1")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/f.xml"))])
    config.write_text(config.read_text() + "\n[site]\nenabled = true\nsearch = false\n", encoding="utf-8")
    result = newsmirror("run", "--quiet", "--config", str(config))
    assert result.returncode == 0 and (result.stdout, result.stderr) == ("", ""), result
    assert len(posts_in(tmp_path)) == 1
    server.routes["/f.xml"] = Response(500, b"down", {"Content-Type": "text/plain"})
    result = newsmirror("run", "--quiet", "--config", str(config))
    assert result.returncode == 1
    assert "failed: g/s/c" in result.stderr and "HTTP 500" in result.stderr
    assert "1 failed" in result.stdout
