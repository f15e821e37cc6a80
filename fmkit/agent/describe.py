"""`describe`: detect -> scene -> the chat model writes about it, checked against the scene.

The chat model only ever sees the scene (counts, places, sizes), never the pixels, and its text
is checked word by word: an object word the detector did not report (any of the ~40 object
nouns in wants.OBJECTS, singular or plural) or a text naming none of the detected objects is
rejected, and a template sentence built from the scene is used instead (`text_source` says
which). So the text cannot invent objects, whatever the model writes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from fmkit.agent.scene import Scene, build_scene
from fmkit.agent.wants import EN_INDEX

STYLES = ("caption", "list", "story")

INSTRUCTIONS = {
    "caption": "Write one short sentence describing this photo. Mention only these objects.",
    "story": "Write a short story of three sentences about this photo. Mention only these objects, no others.",
}


@dataclass
class DescribeResult:
    source: str
    model: str  # the detector
    chat_model: str
    style: str
    scene: Scene | None
    text: str
    text_source: str  # model | template | none (the image failed)
    detections: list = field(default_factory=list)
    rejected: str | None = None  # the chat model's text, when it was replaced, and why
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        if self.error:
            return {"source": self.source, "error": self.error, "model": self.model}
        return {"source": self.source, "model": self.model, "chat_model": self.chat_model, "style": self.style,
                "detections": [d.to_dict() for d in self.detections], "scene": self.scene.to_dict(),
                "text": self.text, "text_source": self.text_source, "rejected": self.rejected,
                "seconds": round(self.seconds, 3)}

    def _repr_markdown_(self) -> str:
        return f"**{self.source}** ({self.scene.summary() if self.scene else self.error})\n\n{self.text}"


def template(scene: Scene, style: str) -> str:
    if style == "list":
        return "\n".join(f"- {line}" for line in scene.lines()) or "- nothing the detector knows"
    if not scene.objects:
        return "The detector found nothing it knows in this image."
    return f"The detector found {scene.summary()}."


def check_text(text: str, scene: Scene) -> str | None:
    """Why `text` is not faithful to `scene` (None when it is)."""
    if not text.strip():
        return "empty"
    words = re.findall(r"[a-z]+", text.lower())
    allowed = scene.allowed_words()
    pairs = set(words) | {" ".join(p) for p in zip(words, words[1:])}
    invented = sorted({w for w in pairs if w in EN_INDEX and w not in allowed and EN_INDEX[w] not in scene.counts})
    if invented:
        return f"names objects the detector did not report: {', '.join(invented)}"
    if scene.objects and not (pairs & allowed):
        return "names none of the detected objects"
    return None


def prompt_for(scene: Scene, style: str) -> str:
    return f"A photo shows {scene.summary()}. {INSTRUCTIONS[style]}"


def describe(session, sources, *, style: str = "caption", chat_model: str | None = None, seed: int = 0,
             max_new_tokens: int | None = None, notify=lambda m: None, **detect_options):
    """Yield a DescribeResult per image (input order); the chat model runs once per image."""
    settings = session.settings_for("agent")
    chat = chat_model or settings.agent.model
    tokens = max_new_tokens or settings.agent.describe_max_tokens
    for result in session.detect(sources, **detect_options):
        started = time.perf_counter()
        if not result.ok:
            yield DescribeResult(result.source, result.model, chat, style, None, "", "none", error=result.error)
            continue
        scene = build_scene(result)
        text, source, rejected = template(scene, style), "template", None
        if style != "list" and scene.objects:
            out = session.generate(prompt_for(scene, style), model=chat, greedy=True, seed=seed,
                                   max_new_tokens=tokens * (3 if style == "story" else 1))
            written = _tidy(out[0].text, style)
            why = check_text(written, scene)
            if why is None:
                text, source = written, "model"
            else:
                rejected = f"{written!r}: {why}"
                notify(f"{result.source}: the chat model's text {why}; using the scene's own words")
        yield DescribeResult(result.source, result.model, chat, style, scene, text, source, list(result.detections),
                             rejected, result.seconds + time.perf_counter() - started)


def _tidy(text: str, style: str) -> str:
    text = " ".join(text.split())
    if style == "caption":  # keep the first sentence
        match = re.match(r"(.+?[.!?])(\s|$)", text)
        text = match.group(1) if match else text
    return text.strip().strip('"')
