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
    "model_device": "语音模型无法在指定设备上运行（没有可用的 CUDA 显卡，或该设备不支持所选计算类型）",
    "schema_outdated": "数据库版本过旧，请先运行 counterwatch db upgrade",
    "unauthenticated": "请先登录",
    "bad_credentials": "用户名或密码错误",
    "range_not_satisfiable": "请求的音频范围无效",
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
