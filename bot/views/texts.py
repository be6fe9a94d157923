"""Every user-facing string of the bot, in Chinese (zh-CN), in one place.

Constants are fixed texts; functions fill in values. Anything that came from a user is
escaped with html.escape before it goes into an HTML message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from html import escape
from typing import TYPE_CHECKING

from db.org_import import EnumLabels, Problem, Refusal, RowProblem
from db.outbox import GiveUp, Undelivered
from nlp.categories import Category
from nlp.entities import mask_phone, mask_phones_in_text
from scheduler.catalog import Question, QuestionType, Span
from scheduler.check_flow import MAX_TEXT_ANSWER, Rejected
from scheduler.org import Area, Department, Level, Role, SiteKind

if TYPE_CHECKING:
    from bot.views.cards import (
        CheckView,
        CityCoverage,
        ComplaintCard,
        MonthFigures,
        Progress,
        TodayLine,
    )
    from db.models import Complaint
    from scheduler.bulletin import Bulletin
    from scheduler.monthly_report import ComplaintStats, MonthlyReport

# --- vocabulary ---------------------------------------------------------------------------

ROLE_LABELS: dict[Role, str] = {
    Role.INSPECTOR: "检查员",
    Role.COUNTER_STAFF: "营业员",
    Role.HANDLER: "处理人",
    Role.MANAGER: "经理",
    Role.ADMIN: "管理员",
}
LEVEL_LABELS: dict[Level, str] = {
    Level.REGION: "区公司",
    Level.CITY: "盟市分公司",
    Level.COUNTY: "旗县局",
    Level.SITE: "网点",
}
SITE_KIND_LABELS: dict[SiteKind, str] = {SiteKind.COUNTER: "营业", SiteKind.DELIVERY: "投递"}
AREA_LABELS: dict[Area, str] = {Area.URBAN: "城市", Area.RURAL: "农村"}
DEPARTMENT_LABELS: dict[Department, str] = {
    Department.MARKET: "市场经营部",
    Department.SUPERVISION: "监督检查部",
    Department.LETTERS: "函件",
    Department.PERIODICALS: "报刊",
    Department.EXPRESS: "速递",
    Department.FINANCE: "金融",
    Department.DELIVERY: "投递",
}

# What an organisation file may write instead of the English codes.
IMPORT_LABELS: EnumLabels = {
    Role: ROLE_LABELS,
    Level: LEVEL_LABELS,
    SiteKind: SITE_KIND_LABELS,
    Area: AREA_LABELS,
    Department: DEPARTMENT_LABELS,
}

# --- configuration (Chinese and English: the reader may be an operator) -------------------


def config_file_missing(path: str) -> str:
    return f"找不到配置文件 {path}。\nConfiguration file not found: {path}"


def config_file_unreadable(path: str, detail: str) -> str:
    return (
        f"配置文件 {path} 格式错误：{detail}\nConfiguration file {path} is not valid TOML: {detail}"
    )


def config_token_in_file(env: str) -> str:
    return (
        f"配置项 bot.token 不能写在配置文件里，请用环境变量 {env} 提供。\n"
        f"Key bot.token must not be in the file; set the environment variable {env}."
    )


def data_file_invalid(detail: str) -> str:
    return f"数据文件有误，机器人未启动：{detail}\nA data file is invalid; not starting: {detail}"


def config_secret_in_file(key: str, env: str) -> str:
    return (
        f"配置项 {key} 不能写在配置文件里，请用环境变量 {env} 提供。\n"
        f"Key {key} must not be in the file; set the environment variable {env}."
    )


def config_bad_value(path: str, key: str, detail: str) -> str:
    return (
        f"配置文件 {path} 中的配置项 {key} 有误：{detail}\n"
        f"Configuration key {key} in {path} is invalid: {detail}"
    )


def environment_bad_value(variable: str, detail: str) -> str:
    return (
        f"环境变量 {variable} 的值有误：{detail}\n"
        f"The environment variable {variable} is invalid: {detail}"
    )


def second_instance(database: str) -> str:
    return (
        f"另一个机器人进程正在使用 SQLite 数据库 {database}，本进程不启动。"
        "SQLite 只能运行一个实例；要运行多个实例请使用 PostgreSQL。\n"
        f"Another bot process is using the SQLite database {database}; not starting. "
        "Run several instances on PostgreSQL only."
    )


NO_TOKEN_HELP = """\
没有设置 Telegram 机器人令牌（TELEGRAM_BOT_TOKEN），机器人未启动。
No Telegram bot token (TELEGRAM_BOT_TOKEN) is set, so the bot was not started.

如何获得令牌 / How to get a token:
  1. 在 Telegram 中打开 @BotFather，发送 /newbot，按提示起名字和用户名。
     In Telegram, open @BotFather, send /newbot and choose a name and a username.
  2. BotFather 会回复一串令牌，形如 123456789:AAE...。
     BotFather replies with a token like 123456789:AAE...
  3. 把用户名写入 config.toml 的 [bot] username，然后设置令牌再运行：
     Put the username into [bot] username in config.toml, then set the token and run again:
         export TELEGRAM_BOT_TOKEN=123456789:AAE...
         make run
