"""Vision + language: describe (detector -> scene -> chat model), imagine --verify (diffusion
checked by the detector), and the agent (a chat model picks a Session method under a JSON schema).

Everything here calls the other lessons through a `fmkit.Session` (never their internals), so
profiles, `--set` and the model cache reach every part: the detector is `detect.model`, the
image generator `diffuse.model`, the chat model `agent.model`.
"""
