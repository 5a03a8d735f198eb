"""Time from a fresh clone's first command to the app answering with recommendations,
and the time of the second start (targets: < 60 s once dependencies are installed,
< 3 min including installs, < 10 s for a second start).

    .venv/bin/python -m bench.startup [--data DIR] [--fresh-venv]

The clone is the project's files (tracked and not ignored) copied to a temp folder, so
there is no `.data/`. By default it runs `videorecs up` from the clone's code with this
project's installed dependencies, i.e. the first command after `scripts/setup` has
already run: `make run` would otherwise reinstall into the shared venv. `--fresh-venv`
also times `scripts/setup` into a new venv inside the clone (pip downloads everything:
several minutes, beyond the usual 3-minute bench bound, so it is opt-in).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from services.cli.ports import free_port_block

ROOT = Path(__file__).resolve().parents[1]
ANSWER_TIMEOUT = 600


def _fresh_clone(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
        capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _recommendations_answer(url: str) -> bool:
    try:
        models = httpx.get(f"{url}/api/registry/models", timeout=5).json()["data"]
        ids = [m["id"] for m in models if m["type"] == "recommendations"]
        if not ids:
            return False
        response = httpx.get(f"{url}/api/recommender/users/1/recommendations",
                             params={"models": str(ids[0]), "num": 10}, timeout=10)
        blocks = response.json()["blocks"]
        return response.status_code == 200 and bool(blocks[0]["items"])
    except (httpx.HTTPError, KeyError, ValueError, IndexError):
        return False


def _start(cmd: list[str], clone: Path, env: dict[str, str], log: Path, url: str) -> tuple[
    subprocess.Popen[bytes], float
]:
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
    while not _recommendations_answer(url):
        if process.poll() is not None:
            raise SystemExit(f"videorecs up exited with {process.returncode}; see {log}")
        if time.monotonic() - started > ANSWER_TIMEOUT:
            process.kill()
            raise SystemExit(f"no recommendations after {ANSWER_TIMEOUT}s; see {log}")
        time.sleep(0.2)
    return process, time.monotonic() - started


def _stop(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=60)
    if code != 0:
        raise SystemExit(f"videorecs up exited with {code} on Ctrl-C")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("MOVIELENS_DIR",
                                                    ROOT.parent / "shared/datasets/ml-100k")))
    parser.add_argument("--fresh-venv", action="store_true",
                        help="also time scripts/setup into a new venv (downloads everything)")
    args = parser.parse_args()
    data = args.data.resolve()
    posters = data.parent / "ml-100k-posters" / "u.item"
    base = free_port_block()
    url = f"http://127.0.0.1:{base}"
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="videorecs-clone-") as tmp:
        clone = Path(tmp)
        _fresh_clone(clone)
        env = {**os.environ, "PYTHONPATH": str(clone), "COLUMNS": "250"}
        install_seconds = 0.0
        if args.fresh_venv:
            started = time.monotonic()
            subprocess.run(["scripts/setup"], cwd=clone, check=True, env=env)
            install_seconds = time.monotonic() - started
            python = str(clone / ".venv/bin/python")
            print(f"scripts/setup (fresh venv, pip downloads): {install_seconds:.1f} s")
        else:
            python = sys.executable
        cmd = [python, "-m", "services.cli.main", "up", "--data", str(data),
               "--port", str(base), "--base-port", str(base + 1)]
        if posters.is_file():
            cmd += ["--posters", str(posters)]
        log = clone / "up.log"

        process, first = _start(cmd, clone, env, log, url)
        print(f"first start (fresh .data: load, import, train all recipes, deploy, register) "
              f"to recommendations: {first:.1f} s")
        if args.fresh_venv:
            print(f"fresh clone including installs: {install_seconds + first:.1f} s")
        steps = [line for line in log.read_text(errors="replace").splitlines()
                 if line.startswith("✓")]
        print("  steps (overlapping): " + "; ".join(s[2:] for s in steps))
        stop = _stop(process)
        print(f"Ctrl-C to clean exit: {stop:.1f} s")

        process, second = _start(cmd, clone, env, log, url)
        print(f"second start to recommendations: {second:.1f} s")
        _stop(process)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("targets: first start < 60 s with dependencies installed (< 3 min with installs); "
          "second start < 10 s")


if __name__ == "__main__":
    main()