"""

# --- organisation import (admin CLI) ------------------------------------------------------

_ORG_PROBLEMS: dict[Problem, str] = {
    Problem.HEADER_MISSING: "表头缺少必需的列",
    Problem.UNSUPPORTED_FILE: "不支持的文件类型“{value}”，请使用 .csv 或 .xlsx",
    Problem.BAD_CHOICE: "“{value}”不是有效值，可选：{choices}",
    Problem.REQUIRED: "不能为空",
    Problem.TOO_LONG: "长度不能超过 {limit} 个字符",
    Problem.DUPLICATE_CODE: "编码“{value}”在文件中重复",
    Problem.ONLY_FOR_SITES: "只有网点（level=site）才填写此列",
    Problem.REGION_HAS_NO_PARENT: "区公司没有上级单位，parent 应为空",
    Problem.HANDLER_NEEDS_DEPARTMENT: "处理人必须填写所属部门（department）",
    Problem.BAD_PHONE: "电话号码只能包含数字和“-”",
    Problem.UNKNOWN_PARENT: "找不到上级单位“{value}”（文件和数据库中都没有）",
    Problem.PARENT_LEVEL: "上级单位“{value}”应当是{wanted}",
    Problem.PARENT_KIND: "上级单位“{value}”应当是{wanted}网点",
    Problem.UNKNOWN_DUTY: "“{value}”不是已知的职责，可选：{names}",
    Problem.BAD_OPEN_DAYS: "“{value}”不是营业日，请写星期几，如 1-6、1-5,7、周一至周六、每天",
    Problem.BAD_YES_NO: "“{value}”应为 是 或 否",
    Problem.BAD_VOLUME: "“{value}”不是业务量，请填写每月处理的邮件件数（整数）",
    Problem.BAD_DATE: "“{value}”不是日期，请写成 2026-09-15",
    Problem.NOT_BEFORE_GO_LIVE: "{value} 不在上线日 {names} 之前（上线后的检查由机器人记录）",
    Problem.UNKNOWN_ITEM: "找不到检查项目“{value}”（请填写目录中的编号或名称）",
    Problem.UNKNOWN_STAFF: "找不到工号“{value}”的人员",
    Problem.UNKNOWN_SITE: "找不到网点“{value}”",
    Problem.SITE_NOT_FOR_ITEM: "网点“{value}”不属于该检查项目的检查对象（网点类型或城乡不符）",
    Problem.SITE_NOT_IN_SCOPE: "网点“{value}”不在该人员所在单位“{names}”的范围内",
    Problem.UNKNOWN_POINT: "找不到该网点的接转点“{value}”",
    Problem.DUTY_NOT_HERE: "职责“{value}”不能由该单位的人员承担，只能在{choices}{kind_note}",
    Problem.ENCODING: (
        "文件编码{value}无法读取：请在 Excel 中“另存为” CSV UTF-8（或 GB18030）后再导入"
    ),
    Problem.CHILD_LEVEL: (
        "改动后，数据库中已有的下级“{value}”的上级将不是{wanted}；请在文件中一并调整它"
    ),
    Problem.CHILD_KIND: (
        "改动后，数据库中已有的道段“{value}”将不在{wanted}网点之下；请在文件中一并调整它"
    ),
    Problem.CYCLE: "上级关系形成了循环：{value}",
    Problem.DATABASE: "数据库拒绝写入：{value}（文件中的任何内容都没有写入）",
    Problem.DATABASE_ROW: "数据库拒绝写入这一行：{refusal}（文件中的任何内容都没有写入）",
}
_REFUSALS = {
    Refusal.UNIQUE: "与数据库中已有的记录重复{value_note}",
    Refusal.CHECK: "不符合数据库的检查规则",
    Refusal.NOT_NULL: "缺少数据库要求填写的内容",
    Refusal.FOREIGN_KEY: "引用的记录在数据库中不存在",
    Refusal.TOO_LONG: "内容超出数据库允许的长度",
    Refusal.OTHER: "不符合数据库的限制，请联系系统管理员",
}


def _enum_choice(member: StrEnum) -> str:
    label = IMPORT_LABELS.get(type(member), {}).get(member)
    return f"{member.value}/{label}" if label else member.value


def org_problem(problem: RowProblem) -> str:
    """One import problem in words: where, which column, what is wrong."""
    wanted = problem.wanted
    message = _ORG_PROBLEMS[problem.problem].format(
        value=problem.value,
        choices="、".join(_enum_choice(member) for member in problem.choices),
        limit=problem.limit,
        wanted=IMPORT_LABELS.get(type(wanted), {}).get(wanted, "") if wanted else "",
        names="、".join(problem.names),
        kind_note=f"（{SITE_KIND_LABELS[wanted]}）" if isinstance(wanted, SiteKind) else "",
        refusal=_refusal(problem),
    )
    where = f"第 {problem.line} 行" if problem.line else "文件"
    # A database refusal may name no column.
    column = f"，列 {problem.column}" if problem.column else ""
    return f"{where}{column}：{message}"


def _refusal(problem: RowProblem) -> str:
    if not isinstance(problem.wanted, Refusal):
        return ""
    value_note = f"（“{problem.value}”）" if problem.value else ""
    return _REFUSALS[problem.wanted].format(value_note=value_note)


def org_import_failed(count: int) -> str:
    return f"导入失败：发现 {count} 处错误，文件中的任何内容都没有写入。"


def org_import_done(created: dict[str, int], updated: dict[str, int]) -> str:
    names = {"unit": "单位", "segment": "道段", "transfer_point": "接转点", "staff": "人员"}
    parts = [f"{names[key]} 新增 {created[key]}、更新 {updated[key]}" for key in names]
    return "导入完成：" + "；".join(parts) + "。"


def history_import_done(created: int, already_there: int) -> str:
    tail = f"，{already_there} 条此前已导入" if already_there else ""
    return f"导入完成：上线前的检查记录新增 {created} 条{tail}。覆盖率统计已计入这些检查。"


# --- admin CLI ----------------------------------------------------------------------------

DATABASE_READY = "数据库已就绪（已迁移到最新版本）。"


def calendar_year_line(year: int, holidays: int, workdays: int, source: str) -> str:
    return f"{year} 年：{holidays} 个假期，{workdays} 个调休上班日（{source}）"


def calendar_year_missing(year: int) -> str:
    return (
        f"⚠️ 缺少 {year} 年的节假日数据：该年只按周末计算工作日。"
        "请根据国务院办公厅通知编写日历文件，用 python -m bot calendar import 文件 导入。"
    )


def calendar_imported(year: int, holidays: int, workdays: int) -> str:
    return f"已导入 {year} 年日历：{holidays} 天放假，{workdays} 个调休上班日。重启机器人后生效。"


def calendar_import_failed(detail: str) -> str:
    return f"日历文件有误，未导入：{detail}"


def invite_link(name: str, role: str, unit: str, link: str, expires: str) -> str:
    return f"{name}（{role}，{unit}）的邀请链接，{expires} 前有效，仅能使用一次：\n{link}"


def staff_not_found(query: str) -> str:
    return f"找不到人员“{query}”（可输入工号、编号或姓名）。"


def staff_ambiguous(query: str, candidates: list[str]) -> str:
    return f"“{query}”对应多名人员，请改用工号：\n" + "\n".join(candidates)


# --- registration and access --------------------------------------------------------------

STRANGER = (
    "您好！这是邮政服务质量检查机器人，仅供登记在册的邮政员工使用。\n"
    "请向本单位管理员索取邀请链接，点击链接即可完成绑定。"
)
STRANGER_ALERT = "您尚未登记，无法使用此功能。请向管理员索取邀请链接。"
INVITE_UNKNOWN = "邀请码无效。请核对链接，或向管理员重新索取邀请链接。"
INVITE_USED = "该邀请码已被使用过。如需重新绑定，请向管理员索取新的邀请链接。"
INVITE_EXPIRED = "该邀请码已过期。请向管理员索取新的邀请链接。"
INVITE_REVOKED = (
    "该邀请码已作废：管理员已为此人生成了新的邀请链接。请使用最新的链接，或联系管理员。"
)


def account_moved_away(name: str) -> str:
    """To the account that was bound before someone registered with another one."""
    return (
        f"您的 Telegram 账号已不再绑定“{escape(name)}”：该人员已用另一个账号登记。"
        "此账号将不再收到检查任务和通知。如非本人操作，请立即联系管理员。"
    )


def account_rebound(name: str, code: str, unit: str) -> str:
    """To admins: a staff record was bound to a new account (the old one was told)."""
    return (
        f"⚠️ {escape(name)}（{escape(code)}，{escape(unit)}）已改用另一个 Telegram 账号登记，"
        "原账号已解绑并收到通知。如非本人操作，请核实后重新发放邀请链接。"
    )


def staff_handed_over(name: str, code: str, checks: int, complaints: int) -> str:
    """To the manager of someone who left: what passed to them."""
    return (
        f"{escape(name)}（{escape(code)}）已离岗，账号绑定已解除。"
        f"其未完成的 {checks} 项检查（含整改跟进）和 {complaints} 件待办投诉已转交给您，"
        "请安排处理或重新分派。"
    )


def offboarded(name: str, code: str, manager: str, checks: int, complaints: int) -> str:
    return (
        f"{name}（{code}）已离岗：账号已解绑，未用的邀请链接已作废；"
        f"{checks} 项未完成的检查和 {complaints} 件投诉已转交 {manager}，并已通知。"
    )


def offboard_no_manager(name: str, code: str) -> str:
    return f"{name}（{code}）所在单位及上级都没有经理可以接手其工作，未做任何改动。请先导入经理。"


def offboard_already(name: str, code: str) -> str:
    return f"{name}（{code}）此前已办理离岗，无需重复操作。"


ACCOUNT_BOUND_TO_OTHER = (
    "您的 Telegram 账号已绑定到其他人员，不能再用此邀请码。如有疑问请联系管理员。"
)


def welcome(name: str, role: Role, unit: str) -> str:
    return (
        f"欢迎，{escape(name)}！您已登记为 <b>{escape(unit)}</b> 的"
        f"<b>{ROLE_LABELS[role]}</b>。\n发送 /help 查看您可以使用的功能。"
    )


def welcome_back(name: str, role: Role, unit: str) -> str:
    return f"{escape(name)}，您已登记为 {escape(unit)} 的{ROLE_LABELS[role]}。发送 /help 查看功能。"


# --- help and the command menu ------------------------------------------------------------

COMMAND_DESCRIPTIONS: dict[str, str] = {
    "start": "开始 / 绑定账号",
    "help": "查看帮助",
    "complaint": "投诉上报",
    "highlight": "记录服务亮点（可附照片）",
    "today": "今日检查任务",
    "skip": "跳过当前问题",
    "overdue": "超时未答复的投诉",
    "progress": "今日检查进度",
    "stats": "月度检查统计（可加月份，如 2026-10）",
    "report": "月度检查报告书（Excel 和图表），如 /report 2026-10",
    "cancel": "取消当前操作",
}

ROLE_DUTIES: dict[Role, str] = {
    Role.INSPECTOR: "每个工作日早上会收到当天的检查任务，按提示逐项回答即可。",
    Role.COUNTER_STAFF: "遇到用户投诉或服务问题，可以直接用文字向我报告。",
    Role.HANDLER: "收到转来的投诉后，请在时限内查明原因并答复。",
    Role.MANAGER: "会收到本单位超时未办的投诉升级提醒、漏检汇总和月度检查报告。",
    Role.ADMIN: "负责导入组织机构和人员、发放邀请链接、维护检查目录。",
}


def command_not_for_role(role: Role) -> str:
    return f"{ROLE_LABELS[role]}不能使用这个命令。发送 /help 查看您可以使用的命令。"


def help_text(role: Role, commands: list[str]) -> str:
    lines = [f"您的角色：<b>{ROLE_LABELS[role]}</b>", ROLE_DUTIES[role], "", "可用命令："]
    lines += [f"/{command} — {COMMAND_DESCRIPTIONS[command]}" for command in commands]
    return "\n".join(lines)


# --- complaints ---------------------------------------------------------------------------

BUTTON_CONFIRM = "✅ 确认提交"
BUTTON_CHANGE_CATEGORY = "✏️ 更改类别"
BUTTON_CANCEL = "✖️ 取消"
BUTTON_MORE_CATEGORIES = "其他类别…"
BUTTON_RECORD_HIGHLIGHT = "🌟 记为服务亮点"
BUTTON_KEEP_AS_COMPLAINT = "仍作为投诉"
BUTTON_ANSWER = "答复"
BUTTON_REROUTE = "转办"
BUTTON_RETURN = "退回"
BUTTON_CLAIM = "认领"
BUTTON_ANSWERED = "已答复"
BUTTON_ADD_DETAILS = "📝 补充说明"
BUTTON_RESUBMIT = "✅ 重新提交"
BUTTON_WITHDRAW = "↩️ 撤回"

ASK_COMPLAINT_TEXT = "请用文字描述问题（可以附照片并在说明里写文字）。发送 /cancel 取消。"
COMPLAINT_TOO_SHORT = "描述太短了，请写清楚发生了什么、在哪里（例如：东2段信件积压三天）。"
COMPLAINT_CANCELLED = "已取消，这条问题没有提交。"
NO_WORDS_REPORT = "没有看到文字描述（只有表情或标点不算）。" + COMPLAINT_TOO_SHORT[6:]
NO_WORDS_REPLY = "请用文字填写（只有表情或标点不算内容），再发送一次。"
CHOOSE_CATEGORY = "请选择问题类别："
LOW_CONFIDENCE = "我不太确定这是哪一类问题，请您选择类别（最可能的在前）："
ASK_ANSWER = "请输入给用户的答复内容（查明的原因和处理结果）。发送 /cancel 取消。"
ASK_REROUTE_DEPARTMENT = "请选择转办的部门："
ASK_REROUTE_REASON = "请简要说明转办原因。发送 /cancel 取消。"
ASK_RETURN_REASON = "请说明退回原因（例如：不属于本部门、信息不全）。发送 /cancel 取消。"
ANSWER_TOO_SHORT = "答复内容太短，请写明查明的原因和处理结果。"
INPUT_CANCELLED = "已取消，之前的内容没有改变。"
ANSWER_SAVED = "答复已保存，已通知上报人。"
RETURN_SAVED = "已退回上报人，等待补充后重新提交（答复时限不变，超时照常升级）。"
ASK_DETAILS = "请发送补充说明（文字），会附在这条问题后面。发送 /cancel 取消。"
COMPLAINT_WITHDRAWN = "已撤回，这条问题不再处理。"
NOT_FOUND = "找不到这条记录，可能已被删除。"
NOT_YOURS = "您无权处理这条记录。"
ALREADY_DONE = "这条记录已经处理过了，无需再操作。"
UNKNOWN_BUTTON = "这个按钮已失效。"
PHOTO_NEEDS_CAPTION = "请在照片的说明里写上问题描述，再发送一次。"
UNSUPPORTED_MESSAGE = "暂时只能处理文字和照片。请用文字描述，或发送 /help 查看功能。"
UNKNOWN_COMMAND = "没有这个命令。发送 /help 查看您可以使用的命令。"

_URGENT = "⚠️ 紧急"


def _join(values: str) -> list[str]:
    return [value for value in values.split(",") if value]


def _category_names(codes: str) -> str:
    return "、".join(Category(code).label for code in _join(codes))


def _when(instant: datetime | None, tz: tzinfo) -> str:
    return instant.astimezone(tz).strftime("%m月%d日 %H:%M") if instant else "—"


def _masked_text(complaint: Complaint) -> str:
    """The complaint text with its phone numbers masked, for everyone but the handler."""
    return mask_phones_in_text(complaint.text)


def _found_lines(card: ComplaintCard) -> list[str]:
    complaint = card.complaint
    lines = []
    place = " / ".join(p for p in (card.site, card.segment, card.transfer_point) if p)
    if place:
        lines.append(f"地点：{escape(place)}")
    if complaint.tracking_numbers:
        lines.append("邮件号：" + "、".join(_join(complaint.tracking_numbers)))
    if complaint.phones:
        lines.append("电话：" + "、".join(mask_phone(p) for p in _join(complaint.phones)))
    if complaint.channel != "window":
        lines.append(f"渠道：{CHANNEL_LABELS.get(complaint.channel, complaint.channel)}")
    if complaint.repeat_of_id is not None:
        lines.append(f"🔁 重复投诉（前次 #{complaint.repeat_of_id}）")
    if complaint.reopened:
        lines.append(f"🔁 用户不满意，第 {complaint.reopened} 次重新处理")
    if complaint.urgent:
        cues = "、".join(_join(complaint.urgency_cues))
        lines.append(f"{_URGENT}（{escape(cues)}）" if cues else _URGENT)
    if card.photos:
        lines.append(f"照片：{len(card.photos)} 张")
    return lines


# nlp.channels.Channel codes.
CHANNEL_LABELS = {
    "window": "窗口",
    "11185": "11185 客服热线",
    "12305": "12305 邮政业用户申诉",
    "12345": "12345 政务服务热线",
    "press": "报刊社转来",
    "other": "其他",
}


def complaint_photos(complaint_id: int, count: int) -> str:
    return f"问题 #{complaint_id} 的照片（{count} 张）"


ALBUM_WAITING = "已收到照片。请在其中一张照片的说明里写上问题描述（已写的请稍候）。"
PHOTO_ADDED = "照片已补充到这条问题。可以继续补充，或点“重新提交”。"
BUTTON_SATISFIED = "😊 满意"
BUTTON_DISSATISFIED = "😞 不满意"
ASK_DISSATISFIED_REASON = "请说明哪里不满意（会转给处理人重新处理）。发送 /cancel 取消。"
THANKS_SATISFIED = "感谢反馈，这条问题已办结。"
BUTTON_JUSTIFIED = "有理"
BUTTON_UNJUSTIFIED = "无理"


def complaint_reopened_for_reporter(card: ComplaintCard, tz: tzinfo) -> str:
    handler = escape(card.handler.name) if card.handler else "上级经理"
    return (
        f"已转回 {handler} 重新处理问题 #{card.complaint.id}，"
        f"新的答复时限：{_when(card.complaint.deadline, tz)}。"
    )


def complaint_reopened_notice(complaint_id: int, reason: str) -> str:
    return f"您答复的问题 #{complaint_id} 用户不满意，已转回处理人重新处理：{escape(reason)}"


def verdict_recorded(justified: bool) -> str:
    return f"{ANSWER_SAVED}\n已记录：投诉{'有理' if justified else '无理'}。"


ANSWER_SAVED_ASK_VERDICT = "请选择这条投诉是否有理："


def complaint_draft(card: ComplaintCard) -> str:
    return "\n".join(_complaint_card_lines(card, submitted=False))


def complaint_submitted(card: ComplaintCard, tz: tzinfo) -> str:
    """The draft turned into the submitted complaint (one edit): who handles it and by when
    come last, where the buttons were."""
    handler = escape(card.handler.name) if card.handler else "暂无处理人，已通知上级"
    lines = _complaint_card_lines(card, submitted=True)
    lines += [
        "",
        f"✅ 已提交，处理人：{handler}。",
        f"答复时限：{_when(card.complaint.deadline, tz)}。答复后我会通知您。",
    ]
    return "\n".join(lines)


def _complaint_card_lines(card: ComplaintCard, *, submitted: bool) -> list[str]:
    complaint = card.complaint
    categories = _join(complaint.categories)
    state = "已提交" if submitted else "请核对"
    lines = [
        f"<b>问题上报 #{complaint.id}</b>（{state}）",
        f"类别：{Category(categories[0]).label}",
    ]
    if len(categories) > 1:
        lines.append(f"同时涉及：{_category_names(','.join(categories[1:]))}")
    lines += _found_lines(card)
    if complaint.department:
        transfer = "已转交" if submitted else "将转交"
        lines.append(f"{transfer}：{DEPARTMENT_LABELS[complaint.department]}")
    lines.append(f"原文：{escape(_masked_text(complaint))}")
    return lines


def _detail_lines(card: ComplaintCard, masked: bool) -> list[str]:
    """What the reporter added after a return and why they were not satisfied, in order
    (masked for all but the handler)."""
    lines, added = [], 0
    for kind, text in card.details:
        shown = escape(mask_phones_in_text(text) if masked else text)
        if kind == "dissatisfied":
            lines.append(f"用户不满意：{shown}")
        else:
            added += 1
            lines.append(f"补充说明{added}：{shown}")
    return lines


def complaint_for_handler(card: ComplaintCard, tz: tzinfo) -> str:
    complaint = card.complaint
    title = (
        "用户不满意，重新处理"
        if complaint.status == "reopened"
        else "投诉（已补充，重新提交）"
        if card.details
        else "新投诉"
    )
    lines = [
        f"<b>{title} #{complaint.id}</b>：{Category(complaint.category).label}",
        f"上报人：{escape(card.reporter.name)}（{escape(card.reporter_unit)}）",
        *_found_lines(card),
        f"内容：{escape(complaint.text)}",
        *_detail_lines(card, masked=False),
        f"请在 <b>{_when(complaint.deadline, tz)}</b> 前查明原因并答复。",
    ]
    return "\n".join(lines)


def complaint_without_handler(card: ComplaintCard, tz: tzinfo) -> str:
    """To the nearest managers at once: the department has no handler who can be told."""
    complaint = card.complaint
    department = DEPARTMENT_LABELS[complaint.department] if complaint.department else "—"
    why = f"处理人{escape(card.handler.name)}尚未登记机器人" if card.handler else "没有处理人"
    lines = [
        f"<b>⚠️ 投诉无人处理 #{complaint.id}</b>（{department}：{why}），请认领或转办。",
        f"类别：{Category(complaint.category).label}",
        f"上报人：{escape(card.reporter.name)}（{escape(card.reporter_unit)}）",
        *_found_lines(card),
        f"内容：{escape(_masked_text(complaint))}",
        *_detail_lines(card, masked=True),
        f"答复时限：{_when(complaint.deadline, tz)}",
    ]
    return "\n".join(lines)


def complaint_withdrawn(complaint_id: int, reporter: str) -> str:
    return f"问题 #{complaint_id} 已由上报人 {escape(reporter)} 撤回，无需再处理。"


def complaint_details_added(card: ComplaintCard) -> str:
    return (
        f"已补充到问题 #{card.complaint.id}（共 {len(card.details)} 条补充说明）。"
        "可以继续补充，或点“重新提交”交回处理。"
    )


def complaint_resubmitted(card: ComplaintCard, tz: tzinfo) -> str:
    complaint = card.complaint
    department = DEPARTMENT_LABELS[complaint.department] if complaint.department else "—"
    handler = escape(card.handler.name) if card.handler else "暂无处理人，已通知上级"
    return (
        f"已重新提交：问题 #{complaint.id} 转交{department}，处理人：{handler}。\n"
        f"答复时限不变：{_when(complaint.deadline, tz)}。"
    )


def complaint_claimed_for_handler(complaint_id: int, manager: str) -> str:
    return (
        f"问题 #{complaint_id} 已由 {escape(manager)} 认领。"
        "您仍可点“答复”提交查明的情况，答复会同时通知认领人。"
    )


def complaint_answered_for_reporter(complaint_id: int, handler: str, answer: str) -> str:
    return f"您上报的问题 #{complaint_id} 已由 {escape(handler)} 答复：\n{escape(answer)}"


def complaint_returned(card: ComplaintCard, handler: str, reason: str) -> str:
    return (
        f"问题 #{card.complaint.id} 被 {escape(handler)} 退回：{escape(reason)}\n"
        "请点“补充说明”补充后“重新提交”，类别不对请“更改类别”，不再需要处理请“撤回”。\n"
        f"原文：{escape(_masked_text(card.complaint))}"
    )


def complaint_rerouted(card: ComplaintCard, tz: tzinfo) -> str:
    complaint = card.complaint
    department = DEPARTMENT_LABELS[complaint.department] if complaint.department else "—"
    handler = escape(card.handler.name) if card.handler else "暂无处理人"
    deadline = _when(complaint.deadline, tz)
    return f"问题 #{complaint.id} 已转办至{department}（{handler}），答复时限不变：{deadline}。"


def complaint_claimed(complaint_id: int) -> str:
    return f"您已认领问题 #{complaint_id}，请尽快答复（点“已答复”填写答复内容）。"


# --- highlights (亮点) ----------------------------------------------------------------------

HIGHLIGHT_NOTE = "亮点计入本单位月度服务质量考评。"
HIGHLIGHT_USAGE = (
    "用法：/highlight [单位代码或名称] 亮点内容\n"
    "例如：/highlight TZ-D1 投递员李强雨天坚持按时投递，用户送来感谢信。\n"
    "不写单位就记在您本单位。也可以发送照片，在照片说明里写 /highlight 和内容。"
)
ASK_HIGHLIGHT_TEXT = (
    "请发送亮点内容：文字，或照片并在说明里写文字（可在开头写单位代码，默认记在本单位）。"
    "发送 /cancel 取消。"
)
HIGHLIGHT_TOO_SHORT = "亮点内容太短了，请写清楚是谁、做了什么好事。"
HIGHLIGHT_OUT_OF_SCOPE = "这个单位不在您的管辖范围内，不能为它记录亮点。"


def praise_offer(card: ComplaintCard) -> str:
    unit = card.site or card.reporter_unit
    return (
        f"这条像是<b>表扬</b>，不是投诉。要记为 <b>{escape(unit)}</b> 的服务亮点吗？\n"
        f"{HIGHLIGHT_NOTE}\n原文：{escape(_masked_text(card.complaint))}"
    )


def highlight_recorded(highlight_id: int, unit: str) -> str:
    return f"🌟 已记为 <b>{escape(unit)}</b> 的服务亮点 #{highlight_id}。{HIGHLIGHT_NOTE}"


def highlight_unknown_unit(reference: str) -> str:
    return f"找不到单位“{escape(reference)}”。\n{HIGHLIGHT_USAGE}"


def highlight_ambiguous_unit(reference: str, codes: Sequence[str]) -> str:
    return f"“{escape(reference)}”对应多个单位，请改用单位代码：" + "、".join(
        escape(code) for code in codes
    )


def _overdue(overdue: timedelta, day_hours: float) -> str:
    hours = overdue.total_seconds() / 3600
    days, rest = divmod(hours, day_hours)
    if days and rest < 0.05:
        return f"{int(days)} 个工作日"
    if days:
        return f"{int(days)} 个工作日 {rest:.1f} 小时"
    return f"{hours:.1f} 个工作小时"


def escalation_alert(
    card: ComplaintCard, level: int, overdue: timedelta, tz: tzinfo, day_hours: float
) -> str:
    complaint = card.complaint
    handler = escape(card.handler.name) if card.handler else "无"
    lines = [
        f"<b>⏰ 投诉超时未答复（{level} 级升级）</b> #{complaint.id}",
        f"类别：{Category(complaint.category).label}",
        f"上报人：{escape(card.reporter.name)}（{escape(card.reporter_unit)}）",
        *_found_lines(card),
        f"内容：{escape(_short(_masked_text(complaint)))}",
        *_detail_lines(card, masked=True),
        f"处理人：{handler}" + _STATE_NOTES.get(complaint.status, ""),
        f"时限：{_when(complaint.deadline, tz)}，已超时 {_overdue(overdue, day_hours)}",
    ]
    return "\n".join(lines)


# Why an unanswered complaint waits, on alerts and in /overdue.
_STATE_NOTES = {
    "returned": "（已退回上报人补充，尚未重新提交）",
    "claimed": "（已被经理认领）",
    "reopened": "（上报人不满意，已重新处理）",
}

NO_OVERDUE = "您的范围内没有超时未答复的投诉。"


def overdue_list(
    cards: Sequence[ComplaintCard],
    overdue_by: Sequence[timedelta | None],
    total: int,
    tz: tzinfo,
    day_hours: float,
) -> str:
    lines = [f"<b>超时未答复的投诉：{total} 件</b>（时限最早的在前）"]
    for card, overdue in zip(cards, overdue_by, strict=True):
        complaint = card.complaint
        handler = escape(card.handler.name) if card.handler else "无处理人"
        handler += _STATE_NOTES.get(complaint.status, "")
        late = f"，已超时 {_overdue(overdue, day_hours)}" if overdue is not None else ""
        place = escape(card.site or card.reporter_unit)
        lines.append(
            f"#{complaint.id} {Category(complaint.category).label} · {place}"
            f" · {handler} · 时限 {_when(complaint.deadline, tz)}{late}\n"
            f"  {escape(_short(_masked_text(complaint), 40))}"
        )
    if total > len(cards):
        lines.append(f"……另有 {total - len(cards)} 件未列出，请先处理以上最早的，或查看月度报告。")
    return "\n".join(lines)


def escalation_closed(complaint_id: int, who: str) -> str:
    return f"✅ 问题 #{complaint_id} 已由 {escape(who)} 答复，升级结束。"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- daily checks -------------------------------------------------------------------------

YES = "是"
NO = "否"
BUTTON_SUBMIT_CHECK = "✅ 确认提交"
BUTTON_REDO_CHECK = "↩️ 重新填写"
NO_CHECKS_TODAY = "今天没有分配给您的检查任务。"
NOT_A_WORKING_DAY = "今天不是工作日，没有检查任务。"


def checks_not_pushed_yet(push_at: time) -> str:
    return f"今天的检查任务将在 {push_at.strftime('%H:%M')} 推送，请稍候。"


CHECK_PAUSED = "已暂停，已填写的内容都已保存。发送 /today 可继续。"
CHECK_NOT_YOURS = "这项检查不是分配给您的，无法打开。"
CHECK_FINISHED = "这项检查已经结束（已提交或已记为漏检）。"
CHECK_NOT_TODAY = "这不是今天的检查任务，已无法填写。"
CHECK_UNANSWERED = "还有问题没有回答，请先回答完。"
CANNOT_SKIP = "这一题必须回答，不能跳过。"
SKIP_NOTHING = "现在没有可以跳过的问题。"

_STATUS_MARKS = {"planned": "⬜", "in_progress": "⏳", "done": "✅", "missed": "❌"}
_WEEKDAYS = "一二三四五六日"


def _day(day: date) -> str:
    return f"{day.month}月{day.day}日（星期{_WEEKDAYS[day.weekday()]}）"


def check_button(number: int, site: str, title: str, status: str) -> str:
    return f"{_STATUS_MARKS.get(status, '')} {number}. {site} · {_short(title, 24)}"


def _check_lines(lines: Sequence[TodayLine]) -> list[str]:
    result = []
    for number, line in enumerate(lines, start=1):
        mark = _STATUS_MARKS.get(line.assignment.status, "")
        recheck = "【复查】" if line.assignment.is_recheck else ""
        done = (
            f"（{line.answered}/{line.total}）" if line.assignment.status == "in_progress" else ""
        )
        result.append(f"{mark} {number}. {recheck}{escape(line.site)} · {escape(line.title)}{done}")
    return result


def morning_push(name: str, day: date, lines: Sequence[TodayLine]) -> str:
    return "\n".join(
        [
            f"{escape(name)}，早上好！{_day(day)}您有 <b>{len(lines)}</b> 项检查任务：",
            *_check_lines(lines),
            "点下面的按钮开始检查，按提示逐项回答。",
        ]
    )


def today_overview(lines: Sequence[TodayLine]) -> str:
    done = sum(line.assignment.status == "done" for line in lines)
    return "\n".join([f"今日检查：已完成 {done}/{len(lines)} 项", *_check_lines(lines)])


def afternoon_reminder(lines: Sequence[TodayLine], end_of_day: time) -> str:
    return "\n".join(
        [
            f"⏰ 提醒：今天还有 {len(lines)} 项检查未完成，"
            f"{end_of_day.strftime('%H:%M')} 后未完成的将记为漏检：",
            *_check_lines(lines),
        ]
    )


def missed_line(inspector: str, site: str, title: str) -> str:
    return f"• {escape(inspector)}：{escape(site)} · {escape(title)}"


def missed_summary(day: date, lines: Sequence[str]) -> str:
    return "\n".join([f"<b>漏检汇总</b> {_day(day)}：共 {len(lines)} 项检查未完成", *lines])


def corrective_action_notice(
    title: str, site: str, description: str, deadline: datetime, recheck_day: date
) -> str:
    detail = f"\n问题：{escape(description)}" if description else ""
    return (
        f"<b>整改通知</b>：{escape(site)} 在“{escape(title)}”检查中发现问题。{detail}\n"
        f"请在 {deadline.strftime('%m月%d日 %H:%M')} 前完成整改，{_day(recheck_day)}将进行复查。"
    )


def _answer_text(question: Question, value: str | int | None) -> str:
    if value is None:
        return "（跳过）"
    if question.type is QuestionType.YES_NO:
        return YES if value == "yes" else NO
    if question.type is QuestionType.PHOTO:
        return "📷 已上传照片"
    return escape(str(value))


def _check_header(view: CheckView) -> str:
    recheck = "【复查】" if view.assignment.is_recheck else ""
    return f"<b>{recheck}{escape(view.site)} · {escape(view.item.title)}</b>"


def question_prompt(view: CheckView, number: int, total: int) -> str:
    question = view.question
    assert question is not None
    hints = {
        QuestionType.YES_NO: "请点按钮回答。",
        QuestionType.CHOICE: "请点按钮选择。",
        QuestionType.TEXT: "请输入文字。",
        QuestionType.PHOTO: "请发送照片。",
    }
    if question.type is QuestionType.INTEGER:
        low = question.min if question.min is not None else 0
        hint = (
            f"请输入 {low}–{question.max} 之间的整数。"
            if question.max is not None
            else f"请输入不小于 {low} 的整数。"
        )
    else:
        hint = hints[question.type]
    skip = " 可发送 /skip 跳过。" if question.optional else ""
    return f"{_check_header(view)}\n第 {number}/{total} 题：{escape(question.text)}\n{hint}{skip}"


def answer_rejected(rejected: Rejected) -> str:
    question = rejected.question
    shortfall = rejected.shortfall
    if shortfall is not None:
        part = f"（{shortfall.label}）" if shortfall.label else ""
        if shortfall.reason == "more_than_volume":
            return (
                f"检查数量{part} {shortfall.given} 不能超过总量 {shortfall.required}，请重新输入。"
            )
        return (
            f"抽查数量{part}不足：规定“{escape(shortfall.quote)}”\n"
            f"今天应至少检查 <b>{shortfall.required}</b> 件，您填写的是 {shortfall.given} 件。"
            "请补足后重新输入检查数量。"
        )
    if rejected.problem == "too_long" and rejected.length is not None:
        return message_too_long(rejected.length, MAX_TEXT_ANSWER)
    low = question.min if question.min is not None else 0
    # A sticker, voice note, location … where the question wants something else.
    text_expected = {
        QuestionType.YES_NO: "请点按钮回答。",
        QuestionType.CHOICE: "请点按钮选择一个答案。",
        QuestionType.INTEGER: "请输入数字，例如 25。",
    }.get(question.type, "这一题需要文字回答。")
    messages = {
        "not_a_number": "请输入数字，例如 25。",
        "out_of_range": f"超出范围：请输入 {low}–{question.max} 之间的数。"
        if question.max is not None
        else f"超出范围：请输入不小于 {low} 的数。",
        "not_an_option": "请点按钮选择一个答案。",
        "text_expected": text_expected,
        "photo_expected": "这一题需要发送照片作为凭证。",
        "empty": "回答不能为空。",
        "not_skippable": CANNOT_SKIP,
    }
    return messages[rejected.problem]


def check_summary(view: CheckView) -> str:
    return _answers_given(view, "请核对您的回答：")


def check_submitted(view: CheckView, findings: int, recheck_day: date | None) -> str:
    """The summary turned into the submitted check (one edit): the answers stay in the chat."""
    return f"{_answers_given(view, '已提交的回答：')}\n\n{check_done(findings, recheck_day)}"


def _answers_given(view: CheckView, heading: str) -> str:
    lines = [_check_header(view), heading]
    for question in view.item.questions:
        if question.id in view.answers:
            answer = _answer_text(question, view.answers[question.id])
            lines.append(f"• {escape(question.text)}\n  → {answer}")
    return "\n".join(lines)


# The answered question is named by its first characters: the line records the answer, the
# summary at the end shows every question in full.
SHORT_QUESTION = 20


def answer_recorded(view: CheckView, question_id: str) -> str:
    """The line a pressed question becomes, above the next step."""
    question = next(q for q in view.item.questions if q.id == question_id)
    text = question.text
    short = text if len(text) <= SHORT_QUESTION else f"{text[:SHORT_QUESTION]}…"
    return f"✔️ {escape(short)} → {_answer_text(question, view.answers.get(question_id))}"


CHECK_REDONE = "↩️ 已清空本项的回答，请从第 1 题重新填写。"


def check_done(findings: int, recheck_day: date | None) -> str:
    if findings and recheck_day is not None:
        return (
            f"✅ 已提交。发现 {findings} 个问题，已生成整改单并通知责任人，"
            f"{_day(recheck_day)}安排复查。"
        )
    return "✅ 已提交，未发现问题。"


# --- personal data past its keeping period --------------------------------------------------

ANONYMISED = "（已超过保存期限，内容已清除）"


# --- errors -------------------------------------------------------------------------------

INTERNAL_ERROR = "抱歉，处理您的消息时出错了，已记录下来。请稍后再试，您之前填写的内容不会丢失。"


# --- delivery and unusual input ------------------------------------------------------------

EDITED_MESSAGE_IGNORED = (
    "修改消息不会改变已收到的内容，仍以您最初发送的为准。"
    "如需更正，请重新发送一条消息（检查的回答可在最后核对时点“重新填写”）。"
)
PRESSED_TOO_OFTEN = "正在处理，请稍候。"


def more_buttons(number: int, total: int) -> str:
    """Above the rest of a keyboard too big for one message."""
    return f"（续 {number}/{total}）更多选项："


# What a message given up was, by the first part of its outbox key.
MESSAGE_KINDS: dict[str, str] = {
    "morning": "早间检查任务推送",
    "reminder": "下午未完成检查提醒",
    "missed": "当日漏检汇总",
    "corrective": "整改通知",
    "recheck": "复查通知",
    "complaint": "投诉通知",
    "escalation": "投诉超时升级提醒",
    "report": "月度报告",
    "uncovered": "无人承担的检查提醒",
    "blocked": "有人屏蔽机器人的通知",
    "rebound": "账号重新绑定的通知",
    "offboarded": "离职交接通知",
    "calendar-missing": "节假日日历缺失提醒",
    "retention": "个人信息到期清理通知",
}


def message_refused(recipient: tuple[str, Role] | None, key: str, undelivered: Undelivered) -> str:
    """To admins: a message the bot composed was given up; it was not delivered."""
    who = f"{escape(recipient[0])}（{ROLE_LABELS[recipient[1]]}）" if recipient else "未登记的聊天"
    prefix = key.partition(":")[0]
    kind = MESSAGE_KINDS.get(prefix, f"其他（{prefix}）")
    match undelivered.reason:
        case GiveUp.REFUSED:
            what = "被 Telegram 拒收，未能送达"
            detail = f"Telegram 的说明：{escape(undelivered.detail)}"
        case GiveUp.RETRIES_SPENT:
            what = f"连续 {undelivered.attempts} 次发送失败（网络或 Telegram 故障），已停止重试"
            detail = f"最后一次的错误：{escape(undelivered.detail)}"
        case GiveUp.BLOCKED:
            what = "未能送达：对方已屏蔽本机器人"
            detail = f"Telegram 的说明：{escape(undelivered.detail)}"
    return (
        f"⚠️ 发给 {who} 的一条消息{what}。\n消息类别：{escape(kind)}\n{detail}\n请转告技术人员处理。"
    )


BUTTON_OUTDATED = "这个按钮已过期，请使用最新消息里的按钮。"


def message_too_long(length: int, limit: int) -> str:
    return f"消息太长了：{length} 字，最多 {limit} 字。这条没有保存，请精简后重新发送。"


def text_expected(prompt: str) -> str:
    """A sticker, voice note, location … where the bot asked for text."""
    return f"这里需要文字回复。{prompt}"


def staff_blocked_bot(name: str, role: Role, unit: str, phone: str | None) -> str:
    contact = f"（电话 {escape(phone)}）" if phone else ""
    return (
        f"⚠️ {escape(name)}{contact}，{escape(unit)} 的{ROLE_LABELS[role]}，已屏蔽本机器人，"
        "收不到检查任务、投诉和提醒。请联系本人在 Telegram 中解除屏蔽并重新打开与机器人的对话。"
    )


# --- monthly report -----------------------------------------------------------------------

REPORT_SHEET_OVERVIEW = "总览"
REPORT_SHEET_CHECKS = "检查完成情况"
REPORT_SHEET_QUOTAS = "覆盖率"
REPORT_SHEET_FINDINGS = "发现问题"
REPORT_SHEET_CORRECTIVE = "整改"
REPORT_SHEET_COMPLAINTS = "投诉"
REPORT_SHEET_ESCALATIONS = "升级"
REPORT_SHEET_ELEMENTS = "服务质量要素"
REPORT_SHEET_UNCOVERED = "无人承担"

# Keyed by the complaint category codes and the element codes of scheduler.monthly_report.
REPORT_CATEGORY_LABELS: dict[str, str] = {
    "delay": "投递延误/积压",
    "loss": "丢失/短少",
    "damage": "破损",
    "false_delivery": "虚假妥投/投递不到位",
    "attitude": "服务态度",
    "forced_sale": "强制搭售/违规加办",
    "counter": "营业窗口/拒办",
    "tracking": "信息上网/查询",
    "periodical": "报刊发行",
    "finance": "邮政金融/代收代付",
    "hotline": "11185热线/投诉渠道",
    "other": "其他",
}
REPORT_ELEMENT_LABELS: dict[str, str] = {
    "attitude": "态度",
    "skill": "技术",
    "responsibility": "责任心",
    "hardware": "硬件",
    "management": "管理",
    "highlight": "亮点",
    "complaint": "投诉",
    "error": "差错",
}


def complaint_loop_line(complaints: ComplaintStats) -> str:
    """Repeats, the reporters' satisfaction and the 有理 rate of a month's complaints."""
    rate = complaints.justified_rate
    judged = complaints.justified + complaints.unjustified
    return (
        f"重复投诉 {complaints.repeats} 件；满意 {complaints.satisfied}，"
        f"不满意 {complaints.dissatisfied}；有理率 "
        + (f"{rate:.0%}（{complaints.justified}/{judged}）" if rate is not None else "—")
    )


REPORT_OVERVIEW_HEADERS = ("项目", "数值")
REPORT_OVERVIEW_LABELS: dict[str, str] = {
    "unit": "单位",
    "level": "单位级别",
    "month": "报告月份",
    "required": "应检次数",
    "done": "已检次数",
    "missed": "漏检次数",
    "uncovered": "无人承担（应检次数，不计入漏检）",
    "completion": "检查完成率",
    "quotas": "覆盖率达标项",
    "findings": "发现问题",
    "actions_open": "整改未关闭",
    "actions_overdue": "整改已逾期",
    "complaints": "投诉件数",
    "unanswered": "投诉未答复",
    "median": "响应时间中位数（工作小时）",
    "p90": "响应时间90百分位（工作小时）",
    "escalated": "升级投诉",
    "repeats": "重复投诉",
    "satisfaction": "满意 / 不满意",
    "justified": "有理率（有理 / 已判定）",
}
REPORT_UNCOVERED_HEADERS = ("单位", "检查项目", "条款", "应承担职责", "应检次数", "覆盖指标数")
REPORT_UNCOVERED_NOTE = (
    "无人承担：该单位没有人员持有此项检查的职责，检查从未安排给任何人，"
    "因此单列，不计入应检、漏检和覆盖率。请在组织文件的 duties 列填写职责后重新导入。"
)
REPORT_CHECK_HEADERS = ("检查项目", "条款", "分组", "应检", "已检", "漏检", "完成率")
REPORT_QUOTA_HEADERS = (
    "检查项目",
    "条款",
    "范围",
    "已查",
    "总数",
    "比例",
    "要求",
    "结果",
    "说明",
)
REPORT_FINDING_CATEGORY_HEADERS = ("问题类别", "数量")
REPORT_FINDING_ITEM_HEADERS = ("检查项目", "数量")
REPORT_FINDING_DETAIL_HEADERS = ("日期", "网点", "检查项目", "问题类别")
REPORT_CORRECTIVE_HEADERS = ("项目", "数量")
REPORT_CORRECTIVE_LABELS: dict[str, str] = {
    "opened": "本月新开整改",
    "closed": "本月完成整改",
    "closed_late": "其中逾期完成",
    "open": "月末未完成整改",
    "overdue": "其中已逾期",
}
REPORT_COMPLAINT_HEADERS = (
    "投诉类别",
    "件数",
    "已答复",
    "未答复",
    "响应时间中位数（工作小时）",
    "响应时间90百分位（工作小时）",
)
REPORT_ESCALATION_HEADERS = ("升级级别", "涉及投诉", "其中仍未答复")
REPORT_ELEMENT_HEADERS = ("要素", "问题数", "其中投诉", "其中检查发现", "其中整改逾期", "统计口径")
REPORT_TOTAL = "合计"
REPORT_NO_DATA = "无数据"
REPORT_NONE_THIS_MONTH = "本月无记录"
REPORT_NOT_APPLICABLE = "—"
REPORT_MET = "✔ 达标"
REPORT_NOT_MET = "✘ 未达标"
REPORT_RESPONSE_NOTE = (
    "响应时间只计工作时间；中位数和90百分位按最近秩法计算，取实际出现的响应时间。"
)
REPORT_ELEMENT_NOTE = (
    "问题数为本月归入该要素的投诉、检查发现（管理要素另含整改逾期、漏检和未达标的覆盖指标）"
    "件数之和，越少越好；亮点为记录的服务亮点数，越多越好；“其他”类不归入任何要素。"
)
REPORT_UNMAPPED = "未归入要素（其他类）"

REPORT_CHART_CHECKS = "检查完成情况（次）"
REPORT_CHART_COMPLAINTS = "投诉类别（件）"
REPORT_CHART_REQUIRED = "应检"
REPORT_CHART_DONE = "已检"
REPORT_CHART_MISSED = "漏检"
REPORT_CHART_NO_CHECKS = "本月无检查任务"
REPORT_CHART_NO_COMPLAINTS = "本月无投诉"


def report_chart_group(group: str, completion: float | None) -> str:
    return group if completion is None else f"{group}\n完成率 {completion * 100:.0f}%"


def report_title(unit: str, year: int, month: int) -> str:
    return f"{unit} {year}年{month}月检查报告书"


def report_month(year: int, month: int) -> str:
    return f"{year}年{month}月"


def report_filename(unit: str, year: int, month: int) -> str:
    return f"检查报告书_{unit}_{year}年{month:02d}月.xlsx"


def report_level_label(level: int) -> str:
    return f"第{level}级"


def _report_percent(value: float) -> str:
    return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"


def report_quota_requirement(threshold_percent: float | None, minimum: int | None) -> str:
    parts = []
    if threshold_percent is not None:
        parts.append(f"≥ {_report_percent(threshold_percent)}")
    if minimum is not None:
        parts.append(f"≥ {minimum} 个")
    return " 且 ".join(parts)


def report_quota_line(
    label: str,
    checked: int,
    total: int,
    threshold_percent: float | None,
    minimum: int | None,
    met: bool,
) -> str:
    """E.g. "城市投递部 抽查 12/30 = 40% ≥ 30% ✔"; "<" and ✘ when the quota is not met."""
    share = ""
    if total and threshold_percent is not None:
        share = f" = {_report_percent(round(checked / total * 100, 1))}"
    needs = report_quota_requirement(threshold_percent, minimum)
    if met:
        verdict = f"{needs} ✔"
    elif threshold_percent is None or minimum is None:
        verdict = f"{needs.replace('≥', '<')} ✘"
    else:
        verdict = f"未达 {needs} ✘"
    return f"{label} 抽查 {checked}/{total}{share} {verdict}"


def report_element_basis(element: str, categories: list[str]) -> str:
    if element == "highlight":
        return "本月记录的服务亮点（/highlight 及投诉中识别的表扬），越多越好"
    if element == "complaint":
        return "本月全部投诉"
    if element == "hardware":
        return "设备类检查发现（邮资机等）及反映设备故障的投诉"
    names = "、".join(REPORT_CATEGORY_LABELS[c] for c in categories)
    basis = f"投诉和检查发现：{names}"
    return basis + "；整改逾期、漏检、未达标覆盖指标" if element == "management" else basis


def report_caption(
    unit: str, year: int, month: int, required: int, done: int, missed: int, complaints: int
) -> str:
    return (
        f"<b>{escape(report_title(unit, year, month))}</b>\n"
        f"应检 {required} 次，已检 {done} 次，漏检 {missed} 次；投诉 {complaints} 件。\n"
        "详见附件 Excel 表。"
    )


# --- manager views: /progress, /stats, /report and the automatic monthly send ---------------

REPORT_USAGE = (
    "用法：/report 年-月，例如 /report 2026-10。\n"
    "经理可在后面加下属单位代码查看该单位的报告，例如 /report 2026-10 TZ。"
)
STATS_USAGE = "用法：/stats 或 /stats 年-月，例如 /stats 2026-10。"
REPORT_FUTURE_MONTH = "这个月份还没有到，无法生成报告。请输入本月或以前的月份。"
REPORT_BEFORE_GO_LIVE = (
    "这个月份早于机器人启用的年份（首次导入组织机构），没有检查记录。"
    "请输入启用以来的月份，例如本月。"
)
REPORT_OUT_OF_SCOPE = "您只能查看本单位及下属单位的报告（检查员只能查看本单位的）。"
NO_PROGRESS = "今天您的范围内没有检查任务。"

_QUOTA_LABELS: dict[str, str] = {
    "frequency": "检查次数",  # a per-city region item's checks of one city
    "urban_percent": "城市{kind}",
    "rural_percent": "农村{kind}",
    "min_sites": "{kind}",
    "counties_percent": "覆盖旗县",
    "all_sites": "全部{kind}",
    "transfer_points_per_check": "每次检查的接转点",
    "transfer_points_per_month": "本月检查的接转点",
    "all_transfer_points": "全部接转点",
}
_QUOTA_SITES: dict[SiteKind, str] = {SiteKind.COUNTER: "营业网点", SiteKind.DELIVERY: "投递部"}


def report_unknown_unit(code: str) -> str:
    return f"找不到单位代码“{escape(code)}”。"


def report_quota_label(unit: str, requirement: str, site_kind: SiteKind, area: Area | None) -> str:
    """E.g. "土默特左旗局 城市投递部" for a 30 % urban quota of a county's delivery checks."""
    kind = _QUOTA_SITES[site_kind]
    if requirement == "min_sites" and area is not None:
        kind = AREA_LABELS[area] + kind
    return f"{unit} {_QUOTA_LABELS[requirement].format(kind=kind)}"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _percent(done: int, required: int) -> str:
    return f"{done * 100 / required:.1f}%" if required else "—"


