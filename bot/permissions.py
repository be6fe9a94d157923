"""Which commands each person may use: drives /help, the command menu and the checks."""

from __future__ import annotations

from db.models import Staff
from scheduler.org import Role

COMMON_COMMANDS: tuple[str, ...] = ("start", "help")
REPORTING: tuple[str, ...] = ("complaint", "cancel")
# Managers and admins see their unit and below; an inspector may get only their own unit's
# monthly report (bot.usecases.reports decides the scope).
MANAGER_VIEWS: tuple[str, ...] = ("overdue", "progress", "stats", "report")
# Whoever gets checks works through them with these.
CHECKS: tuple[str, ...] = ("today", "skip")
# 亮点 are recorded by those who see the work: inspectors and site heads, managers, admins.
HIGHLIGHTS: tuple[str, ...] = ("highlight",)

COMMANDS_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.INSPECTOR: (*COMMON_COMMANDS, *CHECKS, "report", *HIGHLIGHTS, *REPORTING),
    Role.COUNTER_STAFF: (*COMMON_COMMANDS, *REPORTING),
    Role.HANDLER: (*COMMON_COMMANDS, *REPORTING),
    Role.MANAGER: (*COMMON_COMMANDS, *MANAGER_VIEWS, *HIGHLIGHTS, *REPORTING),
    Role.ADMIN: (*COMMON_COMMANDS, *MANAGER_VIEWS, *HIGHLIGHTS, *REPORTING),
}


def commands_for(staff: Staff) -> tuple[str, ...]:
    """The role's commands; a catalog duty (a 支局长 among managers, 函件专业 among handlers)
    brings the checks' commands too, as it brings checks (db/checks.py)."""
    commands = COMMANDS_BY_ROLE[staff.role]
    if staff.duties and CHECKS[0] not in commands:
        common = len(COMMON_COMMANDS)
        commands = (*commands[:common], *CHECKS, *commands[common:])
    return commands
