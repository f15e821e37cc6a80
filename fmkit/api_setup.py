"""The setup half of `fmkit.Session`: the catalog (`models`), fetching for offline use (`pull`),
what this machine is (`doctor`) and the course bucket (`bucket_init`, `bucket_check`,
`bucket_policy`). The same objects the commands print (`to_dict()` is the `--json` object), so a
notebook gets what `fmkit models` or `fmkit bucket check` shows. Nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator


class SetupMethods:
    """Mixed into fmkit.Session (fmkit/api.py), which provides settings, notify and the owner."""

    def models(self) -> list:
        """The catalog: alias, family, source, size, on this machine or not, used by this profile
        (ModelRow objects). Never touches the network."""
        from fmkit.catalog.inventory import inventory

        return inventory(self.settings)

    def pull(self, names: str | Iterable[str] | None = None, *, progress=None) -> Iterator:
        """Fetch models for offline use (default: this profile's) -> a Pulled per model, as each is
        done; a model that cannot be fetched is reported and the rest go on."""
        names = [names] if isinstance(names, str) else names
        import fmkit.generate  # noqa: F401 - registers the converter of the packaged chat model (GGUF)
        from fmkit.catalog import on_behalf_of
        from fmkit.catalog.inventory import profile_models, pull

        wanted = list(names) if names else list(profile_models(self.settings).values())

        def pulled() -> Iterator:
            with on_behalf_of(self._owner, self.notify):
                yield from pull(wanted, self.notify, progress)

        return pulled()

    def doctor(self) -> dict:
        """What this machine is and what fmkit will do on it (the `fmkit doctor --json` object)."""
        from fmkit.doctor import diagnose

        return diagnose(self.settings)

    def bucket_init(self, uri: str, origin: str | None = None, **store_options: Any) -> Iterator[dict]:
        """Create the bucket (if missing), uploads/ and results/, and a CORS rule for `origin`:
        one dict per step ({"step", "status", "detail", "fix"}), as each is done."""
        from fmkit.bucket.init import init_bucket

        return init_bucket(_bucket_store(store_options), uri, origin)

    def bucket_check(self, uri: str, origin: str | None = None, **store_options: Any) -> Iterator[dict]:
        """Where the credentials come from, then pass/fail/warn for each thing the pipeline does
        (one dict per check, as each is done); a failure after which nothing else can be said
        ends them. `store_options`: endpoint_url, profile (the AWS one), region."""
        from fmkit.bucket.check import check_bucket

        return check_bucket(_bucket_store(store_options), uri, origin)

    def bucket_policy(self, uri: str, only: str | None = None) -> list[dict]:
        """The least-privilege IAM policies of the pipeline (detector, page), or just `only`."""
        from fmkit.bucket.policy import policies

        return policies(uri, only)


def _bucket_store(options: dict[str, Any]):
    """An S3 store for the bucket commands: endpoint_url, profile (the AWS one), region."""
    from fmkit.io.s3 import S3Store

    return S3Store(**{k: v for k, v in options.items() if v is not None})
