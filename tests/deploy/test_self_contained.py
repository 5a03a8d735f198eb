"""What a clone needs is in the clone: no pointer to documents outside the repository, and
`bench/` shares code with the tests through the package (services/), never through tests/.
The benchmarks are all reachable from `scripts/bench` (`make bench`, `make bench-list`)."""

from __future__ import annotations

import ast
import re
import subprocess

from tests.utils.servers import ROOT


def _tracked() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0:
        return listed.stdout.split()
    # Outside a git checkout (an unpacked source archive): its files, without the
    # virtualenv, caches and run data (folders whose names start with a dot).
    return [
        str(path.relative_to(ROOT)) for path in ROOT.rglob("*")
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__"
                                      for part in path.relative_to(ROOT).parts)
    ]


def test_nothing_points_at_notes_outside_the_repository() -> None:
    # The only paths outside it are the configurable data folders (MOVIELENS_DIR and the like).
    outside = re.compile(r"\.\./shared/(?!datasets\b)")
    found = [
        f"{name}:{number}"
        for name in _tracked()
        if (ROOT / name).is_file() and name != "tests/deploy/test_self_contained.py"
        for number, line in enumerate(
            (ROOT / name).read_text(errors="replace").splitlines(), start=1
        )
        if outside.search(line)
    ]
    assert found == []


def test_bench_imports_nothing_from_tests() -> None:
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            assert not any(name.split(".")[0] == "tests" for name in names), path.name


def _runnable_benchmarks() -> set[str]:
    return {
        path.stem for path in (ROOT / "bench").glob("*.py")
        if 'if __name__ == "__main__":' in path.read_text()
    }


def test_bench_list_names_every_benchmark_with_what_it_measures() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts/bench"), "--list"], capture_output=True, text=True, timeout=60,
        check=True,
    )
    rows = dict(line.split(None, 1) for line in done.stdout.splitlines())
    assert set(rows) == _runnable_benchmarks()
    assert all(description.strip() for description in rows.values())


def test_an_unknown_benchmark_is_refused_by_name() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts/bench"), "no-such-bench"], capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert done.returncode == 2
    assert "no benchmark 'no-such-bench'" in done.stderr
