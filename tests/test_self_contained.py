"""Everything the project needs lives in the repository: nothing reads, names or links a folder beside it;
and what it holds is its own words.

Three checks. A scan of every text file for paths that leave the repository: ``..`` chains that climb
above the root, ``parent.parent.parent``-style climbs, the absolute path of any folder the checkout
sits in, home directories, and names of whatever happens to sit beside the checkout.
And a real run: the repository is copied into a folder with a decoy sibling next to it, a sample of the
suite runs there under an audit hook (``sys.addaudithook``) that records every file opened or listed,
and any path outside the copy (other than Python's own installation and temporary files) fails.
And no tracked file holds the prose of Twilio's 2008 doc pages: only facts taken from them (tables,
examples, digests: fixtures/README.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from scripts.extract_fixtures import fingerprints, shingles
from tests.conftest import LEGACY, ROOT

SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "build"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".json", ".xml", ".html", ".txt", ".csv", ".lua", ""}

CLIMB = re.compile(r"(?:\.\./)+[\w.-]*")
PARENTS = re.compile(r"(?:\.parent){3,}|\.parents\[[2-9]\]")
HOME = re.compile(r"(?<![\w.-])/home/\w+/")
SYSTEM = {"/tmp", "/home", "/root", "/var", "/opt", "/srv", "/mnt", "/usr"}


def surroundings(root: Path) -> re.Pattern[str]:
    """The folders containing the checkout (as absolute paths, system ones excepted) and the things
    beside them, by relative name (``sibling/child`` for every child that exists there; other
    checkouts excepted)."""
    around = [a for a in root.parents if str(a) != "/" and str(a) not in SYSTEM]
    folders = [str(a) + "/" for a in around]
    names = []
    for folder in around or [root.parent]:
        for sibling in sorted(folder.iterdir()):
            if sibling in (root, *root.parents) or not sibling.is_dir() or sibling.name.startswith("."):
                continue
            if (sibling / ".git").exists():  # another checkout: its names are this project's names
                continue
            names += [f"{sibling.name}/{child.name}" for child in sibling.iterdir() if len(child.name) > 2]
    alternatives = [re.escape(folder) for folder in folders]
    alternatives += [re.escape(name) + r"(?![\w-])" for name in sorted(names, key=len, reverse=True)]
    if not alternatives:
        return re.compile(r"(?!)")
    # Not after a "/": ``/opt/venv/bin`` in the Dockerfile is no reference to a ``venv/`` beside the checkout.
    return re.compile(rf"(?<![\w./-])(?:{'|'.join(alternatives)})")


OUTSIDE = surroundings(ROOT)


def repository_files() -> list[Path]:
    files = []
    for directory, subdirs, names in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in names:
            path = Path(directory, name)
            if name in SKIP_DIRS:  # a worktree's .git is a file naming the main checkout
                continue
            if path.suffix in TEXT_SUFFIXES and path.stat().st_size < 2_000_000:
                files.append(path)
    return files


def leaves_root(source: Path, relative: str) -> bool:
    resolved = Path(os.path.normpath(source.parent / relative))
    return not resolved.is_relative_to(ROOT)


def offences(path: Path, text: str) -> list[str]:
    found = [m.group(0) for m in CLIMB.finditer(text) if leaves_root(path, m.group(0))]
    found += [m.group(0) for m in HOME.finditer(text)]
    found += [m.group(0) for m in OUTSIDE.finditer(text)]
    if path.suffix == ".py":
        found += [m.group(0) for m in PARENTS.finditer(text)]
    return found


def test_no_file_names_a_path_outside_the_repository() -> None:
    files = repository_files()
    assert len(files) > 50  # the walk really covered the repository
    bad = {}
    for path in files:
        if path == Path(__file__):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if found := offences(path, text):
            bad[str(path.relative_to(ROOT))] = sorted(set(found))
    assert bad == {}


def test_the_scan_catches_each_kind_of_escape(tmp_path: Path) -> None:
    source = ROOT / "tests" / "example.py"
    assert offences(source, 'open("../../elsewhere/reference/x.json")')
    assert offences(source, "ROOT = Path(__file__).parent.parent.parent")
    assert offences(source, f'SPECS = "{ROOT.parent}/other-checkout/specs"')
    assert offences(source, "# copied from /home/someone/notes")
    assert offences(ROOT / "docs" / "x.md", "[spec](../../other/spec.md)")
    assert not offences(ROOT / "docs" / "x.md", "[README](../README.md)")
    checkout = tmp_path / "checkout"
    (tmp_path / "beside" / "reference").mkdir(parents=True)
    checkout.mkdir()
    pattern = surroundings(checkout)
    assert pattern.search("the specs are in beside/reference/")
    assert not pattern.search("gateway/sandbox/specs and fixtures/reference")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    assert not surroundings(checkout).search("COPY --from=build /opt/venv/bin /opt/venv/bin")
    assert not offences(source, "ROOT = Path(__file__).resolve().parent.parent")


PROSE = (
    ("This document describes", "Twilio's old 2008-08-01 API"),
    ("Learn more with Workshops", "and Technical Sessions"),
)
"""A banner and a footer line of the 2008 pages, in pieces so that this file holds neither."""


def tracked_files() -> list[Path]:
    """The files git tracks (or, outside a checkout, the text files of the walk)."""
    try:
        command = ["git", "ls-files", "-z"]
        listed = subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return repository_files()
    paths = [ROOT / os.fsdecode(name) for name in listed.split(b"\0") if name]
    return [path for path in paths if path.is_file()]


def page_prose(text: str, known: set[str]) -> list[str]:
    """What of ``text`` is the pages' prose: a banner or footer line, or a fingerprinted run of words."""
    found = [" ".join(pieces) for pieces in PROSE if " ".join(pieces) in text]
    return found + [digest for digest in shingles(text) if digest in known]