def _in_progress(as_of: date | None) -> str:
    return f"（本月尚未结束，截至 {as_of.month}月{as_of.day}日）" if as_of else ""


def report_document_caption(figures: MonthFigures) -> str:
    """The caption of the .xlsx sent for /report."""
    report = figures.report
    caption = report_caption(
        report.unit.name,
        report.month.year,
        report.month.month,
        report.check_total.required,
        report.check_total.done,
        report.check_total.missed,
        report.complaint_total.count,
    )
    return caption + (f"\n{_in_progress(figures.as_of)}" if figures.as_of else "")


_BULLETIN_LINES = 30


def bulletin_text(bulletin: Bulletin) -> str:
    """The monthly 通报: the ranking, the formula and its weights, and last month's change."""
    labels = REPORT_ELEMENT_LABELS
    weights = "、".join(
        f"{labels[element]}×{weight:g}" for element, weight in bulletin.weights.items()
    )
    basis = "每万件业务量" if bulletin.per_items else "件数（业务量未全部登记）"
    lines = [
        f"📊 <b>{escape(bulletin.title_unit)} {bulletin.year}年{bulletin.month}月服务质量通报</b>",
        f"评分 = 100 − 各要素问题数×权重 + 亮点数×权重，按{basis}计；权重：{weights}。",
        "",
    ]
    for row in bulletin.rows[:_BULLETIN_LINES]:
        change = ""
        if row.change is not None and row.previous_rank is not None:
            arrow = "↑" if row.change > 0 else "↓" if row.change < 0 else "→"
            change = f"（{arrow}{abs(row.change):g}，上月第 {row.previous_rank} 名）"
        issues = " ".join(
            f"{labels[element]}{value:g}" for element, value in row.issues.items() if value
        )
        lines.append(
            f"{row.rank}. {escape(row.unit)} {row.score:g} 分{change}"
            + (f"：{issues}" if issues else "")
        )
    if len(bulletin.rows) > _BULLETIN_LINES:
        lines.append(f"……另有 {len(bulletin.rows) - _BULLETIN_LINES} 个单位，见各单位报告书。")
    return "\n".join(lines)


