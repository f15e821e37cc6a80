"""`fmkit agent`: request -> plan (planner.py) -> one Session call -> a one-paragraph answer.

Steps are reported to `notify` as they happen (plan, tool, result); `AgentResult.to_dict()` is
the whole trace. With `dry_run`, the plan is made (the chat model runs) but no tool does.
The answer is written from the tool's result by a template, in the request's language, so it
never claims what the tool did not return.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from fmkit.agent.planner import Plan, Planner
from fmkit.agent.tools import TOOLS, WHAT_FMKIT_DOES
from fmkit.agent.wants import count_text
from fmkit.errors import BadInput

_PLANNERS: dict[tuple, Planner] = {}


@dataclass
class AgentResult:
    request: str
    plan: Plan
    result: dict | None = None
    answer: str = ""
    ran: bool = False
    ok: bool = True
    seconds: float = 0.0
    steps: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "plan": self.plan.to_dict(), "ran": self.ran, "result": self.result,
                "answer": self.answer, "ok": self.ok, "seconds": round(self.seconds, 3), "steps": self.steps}

    def _repr_markdown_(self) -> str:
        return f"**{self.plan.tool}** `{self.plan.arguments}`\n\n{self.answer}"


def planner_for(session, chat_model: str | None = None) -> Planner:
    settings = session.settings_for("generate", chat_model or session.settings_for("agent").agent.model)
    key = (settings.generate.model, settings.generate.weights, settings.runtime.device)
    if key not in _PLANNERS:
        _PLANNERS[key] = Planner(settings)
    return _PLANNERS[key]


def run_agent(session, request: str, files: list[str] | None = None, *, dry_run: bool = False,
              chat_model: str | None = None, seed: int | None = None,
              notify: Callable[[str], None] = lambda m: None) -> AgentResult:
    started = time.perf_counter()
    agent = session.settings_for("agent").agent
    planner = planner_for(session, chat_model)
    plan = planner.plan(request, files or [], calibrate=agent.calibrate, vocabulary=agent.vocabulary)
    out = AgentResult(request, plan)
    out.steps.append({"step": "plan", **plan.to_dict()})
    notify(f"plan: {plan.tool} {plan.arguments}")
    ko = plan.language == "ko"
    if plan.tool == "none":
        out.answer = WHAT_FMKIT_DOES["ko" if ko else "en"]
    elif dry_run:
        out.answer = (f"(계획만) {plan.tool} 실행 예정: {plan.arguments}" if ko
                      else f"(dry run) would run {plan.tool} with {plan.arguments}")
    else:
        notify(f"tool: running {plan.tool}")
        out.result, out.answer, out.ok = _run_tool(session, plan, seed, chat_model or agent.model, ko, notify)
        out.ran = True
        out.steps.append({"step": "tool", "tool": plan.tool, "ok": out.ok, "result": out.result})
        notify(f"result: {out.answer}")
    out.seconds = time.perf_counter() - started
    return out


def _run_tool(session, plan: Plan, seed, chat_model: str, ko: bool, notify) -> tuple[dict, str, bool]:
    """One Session call -> (result dict, answer paragraph, ok)."""
    a = plan.arguments
    if plan.tool == "imagine":
        r = session.imagine(a["prompt"], verify=True, seed=seed, save=True)
        check = r.check()
        ok = r.passed is not False
        answer = (f"'{a['prompt']}' 그림을 {r.path}에 저장했어요. 탐지기 검사: {check['reason']}." if ko else
                  f"I drew '{a['prompt']}' and saved it as {r.path}. The detector's check: {check['reason']}.")
        return r.to_dict(), answer, ok
    if plan.tool == "segment":
        from fmkit.agent.cut import cut_out

        return cut_out(session, a["image"], a.get("object", ""), ko)
    if plan.tool in ("detect", "describe"):
        if plan.tool == "detect":
            r = next(iter(session.detect([a["image"]])))
            if not r.ok:
                return r.to_dict(), f"{a['image']}: {r.error}", False
            counts: dict[str, int] = {}
            for d in r.detections:
                counts[d.label] = counts.get(d.label, 0) + 1
            text = count_text(counts)
            answer = (f"{a['image']}에서 찾은 것: {text} ({r.model})." if ko
                      else f"In {a['image']} the detector ({r.model}) found {text}.")
            return r.to_dict(), answer, True
        r = next(iter(session.describe([a["image"]], style=a.get("style", "caption"), chat_model=chat_model)))
        if not r.ok:
            return r.to_dict(), f"{a['image']}: {r.error}", False
        return r.to_dict(), r.text, True
    if plan.tool == "generate":
        g = session.generate(a["prompt"], model=chat_model, seed=seed if seed is not None else 0,
                             max_new_tokens=session.settings_for("agent").agent.answer_max_tokens)[0]
        return g.to_dict(), g.text.strip(), True
    if plan.tool == "tokenize":
        t = session.tokenize(a["text"])
        d = t.to_dict()
        answer = (f"'{a['text']}'은(는) {len(d['tokens'])}개의 토큰입니다: {' '.join(d['tokens'])}" if ko
                  else f"'{a['text']}' is {len(d['tokens'])} tokens: {' '.join(d['tokens'])}")
        return d, answer, True
    if plan.tool == "attention":
        r = session.attention(a["text"])
        tokens = getattr(r, "tokens", [])
        answer = (f"'{a['text']}'의 어텐션을 계산했어요 ({len(tokens)}개 토큰). `fmkit attention`으로 그림을 볼 수 있어요."
                  if ko else f"I computed the attention of '{a['text']}' ({len(tokens)} tokens, every layer and head); "
                             f"`fmkit attention \"{a['text']}\" -o attn.html` shows it.")
        return {"tokens": list(tokens)}, answer, True
    raise BadInput(f"unknown tool {plan.tool}", f"one of {', '.join(TOOLS)}")
