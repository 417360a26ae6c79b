"""The fixed words of the domain, each defined once, with the Chinese label people read.

Literal types come first and the tuples are derived from them, so request models, the
database's values and the console's labels cannot drift apart. The console reads the labels
from the API's dictionary endpoint (as RuoYi-style admin consoles read their 数据字典), never
from copies of its own.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

# -- who speaks, and which stereo channel is whose --------------------------------------------

STAFF, CUSTOMER, UNKNOWN = "staff", "customer", "unknown"
Speaker = Literal["staff", "customer", "unknown"]
ChannelMap = Literal["staff,customer", "customer,staff", "mono"]
#: Which side each stereo channel carries (left, right); mono: no channel evidence.
CHANNEL_MAPS: dict[str, tuple[str, str] | None] = {
    "staff,customer": (STAFF, CUSTOMER), "customer,staff": (CUSTOMER, STAFF), "mono": None}
CHANNELS: tuple[str, ...] = get_args(ChannelMap)
DEFAULT_CHANNELS: ChannelMap = "staff,customer"

# -- hall events ---------------------------------------------------------------------------------

EventKind = Literal["queue_call", "rating", "pause", "resume"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
#: Events that cut a recording into interactions (a new customer is called; a rating ends one).
BOUNDARY_EVENT_KINDS = ("queue_call", "rating")
#: A call cuts the recording where it happens, give or take this many seconds (the cut lands on
#: speech or silence around it): the interaction a call opened begins within this of the call.
CALL_SLACK_S = 5.0

RatingLevel = Literal["非常满意", "满意", "一般", "不满意"]
RATING_LEVELS: tuple[str, ...] = get_args(RatingLevel)
#: A rating press belongs to the counter's latest interaction that began before it, if that
#: interaction ended at most this long before the press (the customer presses after the last word).
RATING_WINDOW_S = 60.0

# -- people and machines -------------------------------------------------------------------------

#: ``staff``: a member of the counter staff, linked to their Staff record; sees only their own
#: interactions and findings, acknowledges them and appeals (issue 20, item 4).
#: ``events``: a queue or rating system's event source, bound to a site or one counter (issue 18).
#: ``kiosk``: a hall's ticket machine (takes tickets, nothing else); ``rater``: a rating terminal
#: bound to one counter; ``handler``: a department's person who answers the work orders given to it.
Role = Literal["admin", "supervisor", "viewer", "agent", "screen", "events", "kiosk", "rater", "handler", "staff"]
ROLES: tuple[str, ...] = get_args(Role)
PEOPLE = ("admin", "supervisor", "viewer", "handler", "staff")
MACHINES = ("agent", "screen", "events", "kiosk", "rater")
#: Roles that review flags, answer complaints and listen live.
REVIEWERS = ("admin", "supervisor")
#: Machine users' names start with these (``agent:hall/c1``, ``screen:lobby``): reserved, never a person's.
MACHINE_NAME_PREFIXES = ("agent:", "screen:", "events:", "kiosk:", "rater:")
#: Roles that must be limited to named sites.
SITE_BOUND_ROLES = ("supervisor", "viewer", "screen", "events", "kiosk", "rater", "handler", "staff")

# -- the hall's queue, rating terminals and work orders (issue 21) --------------------------------

TicketState = Literal["waiting", "serving", "done", "skipped"]
TICKET_STATES: tuple[str, ...] = get_args(TicketState)
#: The 好差评 five levels (a site's ``rating_scale`` ``five``); ``four`` is RATING_LEVELS.
FIVE_LEVELS: tuple[str, ...] = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
RATING_SCALES: dict[str, tuple[str, ...]] = {"four": RATING_LEVELS, "five": FIVE_LEVELS}
#: Every level of either scale, best first: what an event, a search filter or a report may carry.
AnyRatingLevel = Literal["非常满意", "满意", "基本满意", "一般", "不满意", "非常不满意"]
ALL_RATING_LEVELS: tuple[str, ...] = get_args(AnyRatingLevel)
#: 差评: a press of these opens a work order (整改 within BAD_RATING_WORKING_DAYS, 回访 in every case).
BAD_LEVELS: tuple[str, ...] = ("不满意", "非常不满意")
#: 满意率 = presses of these levels / all presses (the one definition: reports, live view).
SATISFIED_LEVELS: tuple[str, ...] = ("非常满意", "满意", "基本满意")
#: 满意率 as the reports print it (the console shows this text, never its own).
SATISFACTION_RATE_TEXT = f"满意率 =（{' + '.join(SATISFIED_LEVELS)}）÷ 全部评价"
RATING_DIMENSIONS: tuple[str, ...] = ("整体满意度", "服务效率", "服务水平", "服务态度")
BAD_RATING_REASONS: tuple[str, ...] = ("等候时间长", "态度不好", "业务不熟练", "一次告知不清", "办理超时", "其他")
BAD_RATING_WORKING_DAYS = 15
WorkOrderKind = Literal["complaint", "rating", "finding", "manual"]
WORK_ORDER_KINDS: tuple[str, ...] = get_args(WorkOrderKind)
WorkOrderChannel = Literal["window", "phone", "letter", "system"]
WorkOrderState = Literal["open", "replied", "closed"]
WORK_ORDER_STATES: tuple[str, ...] = get_args(WorkOrderState)
#: 督办: an open work order this many working days or fewer before its deadline is 临期.
NEAR_DUE_WORKING_DAYS = 2


def satisfaction_rate(counts: dict[str, int]) -> float | None:
    """满意率 of press counts by level: satisfied presses / all presses (None: no presses).

    The one definition, for both scales: (非常满意 + 满意 + 基本满意) / all presses; on the
    seed's four levels that is (非常满意 + 满意) / all (一般 and 不满意 are not satisfied)."""
    total = sum(counts.values())
    return None if total == 0 else sum(counts.get(lv, 0) for lv in SATISFIED_LEVELS) / total


