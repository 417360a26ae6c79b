"""Chinese messages for error codes, for people reading the console (the API sends the code too).

:func:`message` picks the message of an error's ``code`` (a sentence, or a function of the
error's ``params`` where the sentence names what was refused); codes without one fall back to the
message of the error's kind (:class:`domain.errors.DomainError` subclass). :func:`field_error`
says one of FastAPI's request-validation errors in Chinese, naming the field by its
:data:`FIELDS` label, so the console never shows pydantic's English.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from domain.errors import (
    Conflict,
    Damaged,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    TooLarge,
    Unauthenticated,
    Unavailable,
    Unsupported,
    Upstream,
)

WEEKDAY_NAMES = "一二三四五六日"


def _schedule_conflict(p: dict[str, Any]) -> str:
    given = p.get("schedule_ids") or ()
    ids = [f"#{i}" for i in given if i] + ["新排期" for i in given if not i]   # the stored one first
    day = p.get("weekday")
    when = f"星期{WEEKDAY_NAMES[day]} {p.get('from_time', '')}–{p.get('to_time', '')}" if isinstance(day, int) else ""
    who = "、".join(ids) or "两条排期"
    where = f"在屏幕或分组“{p['where']}”上" if p.get("where") else ""
    return f"排期时间冲突：{who}{where}以同一优先级{('于' + when) if when else ''}重叠，请调整时段或优先级"


_REGION_PROBLEMS = {"overlap": "与第 {other} 个区域重叠", "outside": "超出了屏幕", "small": "太小（每边至少为屏幕的 5%）",
                    "text": "字幕超过 500 字", "kind": "类型无效",
                    "playlist": "的播放列表无效（须为本服务点只含图片的播放列表，且只有播放列表区域和滚动字幕可以选择）",
                    "ticker_playlist": "的播放列表无效（滚动字幕须选本服务点只含文字公告的播放列表）",
                    "url": "的数据源地址无效（数据源区域须填写 http:// 或 https:// 开头、不超过 500 个字符的网址，其他区域不填）",
                    "refresh": "的刷新间隔无效（5 秒至 24 小时）", "max_items": "显示的条数无效（1 至 10 条）"}


def _bad_region(p: dict[str, Any]) -> str:
    """``regions[2].w`` → 第 3 个区域…; the problem from the layout's check (signage.layout)."""
    field = str(p.get("field") or "")
    n = field[len("regions["):field.index("]")] if field.startswith("regions[") and "]" in field else ""
    which = f"第 {int(n) + 1} 个区域" if n.isdigit() else "区域"
    other = p.get("other")
    problem = _REGION_PROBLEMS.get(str(p.get("problem")), "无效").format(other=other + 1 if isinstance(other, int) else "")
    return f"版式无效：{which}{problem}（区域须在屏幕之内、不小于屏幕的 5%，且互不重叠）"


BY_CODE: dict[str, str | Callable[[dict[str, Any]], str]] = {
    # recordings, flags, complaints
    "interaction_not_found": "录音不存在，或不在您可查看的服务点",
    "flag_not_found": "检查结果不存在，或不在您可查看的服务点",
    "complaint_not_found": "投诉不存在，或不在您可查看的服务点",
    "counter_not_found": "窗口不存在，或不在您可查看的服务点",
    "staff_not_found": "该服务点没有这名工作人员",
    "bad_photo": "照片须为 PNG 或 JPEG 图片，每边不超过 4096 像素",
    "photo_too_large": "照片不能超过 3 MB",
    "no_photo": "尚未上传照片",
    "unknown_counter": "窗口尚未登记",
    "site_not_found": "服务点不存在",
    "site_forbidden": "您无权查看该服务点",
    "role_forbidden": "您的角色无权进行此操作",
    "audio_not_stored": "录音文件不存在（可能已过保存期限）",
    "audio_damaged": "录音文件已损坏（校验不一致），请联系管理员",
    "nothing_recorded": "该窗口尚无录音，无法监听",
    "bad_query": "检索内容无效（不能为空，且不超过 200 个字）",
    "bad_time_range": "时间范围无效：结束时间应晚于开始时间",
    "no_flags": "请至少选择一条检查结果",
    "too_many_flags": "一次最多审核 500 条检查结果",
    "bad_hold": "保全请求无效",
    "range_not_satisfiable": "请求的音频范围无效",
    "bad_audio": "音频无法解码",
    "bad_audio_file": "音频文件无法读取",
    "unsupported_format": "不支持的文件格式",
    # names and the catalog
    "bad_name": "名称不合规：只能用字母、数字、“-”或“_”",
    "chunk_conflict": "该录音片段已存在且内容不同，已拒绝覆盖",
    "name_taken": "该名称已被其他服务点使用，请换一个名称",
    "unknown_site": "服务点不存在",
    "unknown_screen": "信息屏不存在",
    "catalog": "登记信息无效",
    "bad_rescan": "重新登记的参数无效",
    "bad_user": "用户信息无效",
    "model_device": "语音模型无法在指定设备上运行（没有可用的 CUDA 显卡，或该设备不支持所选计算类型）",
    "schema_outdated": "数据库版本过旧，请先运行 counterwatch db upgrade",
    # sign-in
    "unauthenticated": "请先登录",
    "bad_token": "会话已过期，请重新登录",
    "bad_credentials": "用户名或密码错误",
    "bad_rulebook": "规则无效，请按提示的行号和字段修改",
    "bad_draft": "试验的规则无效：请给出整份规则，或一条带 id 的规则",
    "bad_period": "时间段无效：结束时间须晚于开始时间",
    "rulebook_version_in_force": "该规则版本已在使用或曾经应用过，请修改 version 后再应用",
    "login_throttled": "登录失败次数过多，请稍后再试",
    "csrf_refused": "无法确认请求来自本系统页面，已拒绝；请在控制台页面中操作",
    "bad_display_name": "名称为空、过长，或含有不可见字符、控制字符（如零宽字符、文字方向控制符）",
    "name_confusable": "该名称与已有名称过于相似，容易混淆，请换一个名称",
    "user_kind": "采集端、信息屏等机器账号不能与人员账号互相转换",
    "user_not_found": "用户不存在",
    "token_not_found": "令牌不存在",
    "agent_unbound": "该令牌不是绑定窗口的采集端令牌",
    "agent_binding": "采集端令牌只能写入其绑定窗口的数据",
    "event_source_binding": "叫号评价系统令牌只能记录其绑定窗口的事件",
    "alarm_not_clearable": "该告警由系统自动处理，不能手动解除",
    "chunk_mismatch": "录音片段与其声明的校验值、大小或格式不符，已拒绝",
    "chunk_too_large": "录音片段过大",
    "bad_ticket": "叫号票号只能由字母、数字和“-”组成（如 A012）",
    "export_forbidden": "您无权下载完整录音，只能在线播放",
    "body_too_large": "提交的内容过大，超过此操作的上限",
    "bad_play_ref": "播放记录引用了不存在或其他服务点的内容",
    "image_too_large": "图片尺寸过大，请缩小后再上传",
    "EvidenceProtected": "录音证据只能由保存期限清理删除",
    "throttled": "尝试次数过多，请稍后再试",
    # screens and their programme
    "screen_not_found": "信息屏不存在，或不在您可管理的服务点",
    "other_screen": "信息屏只能读取自己的节目单",
    "playlist_not_found": "播放列表不存在，或不在您可管理的服务点",
    "schedule_not_found": "排期不存在，或不在您可管理的服务点",
    "interrupt_not_found": "紧急通知不存在，或不在您可管理的服务点",
    "content_not_found": "素材不存在，或不在您可管理的服务点",
    "conflict": _schedule_conflict,
    "bad_range": "时间或日期范围无效（结束须晚于开始；时段不能为零）",
    "unknown_playlist": "播放列表不存在",
    "unknown_layout": "版式不存在",
    "layout_not_found": "版式不存在，或不在您可管理的服务点",
    "bad_region": _bad_region,
    "bad_layout": "版式须有且只有一个主区域（播放排期的节目），最多 6 个区域",
    "unknown_content": "播放列表中的素材不存在",
    "empty_playlist": "播放列表为空，请至少加入一项素材",
    "bad_item": "播放时长无效（每项 1 秒至 24 小时）",
    "no_target": "请选择至少一块屏幕或一个分组",
    "bad_weekdays": "请至少选择一天（星期一至星期日）",
    "bad_groups": "分组最多 20 个，每个分组名称不超过 63 个字符",
    "bad_share": "插播时长无效：每小时 1 秒至 3600 秒（或 0-100%），秒数与百分比只填一项",
    "in_use": "仍有排期在播放此项，请先删除相关排期",
    "playlist_moved": "播放列表不能移到其他服务点",
    "plays_in_flight": "播放记录正在保存，请稍后重发",
    "too_many_plays": "一次上报的播放记录过多",
    "bad_content_name": "素材名称无效",
    "not_text": "只有文字公告可以编辑",
    "upload_too_large": "文件过大，超过上传上限",
    "bad_expiry": "失效时间应晚于现在",
    "draft_too_large": "草稿过长，请精简后再保存",
    # staff findings and appeals, supervisor overrides (issue 20 item 4, issue 19 item 4)
    "appeal_not_found": "申诉不存在，或不在您可查看的服务点",
    "finding_not_found": "该检查结果不存在，或不是您本人的",
    "staff_not_linked": "您的账号尚未关联到窗口人员名册，请联系管理员",
    "staff_link": "窗口人员账号须关联名册中的姓名，且只属于一个服务点",
    "appeal_reason": "请填写申诉理由",
    "appeal_exists": "该检查结果已经申诉过，每条只能申诉一次",
    "appeal_not_counted": "该检查结果未计入扣分，无需申诉",
    "appeal_window_closed": lambda p: f"已超过申诉期限（检查结果确认后 {p.get('days', '')} 天内可申诉）",
    "ruling_note": "请填写裁定说明",
    "appeal_ruled": "该申诉已经裁定",
    "appeal_same_reviewer": "确认该检查结果的审核人不能裁定其申诉，请由另一位督导员裁定",
    "override_reason": "请填写理由",
    "manual_rule": "请选择规则",
    "manual_time": "时间点须在录音时长之内",
    "manual_finding_not_found": "人工发现不存在，或不在您可查看的服务点",
    "manual_withdrawn": "该人工发现已撤回",
    # sampling (抽检, issue 20 item 2)
    "sampling_plan_not_found": "抽检计划不存在，或不在您可查看的服务点",
    "sample_assignment_not_found": "抽检任务不存在，或不在您可查看的服务点",
    "sample_not_yours": "该抽检任务分配给了其他审核人",
    "sample_note": "请填写抽检意见",
    "sample_flags_open": lambda p: f"还有 {p.get('uncertain', '')} 条待确认的检查结果，请先确认或排除",
    "sampling_plan_stopped": "该抽检计划已停用",
    "sampling_seed_differs": "该时段已用另一随机种子抽取过，不能重抽",
    "sampling_per": "请选择抽样单位", "sampling_period": "请选择抽样周期", "sampling_mode": "请选择抽样方式",
    "sampling_flags": "请选择是否含检查结果", "sampling_amount": "抽样数量超出范围（按比例时为 1–100）",
    "sampling_hours": "时段应为 0–24 点，且开始早于结束", "sampling_name": "请填写计划名称",
    "sampling_reviewers": "审核人须为本服务点在用的督导员或管理员", "sampling_counters": "所选窗口不属于该服务点",
    "sampling_staff": "所选人员不在该服务点名册中", "sampling_seed": "随机种子超出范围", "sampling_site": "计划不能移到其他服务点",
    "correction_text": "请填写更正后的文字：不超过 500 字，不含控制字符，且与该句现有文字不同",
    "correction_reason": "请填写更正理由：不超过 2000 字，不含控制字符",
    "segment_not_found": "该句转写不存在",
    # request shape (FastAPI's 422 list)
    "invalid_request": "输入的内容不符合要求",
}

#: The one table of error kinds, most specific first (an error may be of several kinds: a missing
#: object is a store error and a not-found): the HTTP status the API answers with (api.errors)
#: and the Chinese message for a code that has none of its own in BY_CODE (None: the generic one).
KINDS: tuple[tuple[type[DomainError], int, str | None], ...] = (
    (Unauthenticated, 401, None),
    (Throttled, 429, "尝试次数过多，请稍后再试"),
    (TooLarge, 413, "文件或内容过大"),
    (Unsupported, 415, "不支持的文件格式"),
    (NotFound, 404, "未找到，或不在您可查看的服务点"),
    (Forbidden, 403, "无权进行此操作"),
    (Conflict, 409, "与已有数据冲突"),
    (Unavailable, 503, "服务暂时不可用，请稍后再试"),
    (Damaged, 500, "存储的数据已损坏，请联系管理员"),
    (Upstream, 502, "存储服务拒绝了请求，请联系管理员"),
    (Invalid, 422, "请求无效"),
)


def message(error: DomainError) -> str:
    """The Chinese message for ``error``."""
    known = BY_CODE.get(error.code)
    if isinstance(known, str):
        return known
    if known is not None:
        return known(error.params)
    for kind, _, text in KINDS:
        if isinstance(error, kind):
            return text or "操作失败"
    return "操作失败"


# -- request-validation errors (FastAPI / pydantic) ----------------------------------------------------

#: The Chinese name of each request field the console sends (query parameters and body fields).
FIELDS: dict[str, str] = {
    "name": "名称", "display_name": "显示名称", "password": "密码", "site": "服务点", "q": "检索内容",
    "counter": "窗口", "counter_id": "窗口", "staff": "工作人员", "summary": "投诉内容", "complainant": "投诉人",
    "interaction_id": "录音编号", "due_s": "答复期限", "incident_s": "事发时间", "finding": "处理结果",
    "note": "审核意见", "state": "状态", "flag_ids": "检查结果", "month": "月份", "months": "月数",
    "title": "标题", "body": "正文", "groups": "分组", "items": "节目单", "duration_s": "时长",
    "content_id": "素材", "playlist_id": "播放列表", "screens": "屏幕", "weekdays": "星期",
    "start_time": "开始时间", "end_time": "结束时间", "start_date": "开始日期", "end_date": "结束日期",
    "priority": "优先级", "at": "时间", "since_s": "开始时间", "until_s": "结束时间", "rule": "规则",
    "review_state": "审核状态", "rating": "评价", "type": "类型", "certainty": "确定程度",
    "assessable": "可否判定", "limit": "每页条数", "offset": "起始位置", "sort": "排序", "format": "格式",
    "action": "操作", "user": "用户", "expires_s": "失效时间", "form": "草稿", "data": "草稿内容",
    "timezone": "时区", "max_s": "时长", "backlog_chunks": "缓冲片段数",
    "per": "抽样单位", "period": "抽样周期", "mode": "抽样方式", "amount": "抽样数量", "flags": "检查结果条件",
    "counters": "窗口", "hour_from": "开始时段", "hour_to": "结束时段", "reviewers": "审核人", "seed": "随机种子",
    "day": "日期", "scored": "是否已评分",
    "url": "数据源地址", "refresh_s": "刷新间隔（秒）", "max_items": "显示条数",
    "share_s_per_hour": "插播秒数（每小时）", "share_pct": "插播比例（%）",
    "text": "文字", "reason": "理由",
    "segment_id": "转写语句",
}

def _num(v: Any) -> Any:
    """12.0 as 12, 1e11 as 100000000000."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


_TYPE_TEXT: dict[str, str | Callable[[dict[str, Any]], str]] = {
    "missing": "必填",
    "string_too_short": lambda c: "不能为空" if c.get("min_length") == 1 else f"至少 {c.get('min_length')} 个字",
    "string_too_long": lambda c: f"最多 {c.get('max_length')} 个字",
    "too_short": lambda c: f"至少 {c.get('min_length')} 项",
    "too_long": lambda c: f"最多 {c.get('max_length')} 项",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "应为文字",
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
    "float_parsing": "应为数字", "float_type": "应为数字",
    "bool_parsing": "应为“是”或“否”", "bool_type": "应为“是”或“否”",
    "greater_than": lambda c: f"应大于 {_num(c.get('gt'))}",
    "greater_than_equal": lambda c: f"不能小于 {_num(c.get('ge'))}",
    "less_than": lambda c: f"应小于 {_num(c.get('lt'))}",
    "less_than_equal": lambda c: f"不能大于 {_num(c.get('le'))}",
    "literal_error": lambda c: f"应为以下之一：{c.get('expected', '')}",
    "enum": lambda c: f"应为以下之一：{c.get('expected', '')}",
    "date_parsing": "日期格式应为 YYYY-MM-DD", "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式应为 YYYY-MM-DD HH:MM:SS", "datetime_from_date_parsing": "时间格式应为 YYYY-MM-DD HH:MM:SS",
    "datetime_type": "时间格式应为 YYYY-MM-DD HH:MM:SS",
    "json_invalid": "不是有效的 JSON", "model_attributes_type": "格式不正确", "dict_type": "格式不正确",
    "list_type": "应为列表", "value_error": "取值无效", "extra_forbidden": "不允许的字段",
    "finite_number": "应为有限的数字",
}


def field_label(loc: Sequence[Any]) -> str:
    """The Chinese name of the field at ``loc`` (FastAPI's location: ``["body", "items", 0, "duration_s"]``)."""
    names = [p for p in loc if isinstance(p, str) and p not in ("body", "query", "path", "header", "cookie")]
    if not names:
        return ""
    label = FIELDS.get(names[-1], names[-1])
    rows = [p for p in loc if isinstance(p, int)]
    return f"{label}（第 {rows[-1] + 1} 项）" if rows else label


def field_error(error: dict[str, Any]) -> str:
    """One request-validation error (pydantic's ``{type, loc, msg, ctx}``) in Chinese: "月份：格式不正确"."""
    known = _TYPE_TEXT.get(str(error.get("type", "")))
    ctx = error.get("ctx") or {}
    text = known if isinstance(known, str) else known(ctx) if known is not None else "取值无效"
    name = field_label(error.get("loc") or ())
    return f"{name}：{text}" if name else text
