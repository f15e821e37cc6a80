"""Running fmkit's generator in-process on a test model, as the generate tests all do."""

from __future__ import annotations

import json


def settings_for(model, **generate):
    """The laptop profile with generate.model = `model` (a folder) and generate.KEY = value for each keyword."""
    from fmkit.profiles import load_settings

    sets = [f"generate.model={json.dumps(str(model))}"]
    sets += [f"generate.{k}={json.dumps(v)}" for k, v in generate.items()]
    return load_settings("laptop", sets)


def run_events(model, prompts, seed=1, stream=False, truncate=False, **generate):
    """Every event (Piece, Notice, Generation) of one run over `prompts`."""
    from fmkit.generate.decode import GenerationParams, TextGenerator

    settings = settings_for(model, **generate)
    params = GenerationParams.from_settings(settings, seed)
    return list(TextGenerator(settings).run(prompts, params, truncate=truncate, stream=stream))


def generations(events):
    from fmkit.generate.decode import Generation

    return [e for e in events if isinstance(e, Generation)]
