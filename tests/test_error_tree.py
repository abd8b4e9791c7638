"""One error tree: every exception privbill raises on purpose is a ``PrivbillError`` carrying
object and field, defined in ``privbill.errors`` and exported by ``privbill``; production code
raises no bare ``ValueError``/``KeyError``/``RuntimeError``."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import privbill
from privbill import errors
from privbill.crypto import bulletproofs, group, sigma, signatures, transcript
from privbill.crypto.hashing import tag
from privbill.model import money
from privbill.model.readings import derive_blinding

SRC = Path(privbill.__file__).parent
BARE = {"ValueError", "KeyError", "RuntimeError", "Exception"}
ROOT_CLASSES = {"PrivbillError", "AmountError", "CryptoError"}  # PrivbillError and its ValueErrors


def _error_classes() -> list[type[errors.PrivbillError]]:
    return [
        c
        for c in vars(errors).values()
        if inspect.isclass(c) and issubclass(c, BaseException) and c.__module__ == errors.__name__
    ]


def test_every_error_is_a_privbill_error_and_exported() -> None:
    classes = _error_classes()
    assert len(classes) > 40
    for c in classes:
        assert issubclass(c, errors.PrivbillError), c
        assert getattr(privbill, c.__name__) is c, f"privbill does not export {c.__name__}"
        assert c.__name__ in privbill.__all__


def test_the_layers_raise_the_tree_s_classes() -> None:
    assert group.GroupError is errors.GroupError
    assert transcript.CodecError is errors.CodecError
    assert bulletproofs.RangeProofError is errors.RangeProofError
    assert sigma.SigmaError is errors.SigmaError
    assert signatures.KeyError_ is errors.KeyLoadError
    assert money.AmountError is errors.AmountError
    for c in (errors.GroupError, errors.KeyLoadError, errors.AmountError):
        assert issubclass(c, errors.PrivbillError) and issubclass(c, ValueError)


def test_no_exception_class_outside_the_tree() -> None:
    """Every public exception class defined anywhere in privbill derives from PrivbillError
    (private ones, ``_Name``, are control flow that never leaves their module)."""
    outside = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                not isinstance(node, ast.ClassDef)
                or node.name.startswith("_")
                or (path.name == "errors.py" and node.name in ROOT_CLASSES)
            ):
                continue
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            if bases & (BARE | {"TypeError", "OSError"}):
                outside.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert outside == [], outside


def test_no_bare_builtin_errors_raised() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in BARE:
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {exc.id}")
    assert found == [], found


def test_programming_errors_name_what_was_wrong() -> None:
    with pytest.raises(errors.UsageError) as ei:
        derive_blinding(b"short", "m", 0)
    assert ei.value.obj == "opening key"
    with pytest.raises(errors.UsageError):
        tag("has space")
    with pytest.raises(errors.CodecError):
        transcript.DuplexSponge(bytes(32)).squeeze(-1)