def rating_levels_of(scales: Iterable[str], pressed: Iterable[str] = ()) -> tuple[str, ...]:
    """The levels a report counts for sites on ``scales`` (``four`` / ``five``; unknown: four),
    best first, plus any other known level actually ``pressed`` (a site that changed its scale)."""
    wanted = {lv for sc in scales for lv in RATING_SCALES.get(sc, RATING_LEVELS)} | set(pressed)
    return tuple(lv for lv in ALL_RATING_LEVELS if lv in wanted)

# -- health ---------------------------------------------------------------------------------------

AgentStatus = Literal["ok", "spool-near-quota", "spool-full", "store-unreachable"]
AGENT_STATUSES: tuple[str, ...] = get_args(AgentStatus)
AlarmKind = Literal["silent-microphone", "agent-gone", "spool-near-quota", "spool-full", "store-unreachable",
                    "screen-gone", "unintelligible-audio", "chunk-conflict", "chunk-replay"]
ALARM_KINDS: tuple[str, ...] = get_args(AlarmKind)
#: Alarms raised from an agent's own heartbeat status (the status of the same name).
HEARTBEAT_ALARMS = ("spool-full", "spool-near-quota", "store-unreachable")
#: Alarms only a person clears (issue 18): the agent whose upload raised it cannot.
PERSON_CLEARED_ALARMS = ("chunk-conflict",)

# -- findings and their review ----------------------------------------------------------------------

#: ``audio``: a rule on the recording's sound (冷场, 抢话, speech rate, raised voice).
FlagType = Literal["forbidden", "missing_courtesy", "audio"]
FLAG_TYPES: tuple[str, ...] = get_args(FlagType)
ReviewState = Literal["open", "confirmed", "dismissed"]
REVIEW_STATES: tuple[str, ...] = get_args(ReviewState)
ReviewVerdict = Literal["confirmed", "dismissed"]
#: A staff member's appeal (申诉) of a finding: open until a second reviewer upholds or overturns it.
AppealState = Literal["open", "upheld", "overturned"]
APPEAL_STATES: tuple[str, ...] = get_args(AppealState)
AppealVerdict = Literal["upheld", "overturned"]
#: How long after a finding is made (the interaction's end, or its confirmation if later) its
#: staff member may appeal it, unless the site sets its own window.
APPEAL_WINDOW_DAYS = 7
ComplaintState = Literal["open", "answered"]
COMPLAINT_STATES: tuple[str, ...] = get_args(ComplaintState)
#: A flag at least this confident is a finding the console shows as such and the reports count
#: (unless dismissed); below it the flag waits in 待确认 (uncertain) until a supervisor confirms it.
CERTAIN_CONFIDENCE = 0.5
#: The review queue's two parts: 待确认 (below CERTAIN_CONFIDENCE and not reviewed yet) and the rest.
Certainty = Literal["uncertain", "certain"]
CERTAINTIES: tuple[str, ...] = get_args(Certainty)
#: A rule whose reviewed flags were confirmed less often than this is pointed out to admins ...
LOW_PRECISION = 0.7
#: ... once at least this many of its flags have been reviewed.
PRECISION_MIN_REVIEWED = 5
#: A counter whose analysed interactions were not assessable at least this often (of at least
#: UNINTELLIGIBLE_MIN interactions in the last UNINTELLIGIBLE_WINDOW_S) raises an alarm.
UNINTELLIGIBLE_SHARE = 0.3
UNINTELLIGIBLE_MIN = 5
UNINTELLIGIBLE_WINDOW_S = 24 * 3600.0
Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[str, ...] = get_args(Severity)

