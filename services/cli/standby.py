"""A warm spare of one service for `videorecs up`: imported, waiting to serve.

    python -m services.cli.standby --log LOG <app> --host H --port P [uvicorn options]

Importing a service is most of its start (the engine: 1.5 s alone, 3-6 s on a busy
2-core machine; its lifespan takes 0.1-0.5 s). The spare imports the app and builds it
with the service's environment, says `ready` on stdout, then waits on stdin: `go` starts
uvicorn with the options given (the app is already in memory, so it serves within its
lifespan's time); end of input (the supervisor gone, or told to stop) exits.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.cli.standby")
    parser.add_argument("--log", required=True, help="the service's log file (appended)")
    # The options of spawn()'s uvicorn command line (services/cli/supervisor.py).
    parser.add_argument("app")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proxy-headers", action="store_true")
    parser.add_argument("--timeout-graceful-shutdown", type=int)
    parser.add_argument("--loop", default="auto")
    args = parser.parse_args()
    log = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log, 2)  # an import error lands in the service's log
    module_name, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module_name), attr or "app")
    import uvicorn

    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 0
    os.dup2(log, 1)
    os.close(log)
    # log_config=None: the app has set up its JSON logging, uvicorn's loggers included;
    # FORWARDED_ALLOW_IPS is read from the environment as the command line does.
    config = uvicorn.Config(
        app, host=args.host, port=args.port, proxy_headers=args.proxy_headers,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown, loop=args.loop,
        log_config=None,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
