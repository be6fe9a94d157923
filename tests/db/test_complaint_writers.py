"""db/complaints.py is the only writer of a complaint's lifecycle fields: no other module of
the bot assigns them (attribute assignment, a Complaint(...) keyword, an UPDATE's values)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.test_architecture import MODULES

LIFECYCLE_FIELDS = frozenset(
    {
        "status",
        "owner_id",
        "handler_id",
        "claimed_by",
        "department",
        "handler_unit_id",
        "deadline",
        "escalation_level",
        "next_escalation_at",
        "reopened",
    }
)
WRITER = "db.complaints"
# Other tables have fields of these names (an assignment's status, a staff's department).
OTHER_ROWS = ("assignment", "state", "staff", "person", "self", "line", "item", "row", "entry")


def _names(target: ast.expr) -> Iterator[ast.Attribute]:
    if isinstance(target, ast.Attribute):
        yield target
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _names(element)


def _owner(attribute: ast.Attribute) -> str:
    return ast.unparse(attribute.value).lower()


def complaint_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt | ast.expr):
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for attribute in _names(target):
                owner = _owner(attribute)
                if attribute.attr in LIFECYCLE_FIELDS and not owner.endswith(OTHER_ROWS):
                    found.append(f"{path}:{node.lineno} {owner}.{attribute.attr} =")
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            if called == "Complaint" or (
                called.endswith(".values") and "Complaint" in ast.unparse(node)
            ):
                for keyword in node.keywords:
                    if keyword.arg in LIFECYCLE_FIELDS:
                        found.append(f"{path}:{node.lineno} {called}({keyword.arg}=…)")
    return found


def test_only_db_complaints_writes_the_lifecycle_fields() -> None:
    writes = [
        write
        for module, path in MODULES.items()
        if module != WRITER
        for write in complaint_writes(path)
    ]
    assert writes == []


def test_the_check_sees_a_write(tmp_path: Path) -> None:
    source = tmp_path / "sneaky.py"
    source.write_text(
        "complaint.status = 'closed'\n"
        "card.complaint.next_escalation_at = None\n"
        "c.owner_id, c.deadline = 1, None\n"
        "Complaint(text='x', handler_id=3)\n"
        "assignment.status = 'done'\n",
        encoding="utf-8",
    )
    assert len(complaint_writes(source)) == 5  # the tuple is two writes
    assert len(complaint_writes(Path(__file__).parents[2] / "db" / "complaints.py")) > 5
