"""One error tree: every class in ``migkit.errors``, drawn in its docstring, importable from
where it used to live; lookups are ``KeyError``s that are ``MigkitError``s; causes chained."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pandas as pd
import pytest

import migkit
import migkit.errors as errors
from migkit.cli.common import code_for, is_outcome
from migkit.models import Company, Sheet
from migkit.rules import Template
from migkit.validation.fixes import apply_fixes


def drawn_tree() -> dict[str, str]:
    """``{class: parent}`` as the module docstring draws it (by indentation)."""
    doc = errors.__doc__ or ""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^(\s*)(?:[│ ]*)(?:[├└]── )?([A-Z]\w+)\b", line)
        if not match or not line.strip() or not re.search(r"[├└]── |^    Migkit", line):
            continue
        depth = line.find(match.group(2))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1] if stack else "Exception"
        stack.append((depth, match.group(2)))
    return parents


def error_classes() -> dict[str, type[BaseException]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, Warning | Exception)
        and cls.__module__ == errors.__name__
    }


def test_the_docstring_draws_every_error_class_under_its_parent() -> None:
    drawn = drawn_tree()
    classes = error_classes()
    assert set(drawn) == set(classes), set(drawn) ^ set(classes)
    for name, parent in drawn.items():
        if parent != "Exception":
            assert classes[parent] in classes[name].__mro__[1:], (name, parent)


def test_every_error_class_is_exported_by_the_package() -> None:
    for name in error_classes():
        assert getattr(migkit, name) is getattr(errors, name)
        assert name in migkit.__all__


def test_moved_errors_are_still_importable_from_where_they_were() -> None:
    from migkit.export_files import ExportIncomplete, ExportTooLarge
    from migkit.preflight import ValidationFailed
    from migkit.read import ReadError
    from migkit.resources.catalog import UnknownName

    assert (ExportIncomplete, ExportTooLarge, ValidationFailed, ReadError, UnknownName) == (
        errors.ExportIncomplete,
        errors.ExportTooLarge,
        errors.ValidationFailed,
        errors.ReadError,
        errors.UnknownName,
    )


# -- lookups -------------------------------------------------------------------------------------
TEMPLATE = Template.from_api({"name": "Contacts", "columns": [{"name": "Email"}]})
COMPANY = Company("c1", "Acme", None, None, None, (Sheet("s1", "Contacts"),))


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: COMPANY.sheet("Deals"),
        lambda: TEMPLATE.column("Phone"),
        lambda: migkit.validate(pd.DataFrame({"Email": ["a@x.io"]}), TEMPLATE, links={"X": []}),
        lambda: apply_fixes(pd.DataFrame({"A": [1]}), pd.DataFrame({"row": [0]})),
        lambda: apply_fixes(
            pd.DataFrame({"A": [1]}),
            pd.DataFrame({"row": [0], "column": ["B"], "action": ["set"], "fix": [2]}),
        ),
    ],
)
def test_a_lookup_that_misses_is_unknown_name_a_key_error_and_a_migkit_error(
    lookup: object,
) -> None:
    with pytest.raises(migkit.UnknownName) as caught:
        lookup()  # type: ignore[operator]
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, migkit.MigkitError)
    assert not str(caught.value).startswith(("'", '"'))  # plain text, not a KeyError repr


@pytest.mark.parametrize("template", [{"columns": []}, {"name": "T", "columns": [{"rule": "x"}]}])
def test_a_template_without_a_name_is_a_usage_error_not_a_key_error(template: object) -> None:
    with pytest.raises(migkit.UsageError, match="needs a name"):
        migkit.validate(pd.DataFrame({"A": ["1"]}), template)  # type: ignore[arg-type]


def test_no_module_raises_a_bare_key_error() -> None:
    root = Path(migkit.__file__).parent
    for path in [
        root / "models.py",
        root / "rules.py",
        *sorted((root / "validation").glob("*.py")),
    ]:
        assert "raise KeyError" not in path.read_text(encoding="utf-8"), path


# -- evidence and causes -------------------------------------------------------------------------
def test_status_aliases_keep_old_code_working() -> None:
    error = migkit.NotFound(404, "gone")
    assert error.status == error.status_code == 404
    timeout = migkit.WaitTimeout("r1", "running", 12.0)
    assert timeout.status == timeout.run_status == "running"
    assert isinstance(timeout, migkit.RunError) and timeout.run_id == "r1"
    assert isinstance(migkit.RunFailed("r1", "bad"), migkit.RunError)


def test_a_damaged_export_chains_the_parsers_error() -> None:
    from migkit.export_files import read_export_csv

    with pytest.raises(migkit.ExportIncomplete) as caught:
        read_export_csv(__import__("io").BytesIO(b"A,B\r\n1,2,3\r\n"))
    assert caught.value.__cause__ is not None


# -- the CLI tells outcomes from bugs by class ----------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "outcome", "code"),
    [
        (migkit.RunFailed("r", "bad"), True, 1),
        (migkit.WaitTimeout("r", "running", 1), True, 1),
        (migkit.ImportInProgress(409, "busy", run_id="r"), True, 3),
        (migkit.UnknownName("no sheet"), True, 3),
        (migkit.UsageError("no"), True, 2),
        (FileNotFoundError("x.csv"), True, 2),
        (KeyError("x"), False, 1),
        (AttributeError("x"), False, 1),
    ],
)
def test_the_cli_tells_outcomes_from_bugs_by_class(
    exc: BaseException, outcome: bool, code: int
) -> None:
    assert is_outcome(exc) is outcome
    assert code_for(exc) == code
