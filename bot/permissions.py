"""Which commands each role may use: drives /help, the command menu and the checks."""

from __future__ import annotations

from scheduler.org import Role

COMMON_COMMANDS: tuple[str, ...] = ("start", "help")
REPORTING: tuple[str, ...] = ("complaint", "cancel")
# Managers and admins see their unit and below; an inspector may get only their own unit's
# monthly report (bot.usecases.reports decides the scope).
MANAGER_VIEWS: tuple[str, ...] = ("overdue", "progress", "stats", "report")
# 亮点 are recorded by those who see the work: inspectors and site heads, managers, admins.
HIGHLIGHTS: tuple[str, ...] = ("highlight",)

COMMANDS_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.INSPECTOR: (*COMMON_COMMANDS, "today", "skip", "report", *HIGHLIGHTS, *REPORTING),
    Role.COUNTER_STAFF: (*COMMON_COMMANDS, *REPORTING),
    Role.HANDLER: (*COMMON_COMMANDS, *REPORTING),
    Role.MANAGER: (*COMMON_COMMANDS, *MANAGER_VIEWS, *HIGHLIGHTS, *REPORTING),
    Role.ADMIN: (*COMMON_COMMANDS, *MANAGER_VIEWS, *HIGHLIGHTS, *REPORTING),
}


def commands_for(role: Role) -> tuple[str, ...]:
    return COMMANDS_BY_ROLE[role]
