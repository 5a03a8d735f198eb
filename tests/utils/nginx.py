"""Fill deploy/nginx/default.conf.template the way the nginx image's envsubst step does.

Only `${UPPER_CASE}` names are replaced, so nginx's own `$variables` stay as they are;
a name with no value is an error rather than an empty string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "default.conf.template"
_NAME = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def render(values: Mapping[str, str], template: Path = TEMPLATE) -> str:
    text = template.read_text()
    missing = sorted({m for m in _NAME.findall(text) if m not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)} in {template.name}")
    return _NAME.sub(lambda m: values[m.group(1)], text)


def standalone_config(server_conf: Path, prefix: Path) -> str:
    """A main nginx.conf that runs in the foreground with every path under `prefix`."""
    # As root, workers would switch to `nobody`, which cannot enter pytest's 0700 temp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {server_conf};
}}
"""
