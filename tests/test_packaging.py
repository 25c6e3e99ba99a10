"""The package as installed: what ``import migkit`` loads, the exported surface, the version,
the type marker, and the layers' imports."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import migkit

ROOT = Path(migkit.__file__).resolve().parents[1]
HEAVY = ("pandas", "pyarrow", "numpy", "flask", "werkzeug", "ipywidgets", "tqdm", "requests")
ENGINES = ("duckdb", "ibis", "pyspark")  # docs/scale.md: loaded when an engine runs


def loaded_after(code: str) -> set[str]:
    """The top-level modules a fresh interpreter has loaded after running ``code``."""
    tops = "sorted({m.split('.')[0] for m in sys.modules})"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({tops}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_migkit_loads_neither_flask_nor_ipywidgets_nor_the_frame_stack() -> None:
    loaded = loaded_after("import migkit")
    assert not loaded & set(HEAVY + ENGINES), loaded & set(HEAVY + ENGINES)


def test_migkit_help_loads_no_pandas_or_pyarrow() -> None:
    code = (
        "import contextlib, io\nfrom migkit.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])"
    )
    loaded = loaded_after(code)
    assert not loaded & {"pandas", "pyarrow", "numpy", "flask", "ipywidgets"}


def test_the_client_loads_no_flask_or_ipywidgets() -> None:
    loaded = loaded_after("import migkit\nmigkit.Client('sk_x', 'http://127.0.0.1:9', ledger=None)")
    assert not loaded & {"flask", "werkzeug", "ipywidgets"}


def test_every_exported_name_resolves() -> None:
    for name in migkit.__all__:
        assert getattr(migkit, name) is not None, name
    assert sorted(migkit.__all__) == migkit.__all__
    assert set(migkit.__all__) <= set(dir(migkit))


def test_read_and_reconcile_stay_functions_after_their_modules_load() -> None:
    # Importing a submodule records it on the package; these names must stay the functions.
    import migkit.read
    import migkit.reconcile

    assert callable(migkit.read) and migkit.read.__module__ == "migkit.read"
    assert callable(migkit.reconcile) and migkit.reconcile.__name__ == "reconcile"
    from migkit import read, reconcile

    assert (read, reconcile) == (migkit.read, migkit.reconcile)


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("migkit") == migkit.__version__


def test_the_package_is_marked_typed() -> None:
    assert (ROOT / "migkit" / "py.typed").is_file()


def imports_of(path: Path) -> set[str]:
    """The modules ``path`` imports (dotted names), at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_resources_speak_to_the_transport_only() -> None:
    # The HTTP library, its pool and the progress bars are the transport's and the front
    # ends'; a resource module describes endpoints and shapes.
    for path in sorted((ROOT / "migkit" / "resources").glob("*.py")):
        tops = {name.split(".")[0] for name in imports_of(path)}
        assert not tops & {"requests", "urllib3", "tqdm", "ipywidgets"}, path


def test_the_client_never_imports_the_sandbox() -> None:
    front_ends = ("sandbox", "cli")  # the sandbox itself, and the commands that start it
    demos = ("demo.py", "demo_agent.py", "demo_session.py")  # the demos start the embedded sandbox
    for path in sorted((ROOT / "migkit").rglob("*.py")):
        if set(path.relative_to(ROOT / "migkit").parts) & set(front_ends) or path.name in demos:
            continue
        assert not any(name.startswith("migkit.sandbox") for name in imports_of(path)), path