def _unreceived_reason(holders: Sequence[str]) -> str:
    if not holders:
        return "没有人担任接收它的经理岗位"
    return f"接收人 {'、'.join(escape(name) for name in holders)} 尚未注册机器人"


def report_unreceived_notice(
    unit: str,
    code: str,
    year: int,
    month: int,
    *,
    report: Sequence[str] | None,
    bulletin: Sequence[str] | None,
) -> str:
    """To the admins: a unit's monthly report or 通报 reached nobody. Each part is None when
    delivered, else the names of the receiving post's holders (empty: nobody holds it)."""
    lines = [f"⚠️ <b>{escape(unit)} {year}年{month}月的报送无人接收</b>"]
    if report is not None:
        lines.append(f"· 检查报告书：{_unreceived_reason(report)}")
    if bulletin is not None:
        lines.append(f"· 服务质量通报：{_unreceived_reason(bulletin)}")
    lines.append(
        "请在组织文件中配置经理或请接收人注册；"
        f"报告可用 /report {year}-{month:02d} {escape(code)} 查看。"
    )
    return "\n".join(lines)


def report_auto_caption(report: MonthlyReport) -> str:
    """The caption of the report sent on the bot's own initiative to the level above."""
    total = report.check_total
    return "📨 月度检查报告书报送（在次月10日前报上级）\n" + report_caption(
        report.unit.name,
        report.month.year,
        report.month.month,
        total.required,
        total.done,
        total.missed,
        report.complaint_total.count,
    )