def test_no_tracked_file_holds_the_prose_of_the_2008_doc_pages() -> None:
    known = set((LEGACY / "prose-fingerprints.txt").read_text().split())
    assert len(known) > 1000  # the pages' fingerprints, written by scripts/extract_fixtures.py
    files = tracked_files()
    assert len(files) > 50
    bad = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if found := page_prose(text, known):
            bad[str(path.relative_to(ROOT))] = found[:3]
    assert bad == {}


def test_the_prose_check_catches_a_banner_and_any_long_run() -> None:
    banner, footer = (" ".join(pieces) for pieces in PROSE)
    assert page_prose(f'<div class="alert">\n    {banner}. Please use the\n</div>', set())
    assert page_prose(f"## More\n{footer}", set())
    page = " ".join(f"word{index}" for index in range(60)).split()
    known = set(fingerprints([" ".join(page)], allowed=[]))
    assert all(page_prose(" ".join(page[start : start + 25]), known) for start in range(36))
    assert not page_prose(" ".join(page[5:14]), known)  # shorter than a fingerprinted run
    assert fingerprints([" ".join(page)], allowed=[" ".join(page[::-1]), " ".join(page)]) == []


AUDITED_RUN = """
import json, os, sys
opened = []

def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        if path:
            opened.append(os.path.abspath(path))

sys.addaudithook(hook)
import pytest
status = pytest.main(sys.argv[2:])
with open(sys.argv[1], "w") as handle:
    json.dump(sorted(set(opened)), handle)
sys.exit(status)
"""

SAMPLE = [
    "tests/sandbox/test_conformance.py",
    "tests/test_service.py",
    "tests/dialect/test_render.py",
    "tests/dialect/test_formats.py",
]


def copy_repository(target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_DIRS or n.endswith(".egg-info")}

    shutil.copytree(ROOT, target, ignore=ignore)


def is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


def allowed_outside(path: str) -> bool:
    installed = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    prefixes = [sys.prefix, sys.base_prefix, *installed, "/dev/", "/proc/", "/sys/", "/etc/", "/usr/"]
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def test_a_copy_with_nothing_beside_it_reads_only_itself(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    repo = outside / "checkout"
    copy_repository(repo)
    decoy = outside / "beside" / "reference"  # what a stray "../beside/reference" would find
    decoy.mkdir(parents=True)
    (decoy / "twilio_api_v2010.outgoing_caller_ids.json").write_text("{}")
    report = tmp_path / "opened.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GATEWAY_", "SANDBOX_"))}
    env["PYTHONPATH"] = str(repo)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    run = subprocess.run(
        [sys.executable, "-c", AUDITED_RUN, str(report), "-q", "-p", "no:cacheprovider", "-x", *SAMPLE],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    opened = json.loads(report.read_text())
    in_copy = [p for p in opened if p.startswith(str(repo) + os.sep)]
    assert any(p.endswith("gateway/sandbox/specs/twilio_api_v2010.outgoing_caller_ids.json") for p in in_copy)
    assert any("fixtures/golden" in p for p in in_copy)
    assert not any(p.startswith(str(ROOT) + os.sep) for p in opened), "the copy read the original checkout"
    temporary = os.path.realpath(tempfile.gettempdir())
    escaped = [
        p
        for p in opened
        if not is_under(p, str(repo))
        and (p.startswith(str(outside)) or not (allowed_outside(p) or is_under(p, temporary)))
    ]
    assert escaped == []
