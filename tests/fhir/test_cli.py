"""The command line on a FHIR group: ``frontdesk integration fhir-key`` stores a generated
key pair and prints the JWKS URL; ``frontdesk admin rotate-key`` re-encrypts that key (and
it still signs, with the same ``kid``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.access.principal import Principal
from frontdesk.cli.main import app
from frontdesk.composition import Role, running
from frontdesk.connectors.fhir.keys import load_signing_key
from frontdesk.context import AppContext
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput, create_group, group_properties
from frontdesk.security.secrets import SecretBox
from frontdesk.settings import OutboundSettings, Settings

ENTERPRISE = "149547879572960"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDESK_PUBLIC_URL", "https://frontdesk.example")
    monkeypatch.delenv("FRONTDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def _fhir_group(settings: Settings) -> int:
    ctx = await AppContext.open(settings)
    try:
        async with running(ctx, Role.CLI) as process, ctx.db.transaction() as session:
            group = await create_group(
                session,
                principal=Principal.system("test"),
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=process.plugins,
                outbound=process.outbound,
                parent_business_number=int(ENTERPRISE),
                source_id=33,
                triggers=[TriggerRef(trigger_id=57, trigger_type_id=1)],
                properties=[
                    PropertyInput("fhir.base.url", "https://ehr.example/fhir/r4"),
                    PropertyInput("fhir.client.id", "frontdesk"),
                ],
            )
            return group.id
    finally:
        await ctx.close()


async def _key(settings: Settings, group: int, secrets: SecretBox | None = None) -> str:
    ctx = await AppContext.open(settings)
    try:
        async with ctx.db.reader() as session:
            values = await group_properties(session, group_id=group, secrets=secrets or ctx.secrets)
        return values["fhir.private.key"]
    finally:
        await ctx.close()


def test_fhir_key_then_rotate_key(runner: CliRunner, tmp_path: Path) -> None:
    invoke(runner, "db", "upgrade")
    invoke(runner, "business", "add", "--number", ENTERPRISE, "--name", "Harbor")
    settings = Settings(
        data_dir=tmp_path / "data", outbound=OutboundSettings(allowed_hosts="ehr.example")
    )
    group = asyncio.run(_fhir_group(settings))
    out = invoke(runner, "integration", "fhir-key", "--group", str(group))
    assert f"https://frontdesk.example/fhir/jwks/{group}.json" in " ".join(out.split())
    pem = asyncio.run(_key(settings, group))
    assert "BEGIN PRIVATE KEY" in pem
    assert "PRIVATE KEY" not in out  # the key is stored, never printed
    kid = load_signing_key(pem).kid
    assert kid in out

    invoke(runner, "admin", "rotate-key", "--drop-old")
    new_keys = (tmp_path / "data" / "secret.keys").read_text().split()
    assert len(new_keys) == 1
    rotated = asyncio.run(_key(settings, group, SecretBox([k.encode() for k in new_keys])))
    assert rotated == pem
    assert load_signing_key(rotated).kid == kid