def report_chart_caption(unit: str, year: int, month: int) -> str:
    return f"{escape(unit)} {year}年{month}月 检查完成情况和投诉类别图"


# One line per inspector stays well under Telegram's 4096 characters.
_PROGRESS_LINES = 80


_UNCOVERED_UNITS = 30


def uncovered_notice(gaps: Sequence[tuple[int, str, str, str]]) -> str:
    """The 无人承担 list for an admin: (unit id, unit, duty, item title) per gap, one line per
    unit and duty."""
    per_unit: dict[int, tuple[str, dict[str, int]]] = {}
    for unit_id, unit, duty, _ in gaps:
        duties = per_unit.setdefault(unit_id, (unit, {}))[1]
        duties[duty] = duties.get(duty, 0) + 1
    lines = [
        f"⚠️ 【无人承担】{len(per_unit)} 个单位共 {len(gaps)} 项检查没有人持有相应职责，"
        "不会安排给任何人（今日进度和月报中单列为“无人承担”，不计入漏检）。"
        "请在组织文件的 duties 列为相应人员填写职责后重新导入。",
        "",
    ]
    for unit, duties in list(per_unit.values())[:_UNCOVERED_UNITS]:
        wanted = "、".join(
            f"{escape(duty or '检查员')}（{count} 项）" for duty, count in duties.items()
        )
        lines.append(f"• {escape(unit)}：缺 {wanted}")
    if len(per_unit) > _UNCOVERED_UNITS:
        lines.append(f"……另有 {len(per_unit) - _UNCOVERED_UNITS} 个单位未列出。")
    return "\n".join(lines)