# -- the courtesy score (文明服务得分), as Alibaba SCA's 质检评分 counts it ---------------------------
#: Every assessable interaction starts at SCORE_FULL points and loses these per counted forbidden
#: phrase, by the rule's severity, and MISSING_COURTESY_POINTS per courtesy rule it misses (at
#: least 0). A flag counts when confirmed, or when at least CERTAIN_CONFIDENCE and not dismissed.
SCORE_FULL = 100
SEVERITY_POINTS: dict[str, int] = {"high": 30, "medium": 15, "low": 5}
MISSING_COURTESY_POINTS = 10
#: A staff member or counter reaches the standard (达标) at this score or above.
SCORE_PASS = 90


def flag_uncertain(review_state: str, confidence: float) -> bool:
    """待确认: below CERTAIN_CONFIDENCE and not reviewed yet (a reviewed flag is certain either way)."""
    return review_state == "open" and confidence < CERTAIN_CONFIDENCE


def flag_counts(review_state: str, confidence: float) -> bool:
    """Whether a flag counts against the staff (reports, scores): confirmed on review, or certain
    (at least CERTAIN_CONFIDENCE) and not dismissed. An open uncertain flag waits in 待确认."""
    return review_state == "confirmed" or (review_state != "dismissed" and confidence >= CERTAIN_CONFIDENCE)

# -- the work queue -----------------------------------------------------------------------------------

JobKind = Literal["plan", "analyze"]
JOB_KINDS: tuple[str, ...] = get_args(JobKind)
#: ``retrying``: given back after a failure, claimable again from ``lease_until_s``.
JobState = Literal["queued", "running", "retrying", "done", "failed"]
JOB_STATES: tuple[str, ...] = get_args(JobState)

