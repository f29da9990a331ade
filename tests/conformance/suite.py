"""The conformance suite: every document the Naftiko format's own project publishes (naftiko/SOURCES.md),
with what its reference engine does with it.

A document is `served` (the engine loads it), `refused` with the engine's reason (capgate must refuse it for
the same reason), or a `gap`: the engine serves it and capgate cannot, said why (docs/format.md). Files that
are not capability documents are listed too, so that a new file in the data cannot go unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "naftiko"
ALPHA1 = "v1.0.0-alpha1/src"
ALPHA2 = "v1.0.0-alpha2/src"


@dataclass(frozen=True)
class Entry:
    path: str  # under DATA
    refused: str | None = None  # the reason the reference engine refuses it; capgate's error says it too
    gap: str | None = None  # the engine serves it, capgate refuses it: what capgate says


def _served(*paths: str) -> list[Entry]:
    return [Entry(path) for path in paths]


TUTORIAL1 = f"{ALPHA1}/main/resources/tutorial"
TUTORIAL2 = f"{ALPHA2}/main/resources/tutorial"
EXAMPLES1 = f"{ALPHA1}/main/resources/schemas/examples"
EXAMPLES2 = f"{ALPHA2}/main/resources/schemas/examples"
TESTS1 = f"{ALPHA1}/test/resources"
TESTS2 = f"{ALPHA2}/test/resources"

DOCUMENTS: list[Entry] = [
    *_served(
        *(
            f"{TUTORIAL1}/step-{name}.yml"
            for name in (
                "1-shipyard-first-capability",
                "2-shipyard-input-parameters",
                "3-shipyard-auth-and-binds",
                "4-shipyard-output-shaping",
                "5-shipyard-multi-source",
                "6-shipyard-write-operations",
                "7-shipyard-orchestrated-lookup",
                "8-shipyard-skill-groups",
                "9-shipyard-rest-adapter",
                "10-shipyard-fleet-manifest",
            )
        ),
        *(
            f"{EXAMPLES1}/{name}.yml"
            for name in (
                "cir",
                "multi-consumes-rest-adapter",
                "multi-consumes-with-auth",
                "no-adapter",
                "notion-sandbox",
                "notion",
                "skill-adapter",
            )
        ),
        *(
            f"{TESTS1}/{name}"
            for name in (
                "avro-capability.yaml",
                "csv-capability.yaml",
                "http-body-capability.yaml",
                "http-forward-value-capability.yaml",
                "http-header-query-capability.yaml",
                "mcp-capability.yaml",
                "mcp-resources-prompts-capability.yaml",
                "mcp-stdio-capability.yaml",
                "nested-object-output-capability.yaml",
                "proto-capability.yaml",
                "register.capability.yml",
                "skill-capability.yaml",
                "tool-handler-with-mustache-capability.yaml",
                "xml-capability.yaml",
                "yaml-capability.yaml",
            )
        ),
        *(
            f"{TUTORIAL2}/step-{name}.yml"
            for name in (
                "1-shipyard-mock",
                "2-shipyard-wiring",
                "3-shipyard-auth",
                "4-shipyard-output-shaping",
                "5-shipyard-multi-source",
                "6-shipyard-write-operations",
                "7-shipyard-orchestrated-lookup",
                "8-shipyard-skill-groups",
                "9-shipyard-aggregates",
                "10-shipyard-rest-adapter",
                "11-shipyard-fleet-manifest",
            )
        ),
        f"{EXAMPLES2}/forecast-aggregate.yml",
        *(
            f"{TESTS2}/{name}"
            for name in (
                "aggregates/aggregate-basic.yaml",
                "aggregates/aggregate-hints-override.yaml",
                "aggregates/aggregate-shared-mock.yaml",
                "aggregates/aggregate-step-with-namespace.yaml",
                "control/control-capability.yaml",
                "control/control-observability-disabled.yaml",
                "control/control-scripting-capability.yaml",
                "formats/avro-capability.yaml",
                "formats/csv-capability.yaml",
                "formats/html-capability.yaml",
                "formats/markdown-capability.yaml",
                "formats/proto-capability.yaml",
                "formats/xml-capability.yaml",
                "formats/yaml-capability.yaml",
                "http/http-body-capability.yaml",
                "http/http-forward-value-capability.yaml",
                "http/http-header-query-capability.yaml",
                "mcp/mcp-capability.yaml",
                "mcp/mcp-hints-capability.yaml",
                "mcp/mcp-resources-prompts-capability.yaml",
                "mcp/mcp-stdio-capability.yaml",
                "mcp/mcp-step-with-namespace-capability.yaml",
                "mcp/mcp-tool-handler-with-mustache-capability.yaml",
                "nested-object-output-capability.yaml",
                "observability/observability-capability.yaml",
                "observability/observability-disabled.yaml",
                "register.capability.yml",
                "rules/spectral-semantics-consistent.yaml",
                "rules/spectral-semantics-inconsistent.yaml",
                "skill-capability.yaml",
            )
        ),
    ),
    # The reference engine's own tests expect these to be refused (BaseUriTrailingSlashIntegrationTest,
    # AggregateIntegrationTest).
    Entry(f"{TESTS2}/baseuri-trailing-slash-capability.yaml", refused="baseUri must not end with a trailing slash"),
    Entry(
        f"{TESTS2}/aggregates/aggregate-invalid-ref.yaml",
        refused="unknown aggregate function ref: 'unknown.nonexistent'",
    ),
    Entry(f"{EXAMPLES2}/script-step.yml", gap="script steps (javascript) are not run by capgate"),
]

# Consumed namespaces that tutorial documents import (`consumes: - import: ..., location: ./shared/...`).
IMPORTED = [
    f"{tutorial}/shared/{name}"
    for tutorial, names in (
        (
            TUTORIAL1,
            (
                "legacy-consumes.yaml",
                "registry-consumes.yaml",
                "step10-registry-consumes.yml",
                "step5-registry-consumes.yaml",
                "step6-registry-consumes.yaml",
                "step7-registry-consumes.yml",
            ),
        ),
        (
            TUTORIAL2,
            (
                "legacy-consumes.yaml",
                "registry-consumes.yaml",
                "step11-registry-consumes.yml",
                "step5-registry-consumes.yaml",
                "step6-registry-consumes.yaml",
                "step7-registry-consumes.yml",
            ),
        ),
    )
    for name in names
]

# Data, not documents: the tutorial's bind file, and the upstream answers the engine's format tests read.
DATA_FILES = [
    f"{TUTORIAL1}/shared/secrets.yaml",
    f"{TUTORIAL2}/shared/secrets.yaml",
    *(f"{TESTS1}/schemas/{name}" for name in ("sample-users.csv", "sample-users.xml", "sample-users.yaml")),
    *(f"{TESTS1}/schemas/{name}" for name in ("test-records.avsc", "test-records.proto")),
    *(
        f"{TESTS2}/schemas/{name}"
        for name in (
            "sample-products.html",
            "sample-readme.md",
            "sample-users.csv",
            "sample-users.psv",
            "sample-users.tsv",
            "sample-users.xml",
            "sample-users.yaml",
            "test-records.avsc",
            "test-records.proto",
        )
    ),
]


def path(relative: str) -> Path:
    return DATA / relative
