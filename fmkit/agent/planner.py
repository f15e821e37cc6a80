"""Which tool, with which arguments: the chat model's likelihoods, calibrated, plus a vocabulary,
then the call decoded under the tool's JSON schema with llguidance.

    score(tool) = MODEL_WEIGHT * [log P(name | request) - log P(name | empty request)]
                                 (calibrated likelihood, averaged over three orders of the tool list)
                + VOCAB_WEIGHT * (hits of the tool's English/Korean verbs and nouns in the request)
                + file rules (detect/segment/describe need an image; a request that brings one rarely draws)

The likelihood is read after `{"tool": "` in the chat template; SmolLM2-135M zero-shot gets
about a third right (benchmarks/agent.py), mostly because it likes some names whatever the
request says: subtracting each name's score for an empty request removes that prior. It also
likes names for their place in the tool list (one more line, the segment tool, took the 42
earlier requests from 4 wrong tools to 11), so the likelihood is averaged over three orders of
the list (as declared, reversed, interleaved; `none` always last), and weighs half
(MODEL_WEIGHT): on the benchmark's requests the vocabulary alone chose better than the 135M
model, which now mostly breaks ties. The vocabulary carries the course's verbs and objects in
both languages (the 135M model is weak at Korean). The arguments are then decoded token by
token under the call's JSON schema (tools.call_schema: tool name constant, file, prompt and
object arguments as enums of what the request holds), so every call parses and names a real
tool. (benchmarks/agent.py has the unconstrained baseline.)
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fmkit.agent.tools import TOOLS, any_call_schema, call_schema, system_prompt, valid_call
from fmkit.agent.wants import english_prompt, is_korean, read_wants

VOCAB_WEIGHT = 4.0
MODEL_WEIGHT = 0.5  # the 135M model's calibrated likelihood is noisy: it breaks ties, the vocabulary leads
# A file name ends at its extension even when a Korean particle follows ("photo.jpg에", "bus.jpg에서").
IMAGE_NAME = re.compile(r"[^\s\"'“”‘’<>|]+\.(?:jpe?g|png|webp|bmp|tiff?)(?![A-Za-z0-9_])", re.I)
QUOTED = re.compile(r"[\"“'‘]([^\"”'’]{2,})[\"”'’]")

# Verbs and nouns of the course, English and Korean (lower case; Korean matched as substrings).
VOCAB: dict[str, tuple[str, ...]] = {
    "imagine": ("draw", "paint", "sketch", "picture of", "image of", "illustrate", "imagine", "render", "create an image",
                "make an image", "generate an image", "그려", "그림", "그리", "이미지 만들", "상상"),
    "detect": ("how many", "count", "detect", "find", "locate", "where is", "where are", "is there", "are there",
               "몇 명", "몇 마리", "몇 개", "몇명", "몇마리", "세어", "세 줘", "찾아", "탐지", "검출", "어디", "있어?", "있나"),
    "segment": ("cut out", "cut the", "crop out", "segment", "mask", "isolate", "remove the background",
                "잘라", "오려", "분할", "누끼", "마스크", "배경 제거", "배경을 지워"),
    "describe": ("describe", "what is in", "what's in", "caption", "tell me about", "what do you see", "explain the photo",
                 "설명", "묘사", "무엇이 있", "뭐가 있", "뭐가 보", "캡션", "어떤 사진"),
    "generate": ("write", "continue", "story", "poem", "sentence about", "complete the", "text about",
                 "써줘", "써 줘", "이어", "이야기", "시를", "시 한", "글을", "작성", "문장을 만들"),
    "tokenize": ("token", "tokenize", "split", "wordpiece", "subword", "토큰", "쪼개", "나눠", "분리"),
    "attention": ("attention", "attend", "heatmap", "어텐션", "주의", "집중"),
}
COMMAND_WORDS = re.compile(
    r"\b(please|draw( me)?|paint( me)?|sketch|make|create|generate|render|imagine|an image of|a picture of|"
    r"image of|picture of|write( me)?|continue|tokenize|split|show( me)?|the attention (of|in)|attention (of|in))\b"
    r"|그려\s*줘|그려|그림|만들어\s*줘|써\s*줘|보여\s*줘|토큰으로|나눠\s*줘|어텐션", re.I)


@dataclass
class Plan:
    request: str
    tool: str
    arguments: dict[str, Any]
    scores: dict[str, float] = field(default_factory=dict)
    call_text: str = ""  # the JSON the chat model decoded
    valid: bool = True
    seconds: float = 0.0
    language: str = "en"

    def to_dict(self) -> dict:
        return {"request": self.request, "tool": self.tool, "arguments": self.arguments,
                "scores": {k: round(v, 2) for k, v in self.scores.items()}, "call": self.call_text,
                "valid": self.valid, "language": self.language, "seconds": round(self.seconds, 3)}


def find_images(request: str, files: list[str]) -> list[str]:
    return list(dict.fromkeys([*files, *IMAGE_NAME.findall(request)]))


def candidates(request: str, files: list[str]) -> dict[str, list[str]]:
    """What each string argument may be, read from the request."""
    images = find_images(request, files)
    quoted = [q.strip() for q in QUOTED.findall(request) if not IMAGE_NAME.fullmatch(q.strip())]
    rest = IMAGE_NAME.sub("", request)
    stripped = " ".join(COMMAND_WORDS.sub(" ", rest).split()).strip(" .,!?:;") or rest.strip()
    wants = read_wants(stripped)
    draw = english_prompt(stripped) if wants else stripped
    texts = list(dict.fromkeys([*quoted, stripped]))
    objects = [w.label for w in wants] or [""]  # what to cut out: a detector label the request names, or anything
    return {"image": images, "prompt": list(dict.fromkeys([draw, *quoted, stripped])), "text": texts,
            "object": objects}


def vocab_hits(request: str) -> dict[str, int]:
    low = request.lower()
    return {tool: sum(1 for w in words if w in low) for tool, words in VOCAB.items()}


def orderings(names: list[str]) -> list[list[str]]:
    """The tool list in three orders, `none` last in each: as declared, reversed, interleaved."""
    tools = [n for n in names if n != "none"]
    tail = ["none"] if "none" in names else []
    return [tools + tail, tools[::-1] + tail, tools[1::2] + tools[::2] + tail]


class Planner:
    """The chat model (loaded once per process through the generate loader) and its tool scores."""

    def __init__(self, settings):
        from fmkit.generate.decode import TextGenerator

        self.generator = TextGenerator(settings)
        self.model, self.tokenizer = self.generator.model, self.generator.tokenizer
        self.cache_arg = self.generator.cache_arg
        self._prior: dict[str, float] | None = None
        self._lltok = None
        self.systems = [system_prompt(order) for order in orderings(list(TOOLS))]
        self.system = self.systems[0]  # what the call is decoded under

    # --- likelihood of each tool name ------------------------------------------------------

    def _prefix_ids(self, request: str, system: str | None = None) -> list[int]:
        system = system or self.system
        messages = [{"role": "system", "content": system}, {"role": "user", "content": request}]
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
            ids = list(ids if isinstance(ids, list) else ids["input_ids"])
        else:
            ids = list(self.tokenizer(f"{system}\nRequest: {request}\n")["input_ids"])
        return ids + list(self.tokenizer('{"tool": "', add_special_tokens=False)["input_ids"])

    def name_logprobs(self, request: str) -> dict[str, float]:
        """log P(name + '"' | request), averaged over the orders of the tool list."""
        per_order = [self._name_logprobs(request, system) for system in self.systems]
        return {n: sum(scores[n] for scores in per_order) / len(per_order) for n in TOOLS}

    def _name_logprobs(self, request: str, system: str) -> dict[str, float]:
        """One order's log P(name + '"' | request): one batched forward over all tool names. (One
        forward per order, not one for all: the int8 model quantises activations per batch, so
        the rows a batch holds move every score.)"""
        import torch

        prefix = self._prefix_ids(request, system)
        names = list(TOOLS)
        conts = [list(self.tokenizer(f'{n}"', add_special_tokens=False)["input_ids"]) for n in names]
        width = len(prefix) + max(map(len, conts))
        pad = self.generator.pad_id
        ids = torch.full((len(names), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, c in enumerate(conts):
            row = prefix + c
            ids[i, :len(row)] = torch.tensor(row)
            mask[i, :len(row)] = 1
        with torch.inference_mode():
            logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
        logp = torch.log_softmax(logits, -1)
        out = {}
        for i, (n, c) in enumerate(zip(names, conts)):
            out[n] = float(sum(logp[i, len(prefix) + j - 1, t] for j, t in enumerate(c)))
        return out

    def prior(self) -> dict[str, float]:
        """Each name's score for a content-free request (averaged over two), for calibration."""
        if self._prior is None:
            a, b = self.name_logprobs("N/A"), self.name_logprobs("")
            self._prior = {n: (a[n] + b[n]) / 2 for n in a}
        return self._prior

    def scores(self, request: str, files: list[str], *, calibrate: bool = True, vocabulary: bool = True,
               model: bool = True) -> dict[str, float]:
        scores = dict.fromkeys(TOOLS, 0.0)
        if model:
            raw = self.name_logprobs(request)
            prior = self.prior() if calibrate else dict.fromkeys(raw, 0.0)
            scores = {n: MODEL_WEIGHT * (raw[n] - prior[n]) for n in raw}
        if vocabulary:
            hits = vocab_hits(request)
            for tool, n in hits.items():
                scores[tool] += VOCAB_WEIGHT * n
            images = find_images(request, files)
            for tool in ("detect", "segment", "describe"):
                scores[tool] += 2.0 if images else -20.0
            if images and not hits["imagine"]:
                scores["imagine"] -= 4.0
            if not any(hits.values()):
                scores["none"] += 2.0
            else:
                scores["none"] -= 4.0
        return scores

    # --- decoding ------------------------------------------------------------------------

    def _tokenizer_ll(self):
        if self._lltok is None:
            import llguidance.hf

            eos = self.generator.eos_id
            self._lltok = llguidance.hf.from_tokenizer(self.tokenizer, n_vocab=self.model.config.vocab_size,
                                                       eos_token=eos)
        return self._lltok

    def constrained(self, request: str, schema: dict, max_tokens: int = 96) -> str:
        """Greedy decoding of the JSON call under `schema` (llguidance token masks, fast-forwarded
        tokens fed in one step)."""
        import llguidance
        import llguidance.torch as lt
        import torch
        from transformers import DynamicCache

        lltok = self._tokenizer_ll()
        matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_json_schema(
            schema, defaults={"whitespace_flexible": False}))
        prefix = self._prefix_ids(request)
        prefix = prefix[:-len(self.tokenizer('{"tool": "', add_special_tokens=False)["input_ids"])]
        bitmask = lt.allocate_token_bitmask(1, lltok.vocab_size)
        self._bits = torch.arange(32, dtype=torch.int32)
        cache = DynamicCache()
        out_ids: list[int] = []
        feed = prefix
        with torch.inference_mode():
            for _ in range(max_tokens):
                out = self.model(input_ids=torch.tensor([feed]), use_cache=True, **{self.cache_arg: cache})
                if matcher.is_stopped():
                    break
                logits = out.logits[0, -1:, :].float()
                lt.fill_next_token_bitmask(matcher, bitmask, 0)
                allowed = ((bitmask[0].unsqueeze(-1) >> self._bits) & 1).flatten()[:logits.shape[-1]].bool()
                logits[0, ~allowed] = float("-inf")  # (llguidance's own apply torch.compiles: minutes on CPU)
                token = int(logits.argmax(-1))
                if not matcher.consume_token(token):
                    break
                out_ids.append(token)
                feed = [token]
                forced = matcher.compute_ff_tokens()
                if forced:
                    for t in forced:
                        matcher.consume_token(t)
                    out_ids.extend(forced)
                    feed = feed + list(forced)
                if matcher.is_stopped() or matcher.is_accepting() and token == self.generator.eos_id:
                    break
        return self.tokenizer.decode([t for t in out_ids if t != self.generator.eos_id], skip_special_tokens=True)

    def plan(self, request: str, files: list[str] | None = None, *, calibrate: bool = True,
             vocabulary: bool = True, choose: bool = True) -> Plan:
        """The tool call for `request`. `choose=False`: the model picks the tool itself under the
        any-tool schema (the plain constrained baseline)."""
        started = time.perf_counter()
        files = list(files or [])
        choices = candidates(request, files)
        if choose:
            scores = self.scores(request, files, calibrate=calibrate, vocabulary=vocabulary)
            tool = max(scores, key=scores.get)
            schema = call_schema(tool, choices)
        else:
            scores, schema = {}, any_call_schema(choices)
        text = self.constrained(request, schema)
        try:
            call = json.loads(text)
        except ValueError:
            call = None
        valid = valid_call(call)
        if not valid:
            call = {"tool": "none", "arguments": {}}
        return Plan(request, call["tool"], call.get("arguments", {}), scores, text, valid,
                    time.perf_counter() - started, "ko" if is_korean(request) else "en")