# -- Chinese labels -------------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "speaker": {STAFF: "工作人员", CUSTOMER: "群众", UNKNOWN: "未判定"},
    "channels": {"staff,customer": "左声道工作人员、右声道群众", "customer,staff": "左声道群众、右声道工作人员",
                 "mono": "单声道"},
    "event_kind": {"queue_call": "叫号", "rating": "评价", "pause": "暂停服务", "resume": "恢复服务"},
    "rating": {lv: lv for lv in RATING_LEVELS},
    "role": {"admin": "管理员", "supervisor": "督导员", "viewer": "查看员", "agent": "采集端", "screen": "信息屏",
             "events": "叫号评价系统", "kiosk": "取号机", "rater": "评价器", "handler": "承办人",
             "staff": "窗口人员"},
    "ticket_state": {"waiting": "等候中", "serving": "办理中", "done": "已办结", "skipped": "已过号"},
    "work_order_kind": {"complaint": "投诉", "rating": "差评整改", "finding": "检查发现", "manual": "登记诉求"},
    "work_order_channel": {"window": "窗口", "phone": "电话", "letter": "来信", "system": "系统"},
    "work_order_state": {"open": "办理中", "replied": "已答复", "closed": "已回访办结"},
    "work_order_action": {"create": "登记", "transfer": "转办", "reply": "答复", "callback": "回访",
                          "escalate": "督办升级"},
    "rating_scale": {"four": "四级评价", "five": "好差评五级"},
    "agent_status": {"ok": "正常", "spool-near-quota": "缓存将满", "spool-full": "缓存已满",
                     "store-unreachable": "存储不可达"},
    "alarm": {"silent-microphone": "麦克风无声", "agent-gone": "采集端离线", "spool-near-quota": "缓存将满",
              "spool-full": "缓存已满，正在丢失录音", "store-unreachable": "存储不可达", "screen-gone": "信息屏离线",
              "unintelligible-audio": "录音常无法识别，请检查麦克风",
              "chunk-conflict": "录音片段冲突，已拒绝覆盖",
              "chunk-replay": "采集端重复上传已存录音（疑似伪造），已拒绝"},
    "flag_type": {"forbidden": "服务忌语", "missing_courtesy": "缺少文明用语", "audio": "语音行为"},
    "certainty": {"uncertain": "待确认", "certain": "确定"},
    "assessable": {"true": "可判定", "false": "无法判定"},
    "review_state": {"open": "待审核", "confirmed": "已确认", "dismissed": "已驳回"},
    "complaint_state": {"open": "待答复", "answered": "已答复"},
    "appeal_state": {"open": "待裁定", "upheld": "维持原判", "overturned": "已撤销"},
    "severity": {"low": "轻微", "medium": "一般", "high": "严重"},
    "job_state": {"queued": "排队中", "running": "处理中", "retrying": "等待重试", "done": "已完成", "failed": "失败"},
    "live_source": {"segments": "实时", "chunks": "回放最近录音", "none": "无录音"},
    "content_kind": {"video": "视频", "image": "图片", "text": "文字公告"},
    "screen_shows": {"playlist": "排期节目", "interrupt": "紧急通知", "default": "默认画面"},
    "play_status": {"played": "已播放", "skipped": "已跳过"},
    "audit_action": {"login": "登录", "login.failed": "登录失败", "login.throttled": "登录被限制", "logout": "退出",
                     "access.refused": "越权访问被拒绝",
                     "access.missing": "访问的对象不存在或不在本人服务点", "csrf.refused": "非本系统页面的请求被拒绝",
                     "audio.play": "回放录音", "audio.download": "下载录音证据", "audio.live": "实时监听",
                     "search": "检索录音文本", "recordings.list": "查询录音", "transcript.view": "查看录音文本",
                     "transcript.correct": "更正录音文本", "transcript.export": "导出录音文本",
                     "flags.list": "查看检查结果", "flag.review": "审核检查结果",
                     "report.export": "导出报表", "rules.bench": "规则试验", "rules.apply": "应用规则",
                     "complaint.create": "登记投诉", "complaint.answer": "答复投诉", "complaint.edit": "修改投诉",
                     "interaction.hold": "录音保全", "interaction.release": "解除保全", "retention.delete": "到期删除",
                     "chunk.conflict": "录音片段覆盖被拒绝", "counter.edit": "修改窗口", "site.edit": "修改服务点",
                     "user.add": "添加用户", "user.disable": "停用用户", "token.issue": "签发令牌", "token.revoke": "吊销令牌",
                     "screen.register": "登记信息屏", "screen.edit": "修改信息屏", "content.upload": "上传素材",
                     "content.text": "编写文字公告", "content.edit": "修改素材", "content.delete": "删除素材",
                     "playlist.create": "新建播放列表", "playlist.replace": "修改播放列表", "playlist.delete": "删除播放列表",
                     "schedule.create": "新建排期", "schedule.replace": "修改排期", "schedule.delete": "删除排期",
                     "interrupt.create": "发布紧急通知", "interrupt.clear": "解除紧急通知",
                     "complaint.list": "查看投诉列表", "complaint.history": "查看投诉修改记录",
                     "report.view": "查看报表", "counters.view": "查看窗口状态", "audit.export": "导出审计日志",
                     "alarm.clear": "人工解除告警",
                     "sampling.reviewers": "查看抽检审核人名单",
                     "queue.service": "设置排队业务", "queue.ticket": "取号", "queue.call": "叫号", "queue.skip": "过号",
                     "queue.transfer": "转移业务", "queue.finish": "办结", "queue.pause": "暂停服务",
                     "queue.resume": "恢复服务", "device.issue": "签发设备令牌", "device.bind": "设备绑定",
                     "rating.press": "评价", "ratings.report": "查看评价报表",
                     "workorder.create": "登记工单", "workorder.transfer": "转办工单", "workorder.reply": "答复工单",
                     "workorder.callback": "回访工单", "workorder.escalate": "督办升级", "workorder.view": "查看工单",
                     "calendar.edit": "修改工作日历", "staff.edit": "修改工号", "staff.photo": "上传工作人员照片",
                     "rating.scale": "设置评价方式",
                     "department.edit": "修改部门"},

}


def label(kind: str, value: str) -> str:
    """The Chinese label of ``value`` of ``kind`` (``LABELS``); the value itself if it has none."""
    return LABELS.get(kind, {}).get(value, value)
