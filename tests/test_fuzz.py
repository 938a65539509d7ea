"""Fuzzing the entry points that read text, and the guarantee that eincalc never runs code it reads.

CI runs a few thousand inputs; the full run (100,000 inputs) is::

    PYTHONPATH=src python -m tests.fuzz_parser --count 100000 --seed 1
"""

from __future__ import annotations

import ast
import inspect
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eincalc as ec
from eincalc.strategies import Problem, problems
from fuzz_parser import (
    CHARACTERS,
    INDICES,
    PUBLIC_CALLS,
    TENSORS,
    TOKENS,
    Report,
    call_spoiled,
    check,
    parse_error_problem,
    public_functions,
    run,
    spoiled,
    wrong_kinds,
)

SOURCE = Path(ec.__file__).parent


def test_a_fuzzing_run_lets_only_eincalc_errors_escape() -> None:
    report = run(3000, seed=20)
    assert not report.failures, report.summary()
    assert report.inputs == 3000
    # the run reaches every stage: errors of several kinds, and expressions that parse and differentiate
    assert {"parse: ParseError", "parse: IndexMismatch", "parse: UnknownNameError"} <= set(report.outcomes)
    assert report.outcomes["parsed, differentiated"] > 100, report.summary()
    assert report.outcomes["parsed, evaluated on integers"] > 100, report.summary()
    assert {
        "parsed, not evaluated on odd inputs: UnsupportedError",
        "parsed, not evaluated on odd inputs: ShapeError",
        "public function: UnsupportedError",
        "public function: ParseError",
        "public function: ShapeError",
        "public function: answered",
    } <= set(report.outcomes), report.summary()


def test_every_public_function_has_a_valid_call_for_the_fuzzer_to_spoil() -> None:
    assert set(public_functions()) == set(PUBLIC_CALLS), "add a valid call of each public function to PUBLIC_CALLS"
    report = Report()
    for name in public_functions():
        call_spoiled(name, *PUBLIC_CALLS[name], report)
    assert not report.failures
    assert report.outcomes["public function: answered"] >= len(PUBLIC_CALLS) - 1  # plot_jacobian needs matplotlib


@pytest.mark.parametrize("name", public_functions())
def test_every_argument_of_a_wrong_kind_raises_an_eincalc_error(name: str) -> None:
    """Each parameter of each public function, given each value of a wrong kind (text where an expression
    belongs, None, 2.5 where a size belongs, a list where a mapping belongs, …): an answer or an EincalcError."""
    report = Report()
    for parameter in inspect.signature(getattr(ec, name)).parameters.values():
        for bad in wrong_kinds(random.Random(0), "x[i] +"):
            call_spoiled(name, *spoiled(name, parameter, bad), report)
    assert not report.failures, "\n".join(report.failures)


@given(st.text(alphabet=st.sampled_from(CHARACTERS) | st.characters(), max_size=50))
def test_any_text_parses_or_says_what_and_where(text: str) -> None:
    try:
        ec.parse(text, *TENSORS, *INDICES)
    except ec.EincalcError as error:
        assert parse_error_problem(text, error) is None, str(error)


@given(
    problems(),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 3), st.sampled_from(TOKENS)), max_size=4),
    st.integers(0, 2**32 - 1),
)
def test_edited_printed_expressions_fail_cleanly(
    problem: Problem, edits: list[tuple[int, int, str]], seed: int
) -> None:
    text = str(problem.expr)
    for position, removed, inserted in edits:
        position %= len(text) + 1
        text = text[:position] + inserted + text[position + removed :]
    report = Report()
    check(text, random.Random(seed), report)
    assert not report.failures, report.failures


def test_an_unpaired_surrogate_is_reported_at_its_column() -> None:
    with pytest.raises(ec.ParseError) as info:
        ec.parse("x[i] + \ud800", *TENSORS)
    assert str(info.value).splitlines()[1:] == ["  x[i] + \ufffd", "         ^"]


def test_deeply_nested_and_long_inputs_are_refused_with_a_message() -> None:
    for text in ["σ(" * 5000 + "x" + ")" * 5000, "x[i] " * 3000, "σ(" * 150 + "x" + ")" * 150]:
        with pytest.raises(ec.ParseError, match=r"limit|deeper|too"):
            ec.parse(text, *TENSORS)


# -- no code execution ------------------------------------------------------------------------------

RUNS_CODE = {"eval", "exec", "compile", "__import__", "breakpoint", "input"}
RUNS_CODE_IN = {("builtins", name) for name in RUNS_CODE} | {
    ("importlib", "import_module"),
    ("pickle", "loads"),
    ("pickle", "load"),
    ("marshal", "loads"),
    ("os", "system"),
    ("os", "popen"),
    ("runpy", "run_path"),
    ("runpy", "run_module"),
    ("code", "interact"),
}


def code_runners(tree: ast.Module) -> list[str]:
    """Calls in ``tree`` that can run code: builtins like ``eval`` (unless the module binds that name
    itself, as ``from .evaluate import compile`` does), functions like ``pickle.loads``, and a
    subprocess started through a shell (a fixed program with an argument list is fine)."""
    own = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if node.module not in ("builtins", None) or node.level > 0
    }
    own |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    return [
        f"line {node.lineno}: {ast.unparse(node.func)}(…)"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _runs_code(node, own)
    ]


def _runs_code(call: ast.Call, own: set[str]) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        named = func.id in RUNS_CODE and func.id not in own
        return named or (
            func.id == "getattr" and any(isinstance(a, ast.Constant) and a.value in RUNS_CODE for a in call.args)
        )
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        shell = func.value.id == "subprocess" and any(k.arg == "shell" for k in call.keywords)
        return shell or (func.value.id, func.attr) in RUNS_CODE_IN
    return False


@pytest.mark.parametrize("path", sorted(SOURCE.rglob("*.py")), ids=lambda p: str(p.relative_to(SOURCE)))
def test_no_module_runs_code(path: Path) -> None:
    assert code_runners(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_code_scan_finds_what_it_looks_for() -> None:
    tree = ast.parse(
        "import pickle, builtins\neval(t)\nexec(t)\ncompile(t, 'f', 'eval')\npickle.loads(b)\n"
        "builtins.eval(t)\ngetattr(builtins, 'exec')(t)\nsubprocess.run(t, shell=True)\n"
    )
    assert len(code_runners(tree)) == 7
    assert code_runners(ast.parse("subprocess.run(['dot', '-Tsvg'], input=source)")) == []
    assert code_runners(ast.parse("from .evaluate import compile\ncompile(expr)\n")) == []
    assert code_runners(ast.parse("def compile(e): ...\ncompile(expr)\n")) == []
