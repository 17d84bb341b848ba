"""The API fuzzed from its own OpenAPI schema (schemathesis): no 500s, and every answer matches the schema.

Each operation gets a bounded number of generated requests from every kind of caller (anonymous, parent,
school operator, agency admin). Half of the requests aim at objects that exist (the open period, a real
registration, a real school), so the fuzzer reaches the code behind the 404s.
"""

from __future__ import annotations

import contextlib
import itertools

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig

from tests.helpers import open_period, registration

EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}  # per operation and caller
load_all_checks()
CHECKS = REGISTRY.get_all()
"""Every check schemathesis has (`st run --checks all`)."""
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}}}
)
"""A well-formed request may still be refused by a rule the schema cannot state (a NIK registered elsewhere, a
closed period, a wrong PIN, a throttle): with its own code and status, documented on every route. A 400 for a
request the schema calls well formed stays a failure: the schema would be wrong."""


def generated(operation) -> list:
    cases = []
    for mode, count in EXAMPLES.items():
        cases += _draw(operation, mode, count)
    return cases


def _draw(operation, mode: GenerationMode, count: int) -> list:
    cases = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def collect(case) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, no body)
        collect()
    return cases


def aim_at_real_objects(case, real: dict[str, str]) -> None:
    for name in case.path_parameters or {}:
        if name in real:
            case.path_parameters[name] = real[name]


async def send(client: httpx.AsyncClient, case, headers: dict[str, str]) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
    kwargs.pop("cookies", None)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    return await client.request(**kwargs)


async def test_every_operation_survives_generated_requests_from_every_role(admin, parent, operator, client, transport):
    period = await open_period(admin)
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=registration())
    assert created.status_code == 201, created.text
    uploaded = await parent.put(
        f"/api/applications/{created.json()['registration_number']}/documents/kk", content=b"%PDF-1.4 fuzz"
    )
    assert uploaded.status_code == 200, uploaded.text
    school = await operator()
    real = {
        "period_id": str(period["id"]),
        "registration_number": created.json()["registration_number"],
        "npsn": "20670001",
        "kind": "kk",
        "run_id": "1",
    }
    callers = {
        "anonymous": {},
        "parent": dict(parent.headers),
        "operator": dict(school.headers),
        "admin": dict(admin.headers),
    }
    callers = {
        role: {k: v for k, v in headers.items() if k.lower() == "authorization"} for role, headers in callers.items()
    }

    schema = schemathesis.openapi.from_dict(transport.app.openapi_schema.to_schema(), config=CONFIG)
    failures, sent = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for role, headers in callers.items():
            if operation.definition.raw.get("operationId") == "logOut" and headers:
                continue  # would end the session the rest of the run relies on
            for index, case in zip(itertools.count(), generated(operation)):
                if index % 2 == 0 and case.meta.generation.mode.is_positive:  # an invalid one stays invalid
                    aim_at_real_objects(case, real)
                response = await send(client, case, headers)
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as failure:  # collect all, report together
                    failures.append(
                        f"{role} {operation.label} -> {response.status_code}: "
                        f"{str(failure).splitlines()[0][:200]}\n    {case.as_curl_command()[:300]}"
                    )
    await school.aclose()
    assert sent > 400
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


def test_error_responses_are_documented_with_the_real_error_body(transport):
    """Regression: the schema used to promise Litestar's default 400 body and no other error status."""
    schema = transport.app.openapi_schema.to_schema()
    assert set(schema["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message"}
    for path in schema["paths"].values():
        for operation in path.values():
            for status in ("400", "401", "404", "409", "422"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, operation["operationId"]
