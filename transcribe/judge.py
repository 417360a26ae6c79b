"""The rulebook applied to a transcript: utterances (who said what, when) in, findings out.

The analyzer calls this after recognition and speaker attribution; the rule bench calls it on
stored transcripts, so a draft rule is judged exactly as the worker would judge it. Every
finding says why it has its confidence (``reasons``): how well the words matched, how sure the
speaker is, how good the audio was; the confidence is their product.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.vocab import CALL_SLACK_S, CERTAIN_CONFIDENCE, CUSTOMER, STAFF, UNKNOWN
from transcribe import audio_rules
from transcribe.interactions import InteractionSpan
from transcribe.match import PhraseMatcher
from transcribe.normalize import Token, is_han, tokenize
from transcribe.patterns import Hit, RuleMatcher, quoted_exclusions
from transcribe.quality import Quality
from transcribe.rules import AudioRule, Condition, ForbiddenRule, Phrase, Position, RequiredRule, Rulebook
from transcribe.speakers import Utterance
from transcribe.turns import Turn
from transcribe.verify import COURTESY_MARGIN, FORBIDDEN_MARGIN, BoundVerifier, Verdict

logger = logging.getLogger(__name__)

#: A flag needs the speaker to be the rule's side with at least this probability.
SPEAKER_THRESHOLD = 0.5
#: A missing courtesy word is sure on stereo audio, less so on mono (a turn may be misattributed).
MISSING_CONFIDENCE = {"stereo": 0.95, "mono": 0.8}
#: In an interaction that is not assessable a forbidden finding is kept only if at least this
#: sure before the audio is counted, and then waits in 待确认 (below CERTAIN_CONFIDENCE).
UNASSESSABLE_KEEP = 0.8
UNASSESSABLE_CAP = round(CERTAIN_CONFIDENCE - 0.05, 3)
#: A missing courtesy word that the acoustic model finds may have been said (lost by the
#: recogniser) waits in 待确认: never a confident accusation.
LOST_CAP = UNASSESSABLE_CAP
#: The reason kind a finding of a rule with a queue condition carries: why the condition held
#: (services.hall_evidence lists the long-wait findings by it).
CONDITION_REASON = "condition"


@dataclass(frozen=True)
class Finding:
    """A rule broken: a forbidden phrase said, a courtesy word missing, an audio rule crossed.

    The judge's output, before it is stored: ``interaction`` is the interaction's index in its
    recording (it has no id yet) and nothing says where or when the recording was made. Stored,
    it becomes a Flag row, read back as ``services.interactions.FlagView`` (with the flag's id,
    place and review); the rule bench shows it unstored as ``services.rule_bench.BenchFlag``."""

    type: str                 # domain.vocab.FLAG_TYPES
    rule: str
    phrase: str
    evidence: str
    start_s: float
    end_s: float
    speaker: str
    interaction: int
    confidence: float
    severity: str = ""
    reasons: tuple[dict, ...] = field(default=())


@dataclass(frozen=True)
class QueueFacts:
    """The queue facts of one interaction: the ticket whose call opened it and how long it
    waited (taken → called; None: not known, e.g. a hall's own queue system that sends no wait)."""

    ticket: str | None
    waited_s: float | None


def queue_facts(interactions: Sequence[InteractionSpan],
                calls: Sequence[tuple[float, str | None, float | None]]) -> dict[int, QueueFacts]:
    """Each interaction's facts from the queue ``calls`` (at_s from the recording's start, may be
    negative: a call just before it; ticket; waited_s): the latest call at most CALL_SLACK_S after
    the interaction began and not before the previous interaction ended."""
    out: dict[int, QueueFacts] = {}
    prev_end = float("-inf")
    for inter in sorted(interactions, key=lambda i: i.start_s):
        mine = [c for c in calls if prev_end <= c[0] <= inter.start_s + CALL_SLACK_S]
        if mine:
            _, ticket, waited = max(mine, key=lambda c: c[0])
            out[inter.index] = QueueFacts(ticket, waited)
        prev_end = inter.end_s
    return out


def _minutes(seconds: float) -> str:
    return f"{seconds / 60.0:.1f}".rstrip("0").rstrip(".")


def condition_met(when: Condition, facts: QueueFacts | None) -> tuple[bool, str]:
    """Whether a rule's ``when`` holds for an interaction, and why, in plain Chinese."""
    limit = _minutes(when.ticket_waited_min_over * 60.0)
    if facts is None or facts.waited_s is None:
        return False, f"本次服务没有取号等候记录（未接入排队叫号），不按“等候超过 {limit} 分钟”判定"
    ticket = f"{facts.ticket} 号" if facts.ticket else "本号"
    waited = _minutes(facts.waited_s)
    if facts.waited_s <= when.ticket_waited_min_over * 60.0:
        return False, f"{ticket}取号后等候 {waited} 分钟，未超过 {limit} 分钟"
    return True, f"{ticket}取号后等候 {waited} 分钟，超过 {limit} 分钟"


def reason(kind: str, value: float, text: str, exact: str = "") -> dict:
    """One reason behind a finding's confidence: ``text`` in plain words a supervisor reads,
    ``exact`` the numbers behind it (the console's tooltip; issue 20)."""
    r = {"kind": kind, "value": round(float(value), 3), "text": text}
    if exact:
        r["exact"] = exact
    return r


def sure_word(p: float) -> str:
    """A probability (0-1) as a supervisor reads it: 高 / 中 / 低."""
    return "高" if p >= 0.8 else "中" if p >= 0.5 else "低"


def _speaker_text(side: str, p: float, mono: bool) -> str:
    who = {STAFF: "工作人员", CUSTOMER: "群众"}.get(side, "任一方")
    how = "单声道按措辞推断" if mono else "立体声按通道电平判定"
    return f"说话人为{who}的把握 {sure_word(p)}（{how}）"


def verified_reason(v: Verdict) -> dict:
    """A forbidden candidate matched by sound, confirmed by the acoustic model."""
    return reason("verify", v.delta,
                  f"声学复核：按规则原词“{v.heard}”重新评分，每个不同的字比识别结果低 {-v.delta:.1f}，予以确认",
                  f"每字对数似然差 {v.delta:.2f}（{FORBIDDEN_MARGIN:.0f} 以内确认）")


def lost_reason(v: Verdict) -> dict:
    """What the acoustic model says of a courtesy word found missing."""
    if v.how == "nbest" and not v.confirmed:
        return reason("verify", 0.0, "声学复核：逐句重听，备选识别结果中也没有这类礼貌用语", "候选识别结果中无礼貌用语")
    if v.how == "nbest":
        text = f"声学复核：单独重听这句时，备选识别结果为“{v.heard}”，礼貌用语可能被漏识别，需人工确认"
        return reason("verify", 0.0, text, "候选识别结果中含礼貌用语")
    if v.confirmed:
        text = f"声学复核：按“{v.heard}”评分与识别结果仅差 {-v.delta:.1f}，礼貌用语可能被漏识别，需人工确认"
    else:
        text = f"声学复核：按“{v.heard}”评分比识别结果低 {-v.delta:.1f}，不像说过"
    return reason("verify", v.delta, text, f"对数似然差 {v.delta:.2f}（{COURTESY_MARGIN:.0f} 以内视为可能说过）")


def _audio_reason(q: Quality) -> dict:
    return reason("audio", q.audio_factor, f"音频：{q.describe()}", q.exact())


def p_side(utt: Utterance, side: str) -> float:
    if side == "any":
        return 1.0
    p = utt.p_staff()
    return p if side == STAFF else 1.0 - p


@dataclass
class Scored:
    """An utterance with its tokens and interaction, ready for matching."""

    utt: Utterance
    tokens: list[Token]
    interaction: int
    turn: int           # its index among the interaction's utterances

    def times(self, a: int, b: int) -> tuple[float, float, str]:
        chars = self.utt.chars[a:max(b, a + 1)]
        return chars[0].start_s, chars[-1].end_s, "".join(c.char for c in chars)


def _term_phrase(text: str) -> Phrase:
    n = sum(1 for ch in text if is_han(ch))
    return Phrase(text=text, match="fuzzy" if n >= 3 else "pinyin", standalone=False)


class Judge:
    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self._forbidden = [(r, RuleMatcher(r)) for r in rulebook.forbidden]
        self._required = [(r, PhraseMatcher(r.words)) for r in rulebook.required]
        self._after = {id(r.where): PhraseMatcher(r.where.after) for r, _ in self._forbidden + self._required
                       if r.where.after}

    def judge(self, utts: Sequence[Utterance], interactions: Sequence[InteractionSpan], *, mono: bool,
              turns: Sequence[Turn] | None = None, quality: dict[int, Quality] | None = None,
              queue: dict[int, QueueFacts] | None = None, verify: BoundVerifier | None = None) -> list[Finding]:
        """Every finding of the rulebook in ``utts`` (time order), grouped by ``interactions``;
        ``queue``: each interaction's queue facts (:func:`queue_facts`), for rules with ``when``;
        ``verify``: the acoustic model on the recording's audio (the analyzer's; the rule bench,
        on stored transcripts, has none), which confirms or rejects candidates."""
        from transcribe.interactions import interaction_of

        quality = quality or {}
        scored: list[Scored] = []
        count: dict[int, int] = {}
        for u in utts:
            i = interaction_of(interactions, u.start_s)
            scored.append(Scored(u, tokenize(u.text), i, count.get(i, 0)))
            count[i] = count.get(i, 0) + 1
        out: list[Finding] = []
        for inter in interactions:
            mine = [s for s in scored if s.interaction == inter.index]
            q = quality.get(inter.index, Quality())
            out += self._forbidden_in(inter, mine, q, mono=mono, verify=verify)
            if q.assessable:
                out += self._missing_in(inter, mine, q, mono=mono, facts=(queue or {}).get(inter.index),
                                        verify=verify)
                out += self._audio_in(inter, [s.utt for s in mine], turns, q)
        return sorted(out, key=lambda f: (f.start_s, f.rule))

    # -- position ------------------------------------------------------------------------------

    def _triggers(self, where: Position, mine: list[Scored]) -> list[float]:
        """End times of the customer's utterances that say one of ``where.after``."""
        m = self._after.get(id(where))
        if m is None:
            return []
        return [s.utt.end_s for s in mine if p_side(s.utt, CUSTOMER) >= SPEAKER_THRESHOLD and m.find(s.tokens)]

    def _placed(self, where: Position, inter: InteractionSpan, s: Scored, t: float, n_turns: int,
                triggers: list[float]) -> bool:
        if where.first_s is not None and t - inter.start_s > where.first_s:
            return False
        if where.last_s is not None and inter.end_s - t > where.last_s:
            return False
        if where.first_turns is not None and s.turn >= where.first_turns:
            return False
        if where.last_turns is not None and s.turn < n_turns - where.last_turns:
            return False
        if where.after:
            lim = where.after_within_s
            return any(e <= t + 0.5 and (lim is None or t - e <= lim) for e in triggers)
        return True

    # -- forbidden -----------------------------------------------------------------------------

    def _quoted(self, rule: ForbiddenRule, s: Scored, evidence: str, t: float, mine: list[Scored]) -> bool:
        """The other side said these words shortly before: the staff is repeating a question."""
        limits = [x.within_s for x in quoted_exclusions(rule)]
        if not limits or sum(1 for ch in evidence if is_han(ch)) < 2:
            return False
        other = CUSTOMER if rule.speaker != CUSTOMER else STAFF
        m = PhraseMatcher([_term_phrase("".join(ch for ch in evidence if is_han(ch)))])
        return any(o is not s and p_side(o.utt, other) >= SPEAKER_THRESHOLD and t - max(limits) <= o.utt.start_s <= t
                   and m.find(o.tokens) for o in mine)

    def _forbidden_in(self, inter: InteractionSpan, mine: list[Scored], q: Quality, *, mono: bool,
                      verify: BoundVerifier | None = None) -> list[Finding]:
        out: list[Finding] = []
        for rule, matcher in self._forbidden:
            triggers = self._triggers(rule.where, mine)
            for s in mine:
                side = p_side(s.utt, rule.speaker)
                if side < SPEAKER_THRESHOLD:
                    continue
                for hit in matcher.find(s.tokens, s.utt.text):
                    start, end, evidence = s.times(hit.a, hit.b)
                    if not self._placed(rule.where, inter, s, start, len(mine), triggers):
                        continue
                    if self._quoted(rule, s, evidence, start, mine):
                        continue
                    checked = None
                    if verify is not None:
                        checked = verify.forbidden(s.utt.text, matcher.written(s.tokens, s.utt.text, hit),
                                                   s.utt.start_s, s.utt.end_s)
                        if checked is not None and not checked.confirmed:
                            logger.debug("verifier rejected %s at %.1f s (%.2f nats)", rule.id, start, checked.delta)
                            continue
                    f = self._forbidden_finding(rule, s, hit, start, end, evidence, side, q, mono=mono,
                                                checked=checked)
                    if f is not None:
                        out.append(f)
        return out

    def _forbidden_finding(self, rule: ForbiddenRule, s: Scored, hit: Hit, start: float, end: float, evidence: str,
                           side: float, q: Quality, *, mono: bool, checked: Verdict | None = None) -> Finding | None:
        how = {"phrase": "词句", "pattern": "句式", "regex": "正则"}[hit.how]
        reasons = [reason("match", hit.confidence,
                          f"“{evidence}”匹配{how}“{hit.what}”" + ("（读音相近，字不同）" if hit.cost else ""),
                          f"匹配把握 {hit.confidence:.2f}" + (f"，拼音容错代价 {hit.cost:.2f}" if hit.cost else "")),
                   reason("speaker", side, _speaker_text(rule.speaker, side, mono), f"说话人把握 {side:.2f}")]
        if checked is not None:
            reasons.append(verified_reason(checked))
        conf = hit.confidence * side
        if not q.assessable:
            if conf < UNASSESSABLE_KEEP:
                return None
            what = q.reason if not q.service else f"无法判定的音频（{q.reason}）"
            reasons.append(reason("audio", UNASSESSABLE_CAP, f"{what}，需人工确认"))
            conf = min(conf, UNASSESSABLE_CAP)
        else:
            reasons.append(_audio_reason(q))
            conf *= q.audio_factor
        return Finding("forbidden", rule.id, hit.what, evidence, start, end, s.utt.speaker, s.interaction,
                       round(conf, 4), rule.severity, tuple(reasons))

    # -- missing courtesy ---------------------------------------------------------------------------

    def not_applied(self, interactions: Sequence[InteractionSpan],
                    queue: dict[int, QueueFacts] | None = None) -> dict[int, list[dict]]:
        """Per interaction, the rules whose ``when`` did not hold, each with why ({rule, reason})."""
        out: dict[int, list[dict]] = {}
        for inter in interactions:
            for rule, _ in self._required:
                if rule.when is not None:
                    met, why = condition_met(rule.when, (queue or {}).get(inter.index))
                    if not met:
                        out.setdefault(inter.index, []).append({"rule": rule.id, "reason": why})
        return out

    def _missing_in(self, inter: InteractionSpan, mine: list[Scored], q: Quality, *, mono: bool,
                    facts: QueueFacts | None = None, verify: BoundVerifier | None = None) -> list[Finding]:
        out: list[Finding] = []
        for rule, matcher in self._required:
            condition: list[dict] = []
            if rule.when is not None:
                met, why = condition_met(rule.when, facts)
                if not met:
                    continue        # said so by not_applied (the analysis keeps it per interaction)
                condition = [reason(CONDITION_REASON, 1.0, why)]
            lo, hi = _window(rule.where, inter)
            triggers = self._triggers(rule.where, mine)
            if rule.where.after:
                if not triggers:
                    continue        # the customer never said what the rule answers
                lo = max(lo, min(triggers) - 0.5)
                if rule.where.after_within_s is not None:
                    hi = min(hi, min(triggers) + rule.where.after_within_s)
            best_other = 0.0     # strongest evidence that went to the other side
            satisfied = False
            for s in mine:
                if rule.where.first_turns is not None and s.turn >= rule.where.first_turns:
                    continue
                if rule.where.last_turns is not None and s.turn < len(mine) - rule.where.last_turns:
                    continue
                for m in matcher.find(s.tokens):
                    start, end, _ = s.times(s.tokens[m.start].index, s.tokens[m.end - 1].index + 1)
                    if start >= hi or end <= lo:
                        continue
                    side = p_side(s.utt, rule.speaker)
                    if side >= SPEAKER_THRESHOLD:
                        satisfied = True
                        break
                    best_other = max(best_other, side)
                if satisfied:
                    break
            if satisfied:
                continue
            base = MISSING_CONFIDENCE["mono" if mono else "stereo"]
            words = "、".join(w.text for w in rule.words[:4])
            reasons = condition + [reason("match", base, f"{'单声道' if mono else '立体声'}录音中未听到“{words}”"),
                       reason("speaker", 1.0 - best_other,
                              f"听到过相近的词，但为{_side_name(rule.speaker)}所说的把握 {sure_word(best_other)}"
                              if best_other else "没有任何一方说出", f"把握 {best_other:.2f}" if best_other else ""),
                       _audio_reason(q)]
            conf = base * (1.0 - best_other) * q.audio_factor
            if verify is not None:
                said = [(s.utt.text, s.utt.start_s, s.utt.end_s) for s in mine
                        if p_side(s.utt, rule.speaker) >= SPEAKER_THRESHOLD and s.utt.start_s < hi and s.utt.end_s > lo]
                if rule.where.first_s is None and rule.where.first_turns is None:
                    said.reverse()      # nearest the end first (a farewell), else from the start
                checked = verify.courtesy(rule.words, said)
                if checked is not None:
                    reasons.append(lost_reason(checked))
                    if checked.confirmed:
                        conf = min(conf, LOST_CAP)
            out.append(Finding("missing_courtesy", rule.id, "", "", lo, hi,
                               rule.speaker if rule.speaker != "any" else UNKNOWN, inter.index, round(conf, 4),
                               rule.severity, tuple(reasons)))
        return out

    # -- audio ---------------------------------------------------------------------------------------

    def _audio_in(self, inter: InteractionSpan, utts: list[Utterance], turns: Sequence[Turn] | None,
                  q: Quality) -> list[Finding]:
        out: list[Finding] = []
        for rule in self.rulebook.audio:
            for h in audio_rules.find(rule, turns, utts, inter.start_s, inter.end_s + 0.5, q):
                out.append(self._audio_finding(rule, h, inter, q, mono=turns is None))
        return out

    @staticmethod
    def _audio_finding(rule: AudioRule, h: audio_rules.AudioHit, inter: InteractionSpan, q: Quality, *,
                       mono: bool) -> Finding:
        measured = 0.9
        reasons = [reason("match", measured, h.text),
                   reason("speaker", h.p_staff, _speaker_text(STAFF, h.p_staff, mono) if h.p_staff < 1.0
                          else "工作人员通道（立体声）", f"说话人把握 {h.p_staff:.2f}"),
                   _audio_reason(q)]
        return Finding("audio", rule.id, rule.label, h.text, h.start_s, h.end_s, STAFF, inter.index,
                       round(measured * h.p_staff * q.audio_factor, 4), rule.severity, tuple(reasons))


def _side_name(side: str) -> str:
    return {STAFF: "工作人员", CUSTOMER: "群众"}.get(side, "任一方")


def window_of(rule: RequiredRule, inter: InteractionSpan) -> tuple[float, float]:
    """The part of ``inter`` where ``rule``'s words count (before any ``after`` trigger)."""
    return _window(rule.where, inter)


def _window(where: Position, inter: InteractionSpan) -> tuple[float, float]:
    lo, hi = inter.start_s, inter.end_s
    if where.first_s is not None:
        hi = min(hi, inter.start_s + where.first_s)
    if where.last_s is not None:
        lo = max(lo, inter.end_s - where.last_s)
    return lo, hi