def uncovered_progress_line(checks: int, units: int) -> str:
    return f"⚠️ 无人承担：{units} 个单位的 {checks} 项检查没有人负责（不计入漏检），详见月报。"


def progress_text(progress: Progress) -> str:
    """/progress: a total line, then one line per inspector."""
    rows = progress.inspectors
    planned = sum(r.planned for r in rows)
    running = sum(r.in_progress for r in rows)
    done = sum(r.done for r in rows)
    missed = sum(r.missed for r in rows)
    lines = [
        f"<b>{escape(progress.unit)} 今日检查进度</b>（{_day(progress.day)}）",
        f"共 {planned + running + done + missed} 项：✅ 已完成 {done}，⏳ 进行中 {running}，"
        f"⬜ 未开始 {planned}" + (f"，❌ 漏检 {missed}" if missed else ""),
        "",
    ]
    for row in rows[:_PROGRESS_LINES]:
        line = (
            f"{escape(row.name)}（{escape(row.unit)}）："
            f"✅{row.done} ⏳{row.in_progress} ⬜{row.planned}"
        )
        lines.append(line + (f" ❌{row.missed}" if row.missed else ""))
    if len(rows) > _PROGRESS_LINES:
        lines.append(f"……另有 {len(rows) - _PROGRESS_LINES} 名检查员未列出。")
    if progress.cities:
        lines += ["", "<b>区公司各盟市检查覆盖</b>"]
        lines += [city_coverage_line(row) for row in progress.cities]
    if progress.uncovered_checks:
        lines += ["", uncovered_progress_line(progress.uncovered_checks, progress.uncovered_units)]
    return "\n".join(lines)


