"""How the score and 达标 are defined, said once in the words people read (the report page, the
XLSX report's 计分说明 sheet, the recording page and the staff's own page all show this text;
the computation is :mod:`services.scoring`)."""
from __future__ import annotations

from domain.vocab import LABELS, MISSING_COURTESY_POINTS, SCORE_FULL, SCORE_PASS, SEVERITIES, SEVERITY_POINTS


def explanation() -> list[str]:
    pts = "、".join(f"{LABELS['severity'][s]} {SEVERITY_POINTS[s]} 分" for s in reversed(SEVERITIES))
    return [f"文明服务得分（单次服务得分）：每次可判定的服务从 {SCORE_FULL} 分起算，每条计入的服务忌语按规则的严重程度扣分（{pts}），"
            f"每缺少一项文明用语（或每条语音行为规则）扣 {MISSING_COURTESY_POINTS} 分，督导员人工添加的检查结果同样扣分，最低 0 分。",
            f"达标：单次服务得分 {SCORE_PASS} 分及以上。达标率：可判定的服务中达标的比例。"
            "人员或窗口的月度得分是其各次可判定服务得分的平均值。文明用语达标率：没有缺少文明用语的服务所占比例。",
            "计入的检查结果：已确认的，或置信度达到确定标准且未被驳回的；待确认（置信度不足）的不计入，驳回的不计入；"
            "工作人员申诉后，以第二位审核人的裁定为准（维持则计入，撤销则不计入）。",
            "无法判定的录音（语音无法听清）不计入任何得分和检查结果，单独列出；督导员可改判为可判定或无法判定。"
            "满意度评价计入所有服务。"]
