"""One generate run, as every front end calls it: parameters checked, prompts streamed through
the loaded model, events out (Piece while streaming, Generation per finished sequence).

The model loads only once the first prompt is known to be usable, so an empty argument or a
bad parameter fails in milliseconds. Notices (a capped length, a truncated prompt) go to
`notify`; nothing here prints.
"""

from __future__ import annotations

import contextvars
import itertools
from typing import Callable, Iterable, Iterator

from fmkit.generate.decode import Generation, GenerationParams, Notice, Piece
from fmkit.profiles import Settings


class GenerateRun:
    def __init__(self, settings: Settings, prompts: Iterable[str], *, seed: int | None = None,
                 truncate: bool = False, stream: bool = False, notify: Callable[[str], None] = lambda m: None):
        self.params = GenerationParams.from_settings(settings, seed)
        self.settings, self.truncate, self.stream, self.notify = settings, truncate, stream, notify
        self._prompts = iter(prompts)
        self._first = next(self._prompts, None)  # an empty argument fails here, before the model loads
        self._context = contextvars.copy_context()  # the Session the model loads for (catalog/context.py)
        self.generator = None

    @property
    def seed(self) -> int:
        return self.params.seed

    @property
    def model(self) -> str:
        return self.generator.model_name if self.generator else self.settings.generate.model

    @property
    def weights(self) -> str:
        return self.generator.weights if self.generator else ""

    @property
    def continues_prompt(self) -> bool:
        """True when the text continues the prompt (GPT-2); False when it answers it (a chat or
        text-to-text model), so a viewer shows the two apart."""
        return self.generator.continues_prompt if self.generator else True

    def __iter__(self) -> Iterator[Piece | Generation]:
        if self._first is None:
            return
        from fmkit.generate.decode import TextGenerator

        self.generator = self._context.run(TextGenerator, self.settings)
        prompts = itertools.chain([self._first], self._prompts)
        for event in self.generator.run(prompts, self.params, truncate=self.truncate, stream=self.stream):
            if isinstance(event, Notice):
                self.notify(event.message)
            else:
                yield event