_SPAN_NOW: dict[Span, str] = {
    Span.WEEK: "本周",
    Span.MONTH: "本月",
    Span.QUARTER: "本季度",
    Span.HALF_YEAR: "本半年",
    Span.YEAR: "本年",
}
_MISSING_CITIES = 6


def city_coverage_line(row: CityCoverage) -> str:
    """E.g. "· 区公司调审城市支局监控录像（本季度）：10/12 个盟市，未完成：包头市分公司、…"."""
    period = _SPAN_NOW.get(row.span, "本期")
    line = f"· {escape(row.title)}（{period}）：{row.covered}/{row.cities} 个盟市"
    if not row.missing:
        return line + " ✅"
    names = "、".join(escape(name) for name in row.missing[:_MISSING_CITIES])
    more = f"等 {len(row.missing)} 个" if len(row.missing) > _MISSING_CITIES else ""
    return f"{line}，未完成：{names}{more}"


_STATS_QUOTA_LINES = 10


def stats_text(figures: MonthFigures) -> str:
    """/stats: a month's figures in one message."""
    report = figures.report
    total, complaints = report.check_total, report.complaint_total
    corrective = report.corrective
    lines = [
        f"<b>{escape(report.unit.name)} {report.month.year}年{report.month.month}月 检查统计</b>"
        + _in_progress(figures.as_of),
        f"检查：应检 {total.required} 次，已检 {total.done} 次，漏检 {total.missed} 次，"
        f"完成率 {_percent(total.done, total.required)}",
    ]
    if report.quotas:
        lines.append(f"覆盖率：{report.quotas_met}/{len(report.quotas)} 项达标")
        unmet = [q for q in report.quotas if not q.met]
        for quota in unmet[:_STATS_QUOTA_LINES]:
            line = report_quota_line(
                quota.label,
                quota.checked,
                quota.total,
                quota.threshold_percent,
                quota.minimum,
                quota.met,
            )
            lines.append(f"  · {escape(line)}")
        if len(unmet) > _STATS_QUOTA_LINES:
            lines.append(f"  · 另有 {len(unmet) - _STATS_QUOTA_LINES} 项未达标，详见 /report")
    found = "，".join(
        f"{REPORT_CATEGORY_LABELS[row.key]} {row.count}" for row in report.findings_by_category
    )
    lines.append(f"发现问题：{len(report.findings)} 个" + (f"（{found}）" if found else ""))
    lines.append(
        f"整改：本月新开 {corrective.opened}，完成 {corrective.closed}，"
        f"未完成 {corrective.open}（其中逾期 {corrective.overdue}）"
    )
    by_category = "，".join(
        f"{REPORT_CATEGORY_LABELS[row.category or 'other']} {row.count}"
        for row in report.complaints_by_category
    )
    lines.append(
        f"投诉：{complaints.count} 件，已答复 {complaints.answered}，"
        f"未答复 {complaints.unanswered}" + (f"（{by_category}）" if by_category else "")
    )
    if complaints.answered:
        lines.append(
            f"响应时间：中位数 {_hours(complaints.median_hours)} 工作小时，"
            f"90百分位 {_hours(complaints.p90_hours)} 工作小时"
        )
    if complaints.count:
        lines.append(complaint_loop_line(complaints))
    if report.escalations:
        levels = "，".join(f"第{row.level}级 {row.complaints} 件" for row in report.escalations)
        lines.append(f"升级：{levels}")
    lines.append("完整报告书（Excel 和图表）：/report 年-月")
    return "\n".join(lines)


