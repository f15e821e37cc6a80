"""`imagine --verify`: draw, let the detector check the picture, retry with new seeds, keep the best.

    1. read what the prompt asks for (wants.py: objects and counts, English or Korean)
    2. ask the detector (through the Session) which classes it knows; say up front which asked-for
       objects it cannot check
    3. attempt k (seed = SEED + k * num_images ...): diffuse, detect each image, compare counts
    4. stop at the first image that passes; otherwise keep the best-scoring one
    5. write only the kept image, atomically, its PNG text chunks carrying the check

Scoring: each asked-for object scores min(found, expected) / max(found, expected) (1 when the
count is exact; "at least one" scores 1 as soon as one is found); an image's score is the mean,
and it passes when every checkable object scores 1. Ties go to the earlier attempt.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fmkit.agent.wants import Want, read_wants
from fmkit.errors import BadInput
from fmkit.options import option


@dataclass
class Attempt:
    number: int  # 1-based
    seed: int
    found: dict[str, int]
    score: float
    passed: bool
    diffuse_seconds: float
    detect_seconds: float

    def to_dict(self) -> dict:
        return {"attempt": self.number, "seed": self.seed, "found": self.found, "score": round(self.score, 3),
                "passed": self.passed, "diffuse_seconds": round(self.diffuse_seconds, 3),
                "detect_seconds": round(self.detect_seconds, 3)}


@dataclass
class ImagineResult:
    prompt: str
    wants: list[Want]
    unknown: list[str]  # asked-for objects the detector cannot check
    detector: str
    attempts: list[Attempt] = field(default_factory=list)
    best: int = -1  # index into attempts
    image: Any = field(default=None, repr=False)
    diffuse: Any = field(default=None, repr=False)  # the kept DiffuseResult
    path: str | None = None
    verified: bool = True

    @property
    def checkable(self) -> list[Want]:
        return [w for w in self.wants if w.label not in self.unknown]

    @property
    def passed(self) -> bool | None:
        """True/False after a check; None when nothing could be checked."""
        if not self.verified or not self.checkable:
            return None
        return bool(self.attempts) and self.attempts[self.best].passed

    @property
    def reason(self) -> str:
        if not self.verified:
            return "not verified (no --verify)"
        if not self.wants:
            return "the prompt names no object the detector could count: nothing to check"
        if not self.checkable:
            return f"the detector ({self.detector}) knows none of: {', '.join(self.unknown)}"
        best = self.attempts[self.best]
        if best.passed:
            return f"attempt {best.number} passed"
        missing = [f"{w.label}: wanted {w.count if w.count is not None else '>=1'}, found {best.found.get(w.label, 0)}"
                   for w in self.checkable if score_one(w, best.found.get(w.label, 0)) < 1]
        return f"no image passed in {len(self.attempts)} attempt(s); best (seed {best.seed}): {'; '.join(missing)}"

    def check(self) -> dict:
        """What is recorded in the PNG and the JSON."""
        best = self.attempts[self.best] if self.attempts else None
        return {"expected": {w.label: w.count for w in self.wants},
                "found": best.found if best else {}, "passed": self.passed, "unchecked": self.unknown,
                "detector": self.detector, "attempt": best.number if best else None,
                "attempts": len(self.attempts), "reason": self.reason}

    def to_dict(self) -> dict:
        d = self.diffuse.to_dict() if self.diffuse is not None else {"prompt": self.prompt}
        d["path"] = self.path
        d["check"] = self.check()
        d["attempts"] = [a.to_dict() for a in self.attempts]
        return d


def score_one(want: Want, found: int) -> float:
    if want.count is None:
        return 1.0 if found >= 1 else 0.0
    if found == want.count:
        return 1.0
    return min(found, want.count) / max(found, want.count)


def compare(wants: list[Want], counts: dict[str, int]) -> tuple[float, bool]:
    """(score in 0..1, passed) for one image's detected counts."""
    if not wants:
        return 1.0, True
    scores = [score_one(w, counts.get(w.label, 0)) for w in wants]
    return sum(scores) / len(scores), all(s == 1.0 for s in scores)


def check_attempts(attempts: int) -> None:
    if attempts < 1:
        raise BadInput(f"{option('attempts', attempts)}: need at least 1", f"for example {option('attempts', 3)}")


