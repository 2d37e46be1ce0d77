"""Every code block of README.md and docs/ runs, so the documentation cannot rot.

Python blocks are executed (each page's blocks in order, in one namespace per page, a
block's earlier blocks first when another test process ran them); shell
blocks run their `kerasnets ...`, `python -m apps...` and `python docs/...` lines, in order, in
one fresh Python process per block.
Install and test-runner lines (`pip install`, `python -m pytest`) are what CI itself runs, so
they are not repeated here. A block preceded by `<!-- docs-test: slow -->` is marked slow
(CI skips it; `python -m pytest -m slow tests/test_docs.py` runs it); one preceded by
`<!-- docs-test: output -->` is sample output, not a command.
"""

import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"(?P<marker><!-- docs-test: (?P<kind>\w+) -->\s*\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
RUNNABLE = ("kerasnets ", "python -m apps.", "python docs/")


def _blocks():
    for page in PAGES:
        for i, match in enumerate(FENCE.finditer(page.read_text())):
            kind = match.group("kind")
            if kind == "output" or match.group("lang") not in ("python", "bash"):
                continue
            rel = page.relative_to(ROOT)
            marks = [pytest.mark.slow] if kind == "slow" else []
            yield pytest.param(page, i, match.group("lang"), match.group("body"), id=f"{rel}#{i}", marks=marks)


BLOCKS = list(_blocks())
_NAMESPACES = {}


@pytest.mark.parametrize("page, index, lang, body", BLOCKS)
def test_doc_block_runs(page, index, lang, body, tmp_path, monkeypatch):
    if lang == "python":
        namespace = _NAMESPACES.setdefault(page, {"__name__": f"docs_{page.stem}", "__ran__": set()})
        monkeypatch.chdir(tmp_path)
        # A page's python blocks build on each other; under pytest-xdist a block may run in a
        # process that has not run the page's earlier blocks, so run those first (once).
        for earlier in BLOCKS:
            e_page, e_index, e_lang, e_body = earlier.values
            if e_page == page and e_lang == "python" and e_index < index and e_index not in namespace["__ran__"]:
                if not any(m.name == "slow" for m in earlier.marks):
                    exec(compile(e_body, f"{page.name}#{e_index}", "exec"), namespace)
                namespace["__ran__"].add(e_index)
        exec(compile(body, f"{page.name}#{index}", "exec"), namespace)
        namespace["__ran__"].add(index)
        return
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        line = line.split("  #")[0].strip()
        if line.startswith(RUNNABLE):
            commands.extend(part.strip() for part in line.split("&&"))
    commands = [c for c in commands if c.startswith(RUNNABLE)]
    if not commands:
        pytest.skip("only install/test-runner lines, which CI runs itself")
    # One process runs the block's commands in order, each as `python -m ...` / `python file`
    # would (runpy, its own sys.argv, a non-zero exit status stops the block): one TensorFlow
    # import per block instead of one per command (~9 s each on the 2-core CI machine).
    runs = []
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "kerasnets":
            runs.append(["module", "kerasnets.cli", *argv[1:]])
        elif argv[1] == "-m":
            runs.append(["module", *argv[2:]])
        else:
            runs.append(["path", *argv[1:]])
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", _RUN_COMMANDS, json.dumps(runs)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{body}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


_RUN_COMMANDS = """
import json, runpy, sys
for kind, target, *args in json.loads(sys.argv[1]):
    sys.argv = [target, *args]
    try:
        if kind == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
        status = 0
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    sys.stdout.flush()
    if status:
        print(f"command exited with status {status}: {kind} {target} {args}", file=sys.stderr)
        sys.exit(status)
"""


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_them():
    readme = (ROOT / "README.md").read_text()
    setup = re.search(r"## Set up.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("  #")[0].strip() for line in setup.splitlines() if line.strip()]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    install, test = commands
    assert install.replace("pip install -e", "python -m pip install -q -e") in ci or install in ci
    assert test in [line.strip() for line in ci.splitlines()]


def test_mkdocs_site_builds_strict(tmp_path):
    """The documentation site builds with no warning (broken links, missing pages, bad docstrings)."""
    pytest.importorskip("mkdocs")
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "models" / "vgg" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "index.html").read_text().count("alexnet") > 3