def report_cli_done(xlsx: str, chart: str) -> str:
    return f"报告书已写入 {xlsx}，图表已写入 {chart}。"


def report_cli_bad_month(value: str) -> str:
    return f"月份“{value}”无效，请写成 年-月，例如 2026-10。"


# --- demo: `python -m bot demo` (the narration; chat lines are the bot's own messages) ------

DEMO_BOT = "机器人"
DEMO_INTRO = """\
演示：用沙盒（本机模拟的 Telegram Bot API）和示例组织，走一遍一个工作日。
Demo: one working day of the real bot against the offline sandbox Bot API, with simulated staff.
下面每条机器人消息都是真实的机器人代码经 Bot API 发出的；时间是模拟时钟的时间。"""
DEMO_FAILED = "演示中断：机器人没有按预期回答。"
DEMO_SUMMARY_TITLE = "═══ 小结 ═══"


def demo_scene(when: str, title: str) -> str:
    return f"━━ {when} ━━ {title}"


def demo_day_and_time(month: int, day: int, weekday: int, hour: int, minute: int) -> str:
    return f"{month}月{day}日 星期{_WEEKDAYS[weekday]} {hour:02d}:{minute:02d}"


def demo_note(text: str) -> str:
    return f"  （{text}）"


def demo_line(time: str, who: str, what: str) -> str:
    return f"{time}  {who}{'：' + what if what else ''}"


def demo_bot_to(who: str) -> str:
    return f"{DEMO_BOT} → {who}"


def demo_body(line: str) -> str:
    return f"         │ {line}"


def demo_buttons(labels: list[str], at_most: int) -> str:
    shown = " / ".join(f"[{label}]" for label in labels[:at_most])
    more = f" …（共 {len(labels)} 个按钮）" if len(labels) > at_most else ""
    return f"按钮：{shown}{more}"


def demo_more_lines(count: int) -> str:
    return f"……（此处省略 {count} 行）"


DEMO_EDIT_BUTTONS = "（更新了消息上的按钮）"
DEMO_EDIT_NO_BUTTONS = "（消息上的按钮已收起）"


def demo_user_text(text: str) -> str:
    return f"“{text}”"


def demo_user_photo(caption: str | None) -> str:
    return "〔发送照片〕" + (f"“{caption}”" if caption else "")


def demo_user_press(label: str) -> str:
    return f"按下 [{label}]"


def demo_edited(text: str) -> str:
    return f"（更新消息）{text}"


def demo_toast(text: str) -> str:
    return f"（弹出提示）{text}"


def demo_photo(caption: str) -> str:
    return f"〔图片〕{caption}"


def demo_document(name: str, caption: str) -> str:
    return f"〔文件 {name}〕{caption}"


def demo_staff_label(name: str, role: Role, unit: str) -> str:
    return f"{name}（{ROLE_LABELS[role]}·{unit}）"


def demo_summary_line(label: str, value: str) -> str:
    return f"  {label}：{value}"


def demo_elapsed(seconds: float) -> str:
    return f"演示用时 {seconds:.1f} 秒（时间由模拟时钟推进）。"


DEMO_SCENE_REGISTER = "管理员发出一次性邀请码，四位员工用它在 Telegram 里注册"
DEMO_SCENE_MORNING = "早上推送时间到：机器人按检查目录和排班，把今日检查任务推送给检查员"
DEMO_SCENE_CHECK = "检查员逐题回答一项检查：写错的数字被要求重填，发现问题后生成整改"
DEMO_SCENE_COMPLAINT = (
    "营业员用一句话上报用户投诉：机器人识别类别、地点、电话和紧急程度，确认后转给责任部门"
)
DEMO_NOTE_HANDLER_SILENT = "处理人收到了投诉，但一直没有答复"
DEMO_SCENE_AFTERNOON = "下午提醒时间：还没做完的检查会被提醒"
DEMO_SCENE_END_OF_DAY = "下班时间：当天未完成的检查记为漏检，汇总报给经理"
DEMO_SCENE_NEXT_MORNING = "第二天早上：新一天的检查任务照常推送；那件投诉仍然没人答复"
DEMO_SCENE_ESCALATION = "投诉超过“一个工作日内答复”的时限：升级给处理人所在单位的经理"
DEMO_SCENE_ANSWER = "处理人终于答复：上报人收到答复，经理收到升级结束的通知"
DEMO_SCENE_MANAGER = "经理查看今日检查进度和本月检查报告书"


def demo_summary(
    *,
    checks_planned: int,
    checks_done: int,
    checks_missed: int,
    findings: int,
    corrective_actions: int,
    complaints: int,
    complaints_answered: int,
    escalations: int,
    bot_messages: int,
    user_actions: int,
) -> list[tuple[str, str]]:
    return [
        (
            "检查任务（两天，示例组织的全部检查员）",
            f"排定 {checks_planned} 项，完成 {checks_done} 项，漏检 {checks_missed} 项",
        ),
        ("发现问题", f"{findings} 个，生成整改 {corrective_actions} 项（含复查任务）"),
        ("投诉", f"{complaints} 件，已答复 {complaints_answered} 件，升级 {escalations} 次"),
        ("消息", f"机器人发出 {bot_messages} 条，员工操作 {user_actions} 次"),
    ]


# --- health: `python -m bot health` (for monitoring; exit status 0 = healthy) -------------

HEALTH_OK = "正常 / OK"
HEALTH_PROBLEMS = "异常 / PROBLEM"


def _health_time(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "从未 / never"


def health_facts(last_tick: datetime | None, pending: int, failed: int) -> str:
    return (
        f"  上次定时任务 last tick：{_health_time(last_tick)}；"
        f"待发消息 outbox pending：{pending}；发送失败 failed：{failed}"
    )


def health_database_down(error: str) -> str:
    return f"数据库无法连接 / database unreachable: {error}"


def health_tick_stale(last_tick: datetime | None) -> str:
    return (
        "定时任务超过 5 分钟没有运行（机器人未运行或卡住）/ "
        f"no tick since {_health_time(last_tick)}"
    )


def health_outbox_stuck(pending: int, oldest: datetime) -> str:
    return f"有 {pending} 条消息积压，最早的来自 {_health_time(oldest)} / outbox stuck since then"


def health_inbox_stuck(pending: int, oldest: datetime) -> str:
    return (
        f"有 {pending} 条收到的消息未处理，最早的收于 {_health_time(oldest)} / "
        "inbox not handled since then"
    )


def health_webhook_down(host: str, port: int) -> str:
    return f"webhook 端口 {host}:{port} 没有监听 / webhook listener down"


# --- `make run`: which bot starts, and how to switch ------------------------------------

RUN_DEMO_WITHOUT_TOKEN = """\
没有设置 TELEGRAM_BOT_TOKEN：播放离线演示（不连接 Telegram）。
设置令牌后 make run 会启动真实机器人（见演示后的说明）。
No TELEGRAM_BOT_TOKEN: playing the offline demo (no Telegram).
With a token set, make run starts the real bot (see the explanation after the demo).
"""


def run_real_bot(mode: str, username: str) -> str:
    how = {"polling": "轮询 polling", "worker": "只处理 worker"}.get(mode, "webhook")
    return (
        f"已设置 TELEGRAM_BOT_TOKEN：启动真实机器人 @{username}（{how} 模式），按 Ctrl+C 停止。"
        f"想看离线演示：unset TELEGRAM_BOT_TOKEN 后再 make run，或运行 python -m bot demo。\n"
        f"TELEGRAM_BOT_TOKEN is set: starting the real bot @{username} ({mode}); Ctrl+C stops "
        f"it. For the offline demo: unset TELEGRAM_BOT_TOKEN and make run, or python -m bot demo."
    )
