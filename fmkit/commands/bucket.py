"""`fmkit bucket init|check|policy`: set up and verify the S3 bucket of the detection pipeline.

Thin: options -> one library call (fmkit/bucket/) -> lines for people or JSON. boto3 is
imported only when a command runs, so `fmkit bucket --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from fmkit import output
from fmkit.commands.common import JsonOpt, fmkit_command

bucket_app = typer.Typer(
    help="Set up and check the S3 bucket of the detection pipeline (uploads/ -> fmkit detect -> results/).",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
)

UriArg = Annotated[str, typer.Argument(metavar="s3://BUCKET[/PREFIX]",
                                       help="The bucket (a prefix holds uploads/ and results/ under it).")]
OriginOpt = Annotated[Optional[str], typer.Option(
    "--origin", metavar="URL", help="The web page's origin, e.g. https://course.example.org (for CORS).")]
EndpointOpt = Annotated[Optional[str], typer.Option(
    "--endpoint-url", metavar="URL", help="An S3-compatible server (default: AWS_ENDPOINT_URL_S3, "
    "AWS_ENDPOINT_URL, else AWS).", rich_help_panel="AWS")]
AwsProfileOpt = Annotated[Optional[str], typer.Option(
    "--aws-profile", metavar="NAME", help="Profile in ~/.aws/credentials or ~/.aws/config (default: AWS_PROFILE).",
    rich_help_panel="AWS")]
RegionOpt = Annotated[Optional[str], typer.Option(
    "--region", metavar="REGION", help="AWS region (default: the profile's or AWS_REGION, else us-east-1).",
    rich_help_panel="AWS")]

_MARKS = {"pass": "[green]✓[/green]", "created": "[green]✓[/green]", "set": "[green]✓[/green]",
          "exists": "[green]✓[/green]", "fail": "[bold red]✗[/bold red]", "warn": "[yellow]![/yellow]",
          "unsupported": "[yellow]![/yellow]", "skip": "[dim]-[/dim]"}


def _session():
    from fmkit.api import Session

    return Session(notify=lambda message: output.notice(message), option_source="command option")


def _line(label: str, row: dict[str, Any]) -> None:
    from rich.markup import escape

    text = f"{_MARKS.get(row['status'], '?')} {escape(label)}: {escape(row['detail'])}"
    if row.get("fix"):
        text += f" [dim](fix: {escape(row['fix'])})[/dim]"
    output.stdout_console().print(text, soft_wrap=True)


@bucket_app.command("init")
@fmkit_command
def init(uri: UriArg, origin: OriginOpt = None, endpoint_url: EndpointOpt = None,
         aws_profile: AwsProfileOpt = None, region: RegionOpt = None, json_: JsonOpt = False) -> None:
    """Create the bucket (if missing), its uploads/ and results/ folders, and a CORS rule for --origin."""
    steps = _session().bucket_init(uri, origin, endpoint_url=endpoint_url, profile=aws_profile, region=region)
    for step in steps:
        output.emit_json(step) if json_ else _line(step["step"], step)


@bucket_app.command("check")
@fmkit_command
def check(uri: UriArg, origin: OriginOpt = None, endpoint_url: EndpointOpt = None,
          aws_profile: AwsProfileOpt = None, region: RegionOpt = None, json_: JsonOpt = False) -> None:
    """Where the credentials come from, then pass/fail for each thing the pipeline does. Exit 1 on a failure."""
    failed = 0
    rows = _session().bucket_check(uri, origin, endpoint_url=endpoint_url, profile=aws_profile, region=region)
    for row in rows:
        failed += row["status"] == "fail"
        output.emit_json(row) if json_ else _line(row["check"], row)
    if failed:
        if not json_:
            output.stderr_console().print(f"[bold red]{failed} check(s) failed[/bold red]")
        raise typer.Exit(1)


OnlyOpt = Annotated[Optional[str], typer.Option(
    "--only", metavar="detector|page", help="Print just this policy's JSON (for a file or the aws CLI).")]


@bucket_app.command("policy")
@fmkit_command
def policy(uri: UriArg, only: OnlyOpt = None, json_: JsonOpt = False) -> None:
    """Print least-privilege IAM policies: one for the detector, a read-only one for the web page."""
    import json

    items = _session().bucket_policy(uri, only)
    if only is not None and not json_:
        print(json.dumps(items[0]["policy"], indent=2))
        return
    for item in items:
        if json_:
            output.emit_json(item)
        else:
            # Plain text (no markup, no wrapping): ready to paste into the IAM console's JSON editor.
            print(f"# {item['name']}: {item['for']}")
            print(json.dumps(item["policy"], indent=2))