def detector_classes(session, detect_options: dict) -> tuple[str, list[str]]:
    """(detector label, its class names), asked through the Session on a blank 32x32 image
    (this also loads the detector before the long diffusion, so a bad model fails at once)."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="fmkit-imagine-") as tmp:
        probe = Path(tmp) / "probe.png"
        Image.new("RGB", (32, 32), (127, 127, 127)).save(probe)
        run = session.detect([str(probe)], **detect_options)
        list(run)
        names = list(run.names.values())
        return run.model, [str(n).lower() for n in names]


def imagine(session, prompt: str, *, verify: bool = True, attempts: int | None = None, seed: int | None = None,
            save: bool | str | Path = True, force: bool = False, notify: Callable[[str], None] = lambda m: None,
            on_attempt: Callable[[Attempt], None] | None = None, detect_options: dict | None = None,
            progress=None, **diffuse_options: Any) -> ImagineResult:
    from fmkit.diffuse.run import OutputNames
    from fmkit.seeds import random_seed

    attempts = attempts if attempts is not None else session.settings_for("agent").agent.attempts
    check_attempts(attempts)
    detect_options = detect_options or {}
    names = OutputNames(save, force)
    if names.path is not None:
        from fmkit.io.local import check_writable

        check_writable(names.path, force)  # before any model loads
    options = {k: v for k, v in diffuse_options.items() if k != "model"}
    per_attempt = session.settings_for("diffuse", diffuse_options.get("model"), options).diffuse.num_images
    wants = read_wants(prompt)
    result = ImagineResult(prompt, wants, [], "", verified=verify)
    if verify:
        result.detector, classes = detector_classes(session, detect_options)
        result.unknown = [w.label for w in wants if w.label.lower() not in classes]
        if not wants:
            notify("the prompt names no object the detector could count: the image is drawn once, unchecked")
        elif result.unknown:
            notify(f"the detector ({result.detector}) cannot check: {', '.join(result.unknown)} "
                   f"(it knows {', '.join(classes[:12])}{' ...' if len(classes) > 12 else ''})")
    checkable = result.checkable
    tries = attempts if verify and checkable else 1
    base = random_seed() if seed is None else seed
    best_key = None
    with tempfile.TemporaryDirectory(prefix="fmkit-imagine-") as tmp:
        for k in range(tries):
            started = time.perf_counter()
            images = session.diffuse(prompt, seed=base + k * per_attempt, save=False, progress=progress,
                                     **diffuse_options)
            diffuse_seconds = (time.perf_counter() - started) / max(len(images), 1)
            for image in images:
                if image.image is None:  # flagged by the safety checker
                    continue
                found, detect_seconds = _count(session, image, Path(tmp), checkable, detect_options) \
                    if verify and checkable else ({}, 0.0)
                score, passed = compare(checkable, found)
                attempt = Attempt(len(result.attempts) + 1, image.seed, found, score, passed and bool(checkable),
                                  diffuse_seconds, detect_seconds)
                result.attempts.append(attempt)
                if on_attempt:
                    on_attempt(attempt)
                key = (attempt.passed, score)
                if best_key is None or key > best_key:
                    best_key, result.best, result.diffuse, result.image = key, len(result.attempts) - 1, image, image.image
            if result.attempts and result.attempts[result.best].passed:
                break
    if result.diffuse is None:
        return result
    if names.enabled:
        path = names.next(prompt, result.diffuse.seed)
        result.path = str(save_checked(result, path, force))
        result.diffuse.path = result.path
    return result


def _count(session, image, folder: Path, checkable: list, detect_options: dict) -> tuple[dict[str, int], float]:
    """({label: count} of the wanted objects the detector finds in one drawing, seconds it took)."""
    started = time.perf_counter()
    path = folder / f"attempt-{image.seed}.png"
    image.image.save(path, compress_level=1)
    detected = next(iter(session.detect([str(path)], **detect_options)))
    path.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    for d in detected.detections:
        counts[d.label.lower()] = counts.get(d.label.lower(), 0) + 1
    return {w.label: counts.get(w.label, 0) for w in checkable}, time.perf_counter() - started


def save_checked(result: ImagineResult, path: Path, force: bool) -> Path:
    """The kept image with the diffuse parameters and the check as PNG text chunks (atomic)."""
    from PIL.PngImagePlugin import PngInfo

    from fmkit.diffuse.pipeline import png_text
    from fmkit.io.local import atomic_write

    info = PngInfo()
    for k, v in png_text(result.diffuse).items():
        info.add_itxt(k, v)
    info.add_itxt("fmkit:check", json.dumps(result.check(), ensure_ascii=False))
    return atomic_write(Path(path), lambda tmp: result.image.save(tmp, format="PNG", pnginfo=info), force)
