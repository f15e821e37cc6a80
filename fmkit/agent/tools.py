"""The agent's tools: each is one Session method, with a JSON schema for its arguments.

`call_schema(tool, choices)` is the JSON schema a tool call is decoded under: the tool name is a
constant, and string arguments that must come from the request (an image path, the text to
draw) are an `enum` of the candidates read from it, so the decoded call is always valid JSON
naming a real tool with arguments of the right type and an existing file.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tool:
    name: str
    description: str  # what the chat model reads in its system prompt
    args: dict = field(default_factory=dict)  # argument -> JSON schema
    needs_image: bool = False
    heavy: bool = True  # loads a model: not run by --dry-run


TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("imagine", "draw or paint a new picture of something", {"prompt": {"type": "string"}}),
    Tool("detect", "count and find objects in a photo", {"image": {"type": "string"}}, needs_image=True),
    Tool("segment", "cut an object out of a photo (Segment Anything masks)",
         {"image": {"type": "string"}, "object": {"type": "string"}}, needs_image=True),
    Tool("describe", "describe a photo in words", {"image": {"type": "string"},
                                                   "style": {"enum": ["caption", "list", "story"]}},
         needs_image=True),
    Tool("generate", "write or continue text: a story, a poem, a sentence", {"prompt": {"type": "string"}}),
    Tool("tokenize", "split a sentence into BERT tokens", {"text": {"type": "string"}}),
    Tool("attention", "show the attention between the words of a sentence", {"text": {"type": "string"}}),
    Tool("none", "anything else: answer in words", {}, heavy=False),
]}

WHAT_FMKIT_DOES = {
    "en": ("fmkit can draw a picture (imagine, checked by the detector), count objects in a photo (detect), "
           "cut an object out of a photo (segment), describe a photo (describe), write text (generate), split a "
           "sentence into tokens (tokenize) and show its attention (attention). Try: \"draw two cats\", "
           "\"how many people are in photo.jpg?\" or \"cut out the person in photo.jpg\""),
    "ko": ("fmkit은 그림 그리기(imagine, 탐지기로 검사), 사진 속 물체 세기(detect), 사진에서 물체 잘라내기(segment), "
           "사진 설명(describe), 글쓰기(generate), 토큰 나누기(tokenize), 어텐션 보기(attention)를 할 수 있어요. "
           "예: \"고양이 두 마리 그려줘\", \"photo.jpg에 사람이 몇 명 있어?\", \"사진에서 사람만 잘라줘 photo.jpg\""),
}


def system_prompt(order: list[str] | None = None) -> str:
    """The tool list the chat model reads, in `order` (default: as declared)."""
    lines = [f"- {name}: {TOOLS[name].description}" for name in (order or TOOLS)]
    return ("You are fmkit's assistant. Pick the one tool that serves the request and answer with JSON "
            '{"tool": NAME, "arguments": {...}}. Tools:\n' + "\n".join(lines))


def call_schema(tool: str, choices: dict[str, list[str]]) -> dict:
    """JSON schema of a call to `tool`; string arguments with candidates are enums of them."""
    props = {}
    for name, schema in TOOLS[tool].args.items():
        if schema.get("type") == "string":
            options = choices.get(name) or []
            schema = {"enum": options} if options else {"type": "string", "maxLength": 120}
        props[name] = schema
    return {"type": "object", "properties": {"tool": {"const": tool},
                                             "arguments": {"type": "object", "properties": props,
                                                           "required": list(props), "additionalProperties": False}},
            "required": ["tool", "arguments"], "additionalProperties": False}


def any_call_schema(choices: dict[str, list[str]]) -> dict:
    """Any tool, the model's choice (the plain constrained baseline of benchmarks/agent.py)."""
    return {"anyOf": [call_schema(name, choices) for name in TOOLS]}


def valid_call(call: object) -> bool:
    """A parsed call names a real tool and gives each of its arguments with the right type."""
    if not isinstance(call, dict) or call.get("tool") not in TOOLS or not isinstance(call.get("arguments", {}), dict):
        return False
    args = call.get("arguments", {})
    for name, schema in TOOLS[call["tool"]].args.items():
        value = args.get(name)
        if schema.get("type") == "string" and not isinstance(value, str):
            return False
        if "enum" in schema and value not in schema["enum"]:
            return False
    return True
