"""What a prompt asks for: objects and how many, in English and Korean.

    read_wants("two cats and a dog")        -> [Want("cat", 2), Want("dog", 1)]
    read_wants("고양이 두 마리와 개 한 마리")  -> [Want("cat", 2), Want("dog", 1)]

Objects are the detector's class names (COCO's, plus the fall detector's); each has English
singular/plural forms and Korean nouns. Counts are English number words or digits before the
noun ("three people", "2 cars", "a dog"), Korean counters after it ("고양이 두 마리",
"사람 3명") or before it ("두 마리의 고양이"). No count means "at least one" (count None).
Pure Python, no model: the reading is exact and testable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# canonical label (the detector's class name) -> (English forms, Korean nouns)
OBJECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "person": (("person", "people", "persons", "man", "men", "woman", "women", "child", "children", "kid", "kids",
                "boy", "boys", "girl", "girls", "human", "humans"), ("사람", "남자", "여자", "아이", "어린이", "소년", "소녀")),
    "bicycle": (("bicycle", "bicycles", "bike", "bikes"), ("자전거",)),
    "car": (("car", "cars"), ("자동차", "차", "승용차")),
    "motorcycle": (("motorcycle", "motorcycles", "motorbike", "motorbikes"), ("오토바이",)),
    "airplane": (("airplane", "airplanes", "plane", "planes", "aeroplane"), ("비행기",)),
    "bus": (("bus", "buses"), ("버스",)),
    "train": (("train", "trains"), ("기차", "열차")),
    "truck": (("truck", "trucks"), ("트럭",)),
    "boat": (("boat", "boats", "ship", "ships"), ("보트", "배")),
    "bird": (("bird", "birds"), ("새",)),
    "cat": (("cat", "cats", "kitten", "kittens"), ("고양이",)),
    "dog": (("dog", "dogs", "puppy", "puppies"), ("개", "강아지")),
    "horse": (("horse", "horses"), ("말",)),
    "sheep": (("sheep",), ("양",)),
    "cow": (("cow", "cows"), ("소", "젖소")),
    "elephant": (("elephant", "elephants"), ("코끼리",)),
    "bear": (("bear", "bears"), ("곰",)),
    "zebra": (("zebra", "zebras"), ("얼룩말",)),
    "giraffe": (("giraffe", "giraffes"), ("기린",)),
    "umbrella": (("umbrella", "umbrellas"), ("우산",)),
    "bottle": (("bottle", "bottles"), ("병",)),
    "cup": (("cup", "cups", "mug", "mugs"), ("컵",)),
    "banana": (("banana", "bananas"), ("바나나",)),
    "apple": (("apple", "apples"), ("사과",)),
    "orange": (("orange", "oranges"), ("오렌지",)),
    "pizza": (("pizza", "pizzas"), ("피자",)),
    "cake": (("cake", "cakes"), ("케이크",)),
    "chair": (("chair", "chairs"), ("의자",)),
    "couch": (("couch", "couches", "sofa", "sofas"), ("소파",)),
    "bed": (("bed", "beds"), ("침대",)),
    "tv": (("tv", "tvs", "television", "televisions"), ("텔레비전", "티비", "TV")),
    "laptop": (("laptop", "laptops"), ("노트북",)),
    "book": (("book", "books"), ("책",)),
    "clock": (("clock", "clocks"), ("시계",)),
    "teddy bear": (("teddy bear", "teddy bears", "teddy"), ("곰인형", "테디베어")),
    "fall": (("fallen person", "fallen people", "person falling", "fall", "falls"), ("넘어진 사람", "쓰러진 사람")),
}

# How a label reads in a sentence (the fall detector's classes are states, not nouns).
PHRASES = {"fall": ("fallen person", "fallen people"), "normal": ("person standing", "people standing")}

EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "pair": 2, "three": 3, "four": 4, "five": 5,
              "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple": 2}
KO_NUMBERS = {"한": 1, "하나": 1, "두": 2, "둘": 2, "세": 3, "셋": 3, "석": 3, "네": 4, "넷": 4, "다섯": 5,
              "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10,
              "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9, "십": 10}
_NOT_NOUNS = {"times", "steps", "seconds", "minutes", "hours", "days", "years", "pixels", "images", "photos",
              "pictures", "colors", "colours", "sides", "ways"}
KO_COUNTERS = ("마리", "명", "대", "개", "척", "그루", "권", "잔", "사람", "분")
KO_PARTICLES = ("이랑", "하고", "에게", "와", "과", "랑", "를", "을", "이", "가", "의", "도", "은", "는", "들", "만")


@dataclass(frozen=True)
class Want:
    """One object the prompt asks for: the detector label, how many (None = at least one), the words."""

    label: str
    count: int | None
    words: str

    def to_dict(self) -> dict:
        return {"label": self.label, "count": self.count, "words": self.words}

    def phrase(self) -> str:
        return quantity(self.label, self.count if self.count is not None else 1)


def plural(label: str, n: int) -> str:
    singular, many = PHRASES.get(label, (None, None))
    if singular:
        return singular if n == 1 else many
    en = OBJECTS.get(label, ((label,),))[0]
    if n == 1:
        return label
    return en[1] if len(en) > 1 and label != "person" else ("people" if label == "person" else label + "s")


def quantity(label: str, n: int) -> str:
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
             10: "ten"}
    return f"{words.get(n, str(n))} {plural(label, n)}"


KO_ANIMALS = {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"}
KO_VEHICLES = {"bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"}


def korean_noun(label: str) -> str:
    """'person' -> '사람'; a label without a Korean noun stays as it is."""
    nouns = OBJECTS.get(label, ((), ()))[1]
    return nouns[0] if nouns else label


def korean_quantity(label: str, n: int) -> str:
    """'person', 2 -> '사람 2명'; the counter Korean uses for that kind of thing (명, 마리, 대, else 개)."""
    counter = ("명" if label in ("person", "fall") else "마리" if label in KO_ANIMALS
               else "대" if label in KO_VEHICLES else "개")
    return f"{korean_noun(label)} {n}{counter}"


def count_text(counts: dict[str, int], ko: bool = False) -> str:
    """{'person': 2, 'dog': 1} -> 'two people and one dog' ('사람 2명, 개 1마리'); nothing -> 'nothing' ('없음')."""
    if not counts:
        return "없음" if ko else "nothing"
    parts = [korean_quantity(label, n) if ko else quantity(label, n) for label, n in counts.items()]
    if ko or len(parts) < 2:
        return ", ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _english_index() -> dict[str, str]:
    index = {}
    for label, (en, _) in OBJECTS.items():
        for word in en:
            index[word.lower()] = label
    return index


def _korean_index() -> dict[str, str]:
    return {word: label for label, (_, ko) in OBJECTS.items() for word in ko}


EN_INDEX = _english_index()
KO_INDEX = _korean_index()
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def is_korean(text: str) -> bool:
    return bool(_HANGUL.search(text))


def _strip_particle(token: str) -> str:
    """'고양이와' -> '고양이', '사람들이' -> '사람' (a known noun wins over stripping)."""
    for _ in range(3):
        if token in KO_INDEX:
            return token
        for particle in KO_PARTICLES:
            if token.endswith(particle) and len(token) > len(particle):
                token = token[: -len(particle)]
                break
        else:
            return token
    return token


def _ko_count(token: str) -> int | None:
    """'두' -> 2, '3마리' -> 3, '두마리' -> 2, '한' -> 1; None when the token is no count."""
    token = _strip_particle(token)
    for counter in KO_COUNTERS:
        if token.endswith(counter) and len(token) > len(counter):
            token = token[: -len(counter)]
            break
    if token.isdigit():
        return int(token)
    return KO_NUMBERS.get(token)


def _english(text: str) -> list[Want]:
    words = re.findall(r"[a-z]+|\d+", text.lower())
    found: list[Want] = []
    i = 0
    while i < len(words):
        label, span = None, 1
        two = " ".join(words[i:i + 2])
        if two in EN_INDEX:
            label, span = EN_INDEX[two], 2
        elif words[i] in EN_INDEX and words[i] not in ("fall", "falls"):
            label = EN_INDEX[words[i]]
        if label is None:
            # "two unicorns": a counted noun the vocabulary lacks is still something asked for
            if (i > 0 and (words[i - 1].isdigit() or EN_NUMBERS.get(words[i - 1], 0) >= 2)
                    and words[i].endswith("s") and len(words[i]) > 3 and words[i] not in _NOT_NOUNS):
                found.append(Want(words[i][:-1], int(words[i - 1]) if words[i - 1].isdigit()
                                  else EN_NUMBERS[words[i - 1]], f"{words[i - 1]} {words[i]}"))
            i += 1
            continue
        count = None
        for back in (1, 2):  # "two cats", "two small cats", "a pair of cats"
            if i - back < 0:
                break
            prev = words[i - back]
            if prev.isdigit():
                count = int(prev)
                break
            if prev in EN_NUMBERS:
                count = EN_NUMBERS[prev]
                break
            if prev in ("and", "with", "of", "the", "some", "many", "several") and prev != "of":
                break
        found.append(Want(label, count, " ".join(words[max(0, i - 1):i + span])))
        i += span
    return found


def _korean(text: str) -> list[Want]:
    raw = re.findall(r"[\uac00-\ud7a3A-Za-z]+|\d+[\uac00-\ud7a3]*", text)
    tokens = [_strip_particle(t) for t in raw]
    found: list[Want] = []
    for i, token in enumerate(tokens):
        label = KO_INDEX.get(token)
        if label is None and i + 1 < len(tokens) and f"{token} {tokens[i + 1]}" in KO_INDEX:
            label = KO_INDEX[f"{token} {tokens[i + 1]}"]
        if label is None:
            continue
        if token == "개" and i > 0 and _ko_count(raw[i - 1]) is not None and not raw[i - 1].endswith("의"):
            continue  # "사과 세 개": 개 is the counter, not a dog
        count = None
        # after the noun: "고양이 두 마리", "고양이 2마리", "고양이 두마리"
        if i + 1 < len(raw):
            count = _ko_count(raw[i + 1])
            if count is not None and KO_NUMBERS.get(_strip_particle(raw[i + 1])) in (2,) and raw[i + 1] == "이":
                count = None  # the particle 이 read as a number
        # before the noun: "두 마리의 고양이", "세 명의 사람"
        if count is None and i >= 2 and raw[i - 1].endswith("의") and _strip_particle(raw[i - 1]) in KO_COUNTERS:
            count = _ko_count(raw[i - 2])
        if count is None and i >= 1 and raw[i - 1].endswith("의") and re.fullmatch(r"\d*[\uac00-\ud7a3]+", raw[i - 1]):
            count = _ko_count(raw[i - 1])
        found.append(Want(label, count, " ".join(raw[max(0, i - 2):i + 3])))
    return found


def read_wants(prompt: str) -> list[Want]:
    """Objects and counts a prompt asks for; the same object named twice is added up."""
    wants = _english(prompt) + (_korean(prompt) if is_korean(prompt) else [])
    merged: dict[str, Want] = {}
    for w in wants:
        if w.label in merged:
            old = merged[w.label]
            count = None if old.count is None and w.count is None else (old.count or 1) + (w.count or 1)
            merged[w.label] = Want(w.label, count, f"{old.words}; {w.words}")
        else:
            merged[w.label] = w
    return list(merged.values())


def english_prompt(prompt: str) -> str:
    """An English rendering of the objects a (Korean) prompt asks for: '고양이 두 마리' -> 'two cats'."""
    wants = read_wants(prompt)
    if not wants:
        return prompt
    parts = [w.phrase() if w.count is not None else f"a {plural(w.label, 1)}" for w in wants]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
