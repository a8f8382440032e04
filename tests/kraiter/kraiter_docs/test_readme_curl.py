"""README.md's curl lines ("The API in brief"), replayed in order against the organisation `make
run` creates (demo_setup), with the key it prints; beat runs after each line, as it would between
two commands typed by hand. Each `xxx_...` placeholder becomes the id of that kind the latest answer
holding one gave. Every line must succeed and answer what /api/schema/ documents."""

import json
import re
import shlex
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from rest_framework.test import APIClient

from tests.openapi import assert_matches_schema

README = Path(__file__).resolve().parents[3] / "README.md"


def api_section() -> str:
    return README.read_text().split("## The API in brief", 1)[1].split("\n## ", 1)[0]


def curl_lines() -> list[list[str]]:
    """Each curl command of the section, as its shell words (comments, `"${auth[@]}"` dropped)."""
    section = api_section()
    commands, pending = [], ""
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            pending = f"{pending}\n{line}" if pending else line
            try:
                words = shlex.split(pending.replace("\\\n", " "), comments=True)
            except ValueError:  # a quoted body that goes on on the next line
                continue
            pending = ""
            if words[:1] == ["curl"]:
                commands.append([word for word in words if word != "${auth[@]}"])
    return commands


def ids_in(body: Any) -> list[str]:
    if isinstance(body, dict):
        own = [body["id"]] if isinstance(body.get("id"), str) else []
        return own + [i for value in body.values() for i in ids_in(value)]
    if isinstance(body, list):
        return [i for item in body for i in ids_in(item)]
    return []


def test_every_curl_line_of_the_readme_works_as_shown(db, settings, tmp_path, beat):
    settings.OUTBOX_DIR = tmp_path
    out = StringIO()
    call_command("demo_setup", stdout=out)
    key = re.search(r"\b(kr_[A-Za-z0-9_-]{40})\b", out.getvalue()).group(1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    seen: list[str] = []
    commands = curl_lines()
    for words in commands:
        method, url, body, headers = "GET", "", None, {}
        options = iter(words[1:])
        for word in options:
            if word == "-X":
                method = next(options)
            elif word == "-d":
                body = json.loads(next(options))
            elif word == "-H":
                name, value = next(options).split(": ", 1)
                headers["HTTP_" + name.upper().replace("-", "_")] = value
            elif word.startswith("$API"):
                url = "/api" + word.removeprefix("$API")
        for prefix in re.findall(r"\b([a-z]{3})_\.\.\.", url):
            url = url.replace(f"{prefix}_...", next(i for i in reversed(seen) if i.startswith(f"{prefix}_")))
        response = getattr(client, method.lower())(url, body, format="json", **headers)
        assert 200 <= response.status_code < 300, (words, response.content)
        assert_matches_schema(response, method, url)
        if response.content:
            seen.extend(reversed(ids_in(response.json())))  # a list's first item is the one looked for
        beat.run()
    assert len(commands) == len(re.findall(r"^curl ", api_section(), re.M)) > 20  # not one line missed
