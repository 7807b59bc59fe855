"""``monitor sigma FILE|DIR...``: Sigma rules for aws/cloudtrail and gcp/gcp.audit as a cloud-monitor rule file."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sigma")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="write the rule file here instead of printing it")
def sigma(paths: tuple[str, ...], output: Path | None) -> None:
    """Convert Sigma rules (aws/cloudtrail, gcp/gcp.audit) into rules; say what cannot be converted and why."""
    from monitor.sigma.convert import convert_paths, rule_file

    result = convert_paths(paths)
    for problem in result.problems:
        click.echo(f"cannot convert {problem}", err=True)
    if result.rules:
        text = rule_file(result.rules)
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text)
    click.echo(f"{len(result.rules)} converted, {len(result.problems)} not converted", err=True)
    if not result.rules:
        raise SystemExit(1)
