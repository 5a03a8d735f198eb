"""Small helpers the console tests share."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BAD_CREDENTIALS = "Invalid username or password."


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    token = csrf_of(client.get("/console/sign-in").text)
    return client.post(
        "/console/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )
