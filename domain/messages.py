"""Chinese messages for error codes, for people reading the console (the API sends the code too).

:func:`message` picks the message of an error's ``code``; codes without one fall back to the
message of the error's kind (:class:`domain.errors.DomainError` subclass).
"""
from __future__ import annotations

from domain.errors import (
    Conflict,
    Damaged,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    TooLarge,
    Unavailable,
    Unsupported,
    Upstream,
)

BY_CODE: dict[str, str] = {
    "interaction_not_found": "录音不存在，或不在您可查看的服务点",
    "flag_not_found": "检查结果不存在，或不在您可查看的服务点",
    "complaint_not_found": "投诉不存在，或不在您可查看的服务点",
    "counter_not_found": "窗口不存在，或不在您可查看的服务点",
    "unknown_counter": "窗口尚未登记",
    "site_not_found": "服务点不存在",
    "site_forbidden": "您无权查看该服务点",
    "role_forbidden": "您的角色无权进行此操作",
    "audio_not_stored": "录音文件不存在（可能已过保存期限）",
    "bad_query": "检索内容无效（不能为空，且不超过 200 个字）",
    "bad_name": "名称不合规：只能用字母、数字、“-”或“_”",
    "chunk_conflict": "该录音片段已存在且内容不同，已拒绝覆盖",
    "name_taken": "该名称已被其他服务点使用，请换一个名称",
    "unknown_site": "服务点不存在",
    "unknown_screen": "信息屏不存在",
    "schema_outdated": "数据库版本过旧，请先运行 counterwatch db upgrade",
    "unauthenticated": "请先登录",
    "bad_credentials": "用户名或密码错误",
    "range_not_satisfiable": "请求的音频范围无效",
    "bad_rulebook": "规则无效，请按提示的行号和字段修改",
    "bad_draft": "试验的规则无效：请给出整份规则，或一条带 id 的规则",
    "bad_period": "时间段无效：结束时间须晚于开始时间",
    "rulebook_version_in_force": "该规则版本已在使用或曾经应用过，请修改 version 后再应用",
    "login_throttled": "登录失败次数过多，请稍后再试",
    "csrf_refused": "无法确认请求来自本系统页面，已拒绝；请在控制台页面中操作",
    "bad_token": "登录已失效，请重新登录",
    "bad_display_name": "名称为空、过长，或含有不可见字符、控制字符（如零宽字符、文字方向控制符）",
    "name_confusable": "该名称与已有名称过于相似，容易混淆，请换一个名称",
    "user_kind": "采集端、信息屏等机器账号不能与人员账号互相转换",
    "bad_user": "用户信息无效",
    "user_not_found": "用户不存在",
    "token_not_found": "令牌不存在",
    "agent_unbound": "该令牌不是绑定窗口的采集端令牌",
    "agent_binding": "采集端令牌只能写入其绑定窗口的数据",
    "chunk_mismatch": "录音片段与其声明的校验值、大小或格式不符，已拒绝",
    "chunk_too_large": "录音片段过大",
    "bad_play_ref": "播放记录引用了不存在或其他服务点的内容",
    "image_too_large": "图片尺寸过大，请缩小后再上传",
    "EvidenceProtected": "录音证据只能由保存期限清理删除",
}

BY_KIND: tuple[tuple[type[DomainError], str], ...] = (
    (Throttled, "尝试次数过多，请稍后再试"),
    (TooLarge, "文件或内容过大"),
    (Unsupported, "不支持的文件格式"),
    (NotFound, "未找到，或不在您可查看的服务点"),
    (Forbidden, "无权进行此操作"),
    (Conflict, "与已有数据冲突"),
    (Unavailable, "服务暂时不可用，请稍后再试"),
    (Damaged, "存储的数据已损坏，请联系管理员"),
    (Upstream, "存储服务拒绝了请求，请联系管理员"),
    (Invalid, "请求无效"),
)


def message(error: DomainError) -> str:
    """The Chinese message for ``error``."""
    if error.code in BY_CODE:
        return BY_CODE[error.code]
    for kind, text in BY_KIND:
        if isinstance(error, kind):
            return text
    return "操作失败"
