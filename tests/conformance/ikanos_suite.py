"""The Ikanos half of the conformance suite: the documents naftiko/ikanos publishes at beta3, beta4 and beta5
(ikanos/SOURCES.md), with what its engine does with each (`Entry` as in `tests.conformance.suite`)."""

from __future__ import annotations

from pathlib import Path

from tests.conformance.suite import Entry

DATA = Path(__file__).parent / "ikanos"
VERSIONS = ("v1.0.0-beta3", "v1.0.0-beta4", "v1.0.0-beta5")
E2E_FROM = "v1.0.0-beta4"  # the end-to-end features first appear at beta4

TUTORIAL_STEPS = (
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
SHARED = (
    "legacy-consumes.yaml",
    "registry-consumes.yaml",
    "step11-registry-consumes.yml",
    "step5-registry-consumes.yaml",
    "step6-registry-consumes.yaml",
    "step7-registry-consumes.yml",
)
ENGINE_TESTS = (
    "aggregates/aggregate-basic.yaml",
    "aggregates/aggregate-hints-override.yaml",
    "aggregates/aggregate-shared-mock.yaml",
    "aggregates/aggregate-step-with-namespace.yaml",
    "control/control-capability.yaml",
    "control/control-observability-disabled.yaml",
    "control/control-scripting-capability.yaml",
    "embedding/embedding-capability.yaml",
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
    "skill-capability.yaml",
)
ENGINE_IMPORTS = (  # leaf files of each importable section, for documents that `import:` from them
    "imports/aggregates/shared.aggregates.yml",
    "imports/binds/shared.binds.yml",
    "imports/consumes/shared-clients.yml",
    "imports/consumes/shared.consumes.yml",
    "imports/exposes/shared-servers.yml",
    "imports/exposes/shared.exposes.yml",
    "imports/invalid/empty-section.consumes.yml",
    "imports/invalid/malformed.yml",
)
SAMPLES = (  # the upstream answers the engine's format tests read
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

DOCS_TUTORIAL = "modules/ikanos-docs/tutorial"
ENGINE = "modules/ikanos-engine/src/test/resources"
EXAMPLES = "modules/ikanos-spec/src/main/resources/schemas/examples"
E2E = ".github/e2e/resources"
BINARY = "binary content (`outputRawFormat: binary`, `outputMediaType`, `maxBinarySize`) is not served by capgate"


def _version(version: str) -> tuple[list[Entry], list[str], list[str]]:
    """The documents, imported files and data files of one version's folder."""
    tutorials = [DOCS_TUTORIAL, f"{ENGINE}/tutorial"]
    documents = [Entry(f"{version}/{tutorial}/step-{step}.yml") for tutorial in tutorials for step in TUTORIAL_STEPS]
    documents += [Entry(f"{version}/{ENGINE}/{name}") for name in ENGINE_TESTS]
    # The engine's own tests expect these refused (BaseUriTrailingSlashIntegrationTest, AggregateIntegrationTest).
    documents += [
        Entry(
            f"{version}/{ENGINE}/baseuri-trailing-slash-capability.yaml",
            refused="baseUri must not end with a trailing slash",
        ),
        Entry(
            f"{version}/{ENGINE}/aggregates/aggregate-invalid-ref.yaml",
            refused="unknown aggregate function ref: 'unknown.nonexistent'",
        ),
        Entry(f"{version}/{EXAMPLES}/capability-binary-content.yml", gap=BINARY),
        Entry(f"{version}/{EXAMPLES}/reverse-tunnel-ziti.yml", gap="a reverse tunnel (`tunnel`, OpenZiti)"),
    ]
    imported = [f"{version}/{tutorial}/shared/{name}" for tutorial in tutorials for name in SHARED]
    imported += [f"{version}/{ENGINE}/{name}" for name in ENGINE_IMPORTS]
    data = [f"{version}/{tutorial}/shared/secrets.yaml" for tutorial in tutorials]
    data += [f"{version}/{ENGINE}/schemas/{name}" for name in SAMPLES]
    if version >= E2E_FROM:
        documents.append(Entry(f"{version}/{E2E}/features/exposed-oauth2/capability.yml"))
        data.append(f"{version}/{E2E}/shared/secrets.yaml")
    return documents, imported, data


DOCUMENTS: list[Entry] = [entry for version in VERSIONS for entry in _version(version)[0]]
IMPORTED: list[str] = [name for version in VERSIONS for name in _version(version)[1]]
DATA_FILES: list[str] = [name for version in VERSIONS for name in _version(version)[2]]


def path(relative: str) -> Path:
    return DATA / relative
