"""`videorecs up` in a test (services/cli/faults.py starts and stops it): the recipes it
trains, how long it may take, and a Ctrl-C that must leave nothing listening."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.cli.faults import UpRun
from services.cli.faults import videorecs_up as _videorecs_up
from services.cli.ports import port_in_use

# The two cheapest recipes with a "Personal Recommendations" model: the full default set
# is what bench/startup.py times, and lab_stack already trains every recipe once.
RECIPES = ("aws-user-personalization", "aws-popularity-count")
FIRST_START_TIMEOUT = 420  # trains every recipe; CI machines are small
NEXT_START_TIMEOUT = 90


@contextmanager
def videorecs_up(workdir: Path, movielens_dir: Path, posters: Path, base: int,
                 timeout: float) -> Iterator[UpRun]:
    with _videorecs_up(workdir, data=movielens_dir, posters=posters, base=base,
                       timeout=timeout, options=["--recipes", *RECIPES]) as run:
        yield run


def stop_with_ctrl_c(run: UpRun, base: int) -> None:
    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(timeout=40) == 0, run.text()
    assert "stopping" in run.text()
    busy = [base + i for i in range(5) if port_in_use("127.0.0.1", base + i)]
    assert busy == [], f"children still listening on {busy}"
