"""The ``inventory`` input's settings: which accounts, through which role, in which regions, how often per type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from monitor.yamlfiles.durations import parse_duration
from monitor.yamlfiles.models import Closed

ResourceTypeName = Literal["aws.s3", "aws.dynamodb", "aws.ec2", "gcp.storage", "gcp.compute"]
DEFAULT_TYPES: dict[str, tuple[ResourceTypeName, ...]] = {
    "aws": ("aws.s3", "aws.dynamodb", "aws.ec2"), "gcp": ("gcp.storage", "gcp.compute")}
DEFAULT_EVERY = "15m"


def _duration(text: str) -> str:
    if parse_duration(text) <= 0:
        raise ValueError(f"{text!r} must be longer than nothing")
    return text


class Schedule(Closed):
    every: Annotated[str, AfterValidator(_duration)] = DEFAULT_EVERY


class InventoryInput(Closed):
    type: Literal["inventory"] = "inventory"
    provider: Literal["aws", "gcp"] = "aws"
    projects: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]] = Field(
        default=[], description="Google Cloud project ids (provider: gcp)")
    accounts: list[Annotated[str, Field(pattern=r"^\d{12}$")]] = Field(
        default=[], description="AWS account ids; empty: the account of the default credentials")
    role: str | None = Field(default=None, description="role ARN to assume in each account, '{account}' filled in")
    regions: list[str] = Field(default=["us-east-1"], min_length=1)
    resources: dict[ResourceTypeName, Schedule] = Field(
        default={}, description="the types listed, each on its own schedule; empty: every type of the provider")
    reconcile: bool = Field(default=True, description="mark changes no pushed event explains details.unexplained")
    endpoint_url: str | None = Field(
        default=None, description="a local endpoint for every service (moto; for gcp, called without credentials)")

    @field_validator("role")
    @classmethod
    def _role_template(cls, role: str | None) -> str | None:
        if role is not None and not role.startswith("arn:"):
            raise ValueError(f"{role!r} is not a role ARN (arn:aws:iam::{{account}}:role/NAME)")
        return role

    @model_validator(mode="after")
    def _consistent(self) -> InventoryInput:
        if self.accounts and not self.role:
            raise ValueError("accounts need a role to assume in each (role: arn:aws:iam::{account}:role/NAME)")
        if self.provider == "gcp" and not self.projects:
            raise ValueError("provider gcp needs projects: [PROJECT_ID, ...]")
        foreign = [name for name in self.resources if not name.startswith(self.provider + ".")]
        if foreign:
            raise ValueError(f"resources {', '.join(foreign)} are not of provider {self.provider}")
        return self

    def types(self) -> dict[str, Schedule]:
        """Each resource type listed, with its schedule."""
        if self.resources:
            return {str(name): schedule for name, schedule in self.resources.items()}
        return {name: Schedule() for name in DEFAULT_TYPES[self.provider]}

    def seconds(self, resource_type: str) -> float:
        return parse_duration(self.types()[resource_type].every)
