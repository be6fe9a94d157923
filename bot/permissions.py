"""Which commands each role may use: drives /help, the command menu and the checks."""

from __future__ import annotations

from scheduler.org import Role

COMMON_COMMANDS: tuple[str, ...] = ("start", "help")

COMMANDS_BY_ROLE: dict[Role, tuple[str, ...]] = {role: COMMON_COMMANDS for role in Role}


def commands_for(role: Role) -> tuple[str, ...]:
    return COMMANDS_BY_ROLE[role]
