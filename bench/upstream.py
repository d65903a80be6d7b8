"""The benchmark's zero-cost upstream: nginx serving fixed 2010-04-01 JSON bodies as static files, and
nginx as a plain reverse proxy in front of it (the baseline operators compare with)."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

ACCOUNT_FETCH = "AC" + "a" * 32
ACCOUNT_50 = "AC" + "5" * 32
ACCOUNT_1000 = "AC" + "1" * 32
SID = "PN" + "e" * 32


def caller_id(account: str, index: int, sid: str | None = None) -> dict[str, object]:
    sid = sid or "PN" + secrets.token_hex(16)
    return {
        "sid": sid,
        "account_sid": account,
        "friendly_name": f"(415) 555-{index:04d}",
        "phone_number": f"+1415555{index:04d}",
        "date_created": "Fri, 21 Aug 2009 00:11:24 +0000",
        "date_updated": "Fri, 21 Aug 2009 00:11:24 +0000",
        "uri": f"/2010-04-01/Accounts/{account}/OutgoingCallerIds/{sid}.json",
    }


def listing(account: str, count: int) -> dict[str, object]:
    uri = f"/2010-04-01/Accounts/{account}/OutgoingCallerIds.json?PageSize=1000&Page=0"
    return {
        "first_page_uri": uri,
        "end": count - 1,
        "previous_page_uri": None,
        "uri": uri,
        "page_size": 1000,
        "start": 0,
        "next_page_uri": None,
        "page": 0,
        "outgoing_caller_ids": [caller_id(account, i) for i in range(count)],
    }


def write_bodies(root: Path) -> None:
    (root / "lists").mkdir(parents=True, exist_ok=True)
    (root / "fetch.json").write_text(json.dumps(caller_id(ACCOUNT_FETCH, 7, SID)))
    (root / "lists" / f"{ACCOUNT_50}.json").write_text(json.dumps(listing(ACCOUNT_50, 50)))
    (root / "lists" / f"{ACCOUNT_1000}.json").write_text(json.dumps(listing(ACCOUNT_1000, 1000)))
    validation = {
        "account_sid": ACCOUNT_FETCH,
        "call_sid": "CA" + "c" * 32,
        "friendly_name": "My Home Phone Number",
        "phone_number": "+14158675309",
        "validation_code": "123456",
    }
    (root / "validation.json").write_text(json.dumps(validation))


NGINX_COMMON = """
worker_processes 1;
daemon off;
pid {root}/{name}.pid;
error_log {root}/{name}.error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  default_type application/json;
  client_body_temp_path {root}/tmp-{name};
  proxy_temp_path {root}/tmp-{name};
  fastcgi_temp_path {root}/tmp-{name};
  uwsgi_temp_path {root}/tmp-{name};
  scgi_temp_path {root}/tmp-{name};
  keepalive_requests 1000000;
  {body}
}}
"""

UPSTREAM_BODY = """
  server {{
    listen 127.0.0.1:{port} reuseport;
    root {root};
    location ~ "^/2010-04-01/Accounts/AC[0-9a-f]{{32}}/OutgoingCallerIds/PN[0-9a-f]{{32}}\\.json$" {{
      try_files /fetch.json =404;
    }}
    location ~ "^/2010-04-01/Accounts/(AC[0-9a-f]{{32}})/OutgoingCallerIds\\.json$" {{
      if ($request_method = POST) {{ rewrite ^ /validation last; }}
      try_files /lists/$1.json =404;
    }}
    location = /validation {{
      internal;
      return 200 '{validation}';
    }}
  }}
"""

PROXY_BODY = """
  upstream static {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    {log}
    location / {{
      proxy_pass http://static;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
"""


def start_nginx(root: Path, name: str, body: str) -> subprocess.Popen[bytes]:
    (root / f"tmp-{name}").mkdir(exist_ok=True)
    conf = root / f"{name}.conf"
    conf.write_text(NGINX_COMMON.format(root=root, name=name, body=body))
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(root)], stderr=subprocess.PIPE)


def start_upstream(root: Path, port: int) -> subprocess.Popen[bytes]:
    validation = (root / "validation.json").read_text().replace("'", "\\'")
    return start_nginx(root, "upstream", UPSTREAM_BODY.format(port=port, root=root, validation=validation))


def start_proxy(root: Path, port: int, upstream: int, access_log: bool = False) -> subprocess.Popen[bytes]:
    """nginx as a plain reverse proxy; with ``access_log``, one line per request to a file (combined)."""
    name = "proxy-log" if access_log else "proxy"
    log = f"access_log {root}/{name}.access.log;" if access_log else ""
    return start_nginx(root, name, PROXY_BODY.format(port=port, upstream=upstream, log=log))
