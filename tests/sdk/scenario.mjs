// The official-SDK scenario: drives the Trigger.dev runs API with @trigger.dev/sdk and
// @trigger.dev/core exactly as a user would, and checks that every response is accepted by the
// SDK's own zod schemas and behaves as the live service does (shared/reference/trigger-dev-runs-api.md).
//
//   node scenario.mjs [direct|gateway] [--suite main|ratelimit]
//
// Environment:
//   TRIGGER_API_URL        base URL the runs calls go to (the emulator, or the gateway's REST facade + "/v1")
//   TRIGGER_SECRET_KEY     key sent with those calls (through the gateway it can be any tr_dev_… string)
//   TRIGGER_OTHER_KEY      optional: a second emulator key (another environment), for the isolation checks
//
// Prints one JSON summary line on stdout; failures are also described on stderr. Exit code 1 on failure.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { configure, runs, tasks } from "@trigger.dev/sdk";
import {
  ApiClient,
  ApiError,
  assembleRunTracePages,
  ApiSchemaValidationError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  RateLimitError,
  UnprocessableEntityError,
} from "@trigger.dev/core/v3";

// ---------------------------------------------------------------------------------------------
// Configuration

const argv = process.argv.slice(2);
const MODE = argv.find((a) => a === "direct" || a === "gateway") ?? process.env.SCENARIO_MODE ?? "direct";
const suiteIndex = argv.indexOf("--suite");
const SUITE = suiteIndex >= 0 ? argv[suiteIndex + 1] : (process.env.SCENARIO_SUITE ?? "main");

function requireEnv(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (!value) {
    console.error(`scenario: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

const BASE_URL = requireEnv("TRIGGER_API_URL").replace(/\/$/, "");
const SECRET_KEY = requireEnv("TRIGGER_SECRET_KEY");
const OTHER_KEY = process.env.TRIGGER_OTHER_KEY;

if (!["direct", "gateway"].includes(MODE)) {
  console.error(`scenario: mode must be "direct" or "gateway", not ${JSON.stringify(MODE)}`);
  process.exit(2);
}
if (!["main", "ratelimit"].includes(SUITE)) {
  console.error(`scenario: --suite must be "main" or "ratelimit", not ${JSON.stringify(SUITE)}`);
  process.exit(2);
}

const NO_RETRY = { retry: { maxAttempts: 1 } };
configure({ baseURL: BASE_URL, secretKey: SECRET_KEY, requestOptions: NO_RETRY });

// Runs are created through the base under test too: the gateway serves the trigger route.
const TRIGGER_CLIENT_CONFIG = { baseURL: BASE_URL, secretKey: SECRET_KEY, requestOptions: NO_RETRY };
// The raw ApiClient from @trigger.dev/core/v3, pointed at the base under test (for addTags and raw calls).
const client = new ApiClient(BASE_URL, SECRET_KEY, undefined, NO_RETRY);

// ---------------------------------------------------------------------------------------------
// Constants from the reference (§2, §3) and the SDK's schemas

const RUN_ID = /^run_[a-z0-9]{25,26}$/;
const STATUSES = [
  "PENDING_VERSION",
  "QUEUED",
  "DEQUEUED",
  "EXECUTING",
  "WAITING",
  "COMPLETED",
  "CANCELED",
  "FAILED",
  "CRASHED",
  "SYSTEM_FAILURE",
  "DELAYED",
  "EXPIRED",
  "TIMED_OUT",
];
const FINAL = new Set(["COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"]);
const DAY = 24 * 60 * 60 * 1000;
const SLACK = 5_000; // clock slack between this process and the server, in ms

function expectedHelpers(status) {
  const isCompleted = ["COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE"].includes(status);
  return {
    isQueued: ["QUEUED", "DELAYED", "PENDING_VERSION"].includes(status),
    isExecuting: ["EXECUTING", "DEQUEUED"].includes(status),
    isWaiting: status === "WAITING",
    isCompleted,
    isSuccess: isCompleted && status === "COMPLETED",
    isFailed: isCompleted && status !== "COMPLETED",
    isCancelled: status === "CANCELED",
  };
}

// ---------------------------------------------------------------------------------------------
// Harness

const results = [];
const notes = [];
const S = {}; // state shared between steps

function describeError(error) {
  if (error instanceof ApiSchemaValidationError) {
    let raw;
    try {
      raw = JSON.stringify(error.rawBody);
    } catch {
      raw = String(error.rawBody);
    }
    return (
      `ApiSchemaValidationError: the SDK's zod parse REJECTED a ${error.status} response: ${error.message}` +
      ` | raw body: ${truncate(raw, 900)}`
    );
  }
  if (error instanceof ApiError) {
    let body;
    try {
      body = JSON.stringify(error.body ?? error.error);
    } catch {
      body = "?";
    }
    return `${error.constructor.name} (HTTP ${error.status}): ${error.message} | body: ${truncate(body, 600)}`;
  }
  if (error instanceof assert.AssertionError) return `assertion failed: ${error.message}`;
  if (error instanceof Error && error.name === "ChecksFailed") return error.message;
  if (error instanceof Error)
    return `${error.name}: ${error.message}\n${(error.stack ?? "").split("\n").slice(1, 4).join("\n")}`;
  return String(error);
}

function truncate(text, n) {
  return text && text.length > n ? `${text.slice(0, n)}…(${text.length} chars)` : text;
}

async function step(name, fn, { modes } = {}) {
  if (modes && !modes.includes(MODE)) {
    results.push({ name, skipped: `only in ${modes.join("/")} mode` });
    return;
  }
  const started = performance.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Math.round(performance.now() - started) });
  } catch (error) {
    const message = describeError(error);
    results.push({ name, ok: false, ms: Math.round(performance.now() - started), error: message });
    console.error(`FAIL [${MODE}/${SUITE}] ${name}\n  ${message.replace(/\n/g, "\n  ")}`);
  }
}

function need(...keys) {
  for (const key of keys) {
    if (S[key] === undefined) throw new Error(`prerequisite missing: ${key} (an earlier step failed)`);
  }
}

/** Runs independent checks of one step; all of them run, and the step fails listing every failed one. */
async function checks(list) {
  const failures = [];
  for (const [label, fn] of list) {
    try {
      await fn();
    } catch (error) {
      failures.push(`[${label}] ${describeError(error)}`);
    }
  }
  if (failures.length) {
    const error = new Error(`${failures.length} of ${list.length} checks failed:\n${failures.join("\n")}`);
    error.name = "ChecksFailed";
    throw error;
  }
}

/** Calls `fn`, expects it to throw an SDK error of class `Cls` with `status` (and `message`). */
async function expectApiError(fn, Cls, { status, message, what }) {
  let error;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  const label = what ?? `${Cls.name} ${status}`;
  assert.ok(error, `${label}: expected ${Cls.name} (HTTP ${status}) but the call succeeded`);
  if (error instanceof ApiSchemaValidationError || !(error instanceof ApiError)) throw error;
  const got = () =>
    `got ${error.constructor.name} (HTTP ${error.status}) "${error.message}", body ${truncate(JSON.stringify(error.body ?? null), 700)}`;
  assert.ok(error instanceof Cls, `${label}: expected ${Cls.name} (HTTP ${status}), ${got()}`);
  assert.equal(error.status, status, `${label}: status; ${got()}`);
  if (message !== undefined && error.message !== message) {
    assert.fail(
      `${label}: expected the message ${JSON.stringify(message)} (the SDK takes it from the body's "error"), ${got()}`,
    );
  }
  return error;
}

/**
 * Through the gateway, input the default document declares invalid is refused before any upstream call: a 400
 * problem+json whose `error` (the SDK's message) and `errors[].name` name the parameter.
 */
async function expectGatewayRefusal(fn, name, reason) {
  const e = await expectApiError(fn, BadRequestError, { status: 400, what: `gateway refusal of ${name}` });
  assert.ok(e.message.includes(name) && e.message.includes(reason), `the message names ${name} and says "${reason}": ${e.message}`);
  assert.ok((e.body?.errors ?? []).some((x) => x.name.startsWith(name)), `errors[] names ${name}: ${JSON.stringify(e.body)}`);
  return e;
}

function header(error, name) {
  return error.headers ? error.headers[name] : undefined;
}

/** Reads the raw JSON next to the SDK's parsed value (the SDK parses a clone, the original stays readable). */
async function withRaw(apiPromise) {
  const { data, response } = await apiPromise.withResponse();
  const json = await response.json();
  return { data, json, response };
}

function assertNoTopLevelNulls(object, where) {
  for (const [key, value] of Object.entries(object)) {
    assert.notEqual(value, null, `${where}: field "${key}" is null (optional fields must be omitted, never null)`);
  }
}

function assertDate(value, field, where, { optional = false } = {}) {
  if (value === undefined && optional) return;
  assert.ok(value instanceof Date, `${where}: ${field} should parse to a Date, got ${value}`);
  assert.ok(!Number.isNaN(value.getTime()), `${where}: ${field} is an invalid date`);
  // z.coerce.date() turns null into 1970-01-01: catch that here.
  assert.ok(
    value.getTime() > Date.UTC(2000, 0, 1),
    `${where}: ${field} is ${value.toISOString()} (a null coerced to a date?)`,
  );
}

/** Checks one run object (list item, retrieve response, related run) beyond what zod enforces. */
function checkRunShape(run, where, { list = false } = {}) {
  assert.match(run.id, RUN_ID, `${where}: id ${run.id} is not in the live run-id format`);
  assert.ok(STATUSES.includes(run.status), `${where}: status ${run.status}`);
  const helpers = expectedHelpers(run.status);
  for (const [key, value] of Object.entries(helpers)) {
    assert.equal(run[key], value, `${where}: ${key} for status ${run.status} should be ${value} (reference §3)`);
  }
  for (const field of ["createdAt", "updatedAt"]) assertDate(run[field], field, where);
  for (const field of ["startedAt", "finishedAt", "delayedUntil", "expiredAt"]) {
    assertDate(run[field], field, where, { optional: true });
  }
  assert.ok(Array.isArray(run.tags), `${where}: tags must be an array`);
  const sorted = [...run.tags].sort((a, b) => a.localeCompare(b));
  assert.deepEqual(run.tags, sorted, `${where}: tags must be sorted with localeCompare (reference §4.1)`);
  for (const field of ["costInCents", "baseCostInCents", "durationMs"]) {
    assert.equal(typeof run[field], "number", `${where}: ${field} must be a number`);
  }
  if (list) {
    assert.equal(typeof run.env?.id, "string", `${where}: env.id`);
    assert.equal(typeof run.env?.name, "string", `${where}: env.name`);
    if (FINAL.has(run.status)) {
      assert.ok(
        run.finishedAt,
        `${where}: a ${run.status} list item should carry finishedAt (completedAt ?? updatedAt)`,
      );
    } else {
      assert.equal(run.finishedAt, undefined, `${where}: a ${run.status} (non-final) run has no finishedAt`);
    }
  }
  if (run.status === "DELAYED") assert.ok(run.delayedUntil, `${where}: a DELAYED run carries delayedUntil`);
}

function checkRetrieveShape(run, where) {
  checkRunShape(run, where);
  assert.equal(typeof run.depth, "number", `${where}: depth`);
  assert.ok(["trigger", "triggerAndWait", "batchTrigger", "batchTriggerAndWait"].includes(run.triggerFunction));
  assert.equal(typeof run.attemptCount, "number", `${where}: attemptCount`);
  assert.equal(typeof run.relatedRuns, "object", `${where}: relatedRuns`);
  for (const key of ["root", "parent"]) {
    if (run.relatedRuns[key]) checkRunShape(run.relatedRuns[key], `${where}.relatedRuns.${key}`);
  }
  for (const [i, child] of (run.relatedRuns.children ?? []).entries()) {
    checkRunShape(child, `${where}.relatedRuns.children[${i}]`);
  }
  if (run.output !== undefined) {
    assert.equal(run.status, "COMPLETED", `${where}: output is only sent for COMPLETED runs (reference §4.2)`);
  }
  if (run.error !== undefined) assert.equal(typeof run.error.message, "string", `${where}: error.message`);
  assert.equal(run.payloadPresignedUrl, undefined, `${where}: no presigned payload URL expected from the emulator`);
  assert.equal(run.outputPresignedUrl, undefined, `${where}: no presigned output URL expected from the emulator`);
}

function assertNewestFirst(items, where) {
  for (let i = 1; i < items.length; i++) {
    assert.ok(
      items[i - 1].createdAt.getTime() >= items[i].createdAt.getTime(),
      `${where}: not newest-first at index ${i} (${items[i - 1].id} ${items[i - 1].createdAt.toISOString()} ` +
        `before ${items[i].id} ${items[i].createdAt.toISOString()})`,
    );
  }
}

function assertUnique(ids, where) {
  const seen = new Set();
  for (const id of ids) {
    assert.ok(!seen.has(id), `${where}: duplicate run ${id}`);
    seen.add(id);
  }
}

function sameSet(actual, expected, where) {
  assert.deepEqual([...actual].sort(), [...expected].sort(), where);
}

/** All items of a filtered listing (auto-paginating with for-await, pages of 100 unless told), bounded. */
async function listAll(params, bound = 500) {
  const items = [];
  for await (const run of runs.list({ limit: 100, ...params })) {
    items.push(run);
    if (items.length >= bound) break;
  }
  return items;
}

function trigger(taskId, payload, options) {
  return tasks.trigger(taskId, payload, options, { clientConfig: TRIGGER_CLIENT_CONFIG });
}

function near(actualMs, expectedMs, toleranceMs, what) {
  assert.ok(
    Math.abs(actualMs - expectedMs) <= toleranceMs,
    `${what}: ${new Date(actualMs).toISOString()} is not within ${toleranceMs} ms of ${new Date(expectedMs).toISOString()}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The main suite

const nonce = randomBytes(4).toString("hex");
const TAG = `sdk-${nonce}`;
const TASK_A = "sdk-scenario-a";
const TASK_B = "sdk-scenario-b";
const TASK_DELAYED = "sdk-scenario-delayed";
const UNKNOWN_RUN = "run_0000000000000000000000nope";
const PAYLOAD = {
  hello: "world",
  n: 42,
  ok: true,
  nothing: null,
  unicode: "héllo ✓",
  nested: { list: [1, "two", { three: 3 }] },
  when: new Date("2026-01-02T03:04:05.678Z"), // superjson on the wire; plain JSON (ISO string) on retrieve
};
const PAYLOAD_AS_JSON = JSON.parse(JSON.stringify(PAYLOAD));
const METADATA = { source: "sdk-scenario", attempt: 1, nested: { ok: true } };

async function mainSuite() {
  await step("tasks.trigger: payload, tags, metadata, ttl", async () => {
    S.t0 = Date.now();
    const handle = await trigger(TASK_A, PAYLOAD, { tags: [TAG, "sdk-a"], metadata: METADATA, ttl: "1h" });
    assert.match(handle.id, RUN_ID, "trigger response id format");
    assert.notEqual(handle.isCached, true, "a first trigger is not cached");
    assert.equal(typeof handle.publicAccessToken, "string", "the handle carries a public access token");
    S.runA = handle.id;
    // Live answers with x-trigger-jwt (scopes read:runs:<id> and write:inputStreams:<id>); without that header
    // the SDK signs its own token with the secret key, scoped read:runs:<id> only (apiClient/index.js triggerTask).
    const claims = JSON.parse(Buffer.from(handle.publicAccessToken.split(".")[1], "base64url").toString());
    S.triggerTokenScopes = claims.scopes;
    if (!claims.scopes?.includes(`write:inputStreams:${handle.id}`)) {
      notes.push("the trigger response has no x-trigger-jwt header: the SDK self-signed the run's public access token");
    }

    const textHandle = await trigger(TASK_B, "plain text payload", { tags: [TAG, "sdk-b"] });
    assert.match(textHandle.id, RUN_ID);
    S.runB = textHandle.id;

    const cancelMe = await trigger(TASK_B, { purpose: "cancel" }, { tags: [TAG, "sdk-cancel"] });
    S.runC = cancelMe.id;

    const untagged = await trigger(TASK_B, { purpose: "tags" });
    S.runN = untagged.id;
  });

  await step("tasks.trigger: delay as duration and as Date", async () => {
    const d1 = await trigger(TASK_DELAYED, { d: 1 }, { delay: "1h", tags: [TAG, "sdk-delayed"] });
    S.runD1 = d1.id;
    S.d1At = Date.now() + 60 * 60 * 1000;
    S.d2At = new Date(Date.now() + 2 * 60 * 60 * 1000);
    const d2 = await trigger(TASK_DELAYED, { d: 2 }, { delay: S.d2At, tags: [TAG, "sdk-delayed"] });
    S.runD2 = d2.id;
    const d3 = await trigger(TASK_DELAYED, { d: 3 }, { delay: "30m", tags: [TAG, "sdk-delayed"] });
    S.runD3 = d3.id;
  });

  await step("tasks.trigger: idempotencyKey returns the same run", async () => {
    S.idemKey = `idem-${nonce}`;
    const first = await trigger(TASK_A, { i: 1 }, { idempotencyKey: S.idemKey, tags: [TAG] });
    const second = await trigger(TASK_A, { i: 2 }, { idempotencyKey: S.idemKey, tags: [TAG] });
    assert.equal(second.id, first.id, "a second trigger with the same idempotencyKey returns the first run's id");
    assert.equal(
      second.isCached,
      true,
      "the cached trigger answers isCached: true (live route api.v1.tasks.$taskId.trigger.ts)",
    );
    S.runI = first.id;
  });

  await step("tasks.trigger: more than 10 tags → 422 (the same cap at trigger time)", async () => {
    const tags = Array.from({ length: 11 }, (_, i) => `cap-${i}`);
    if (MODE === "gateway") {
      // The default document declares the cap, so the gateway refuses before any upstream call.
      await expectGatewayRefusal(() => trigger(TASK_B, { cap: true }, { tags }), "options.tags", "at most 10");
      return;
    }
    await expectApiError(() => trigger(TASK_B, { cap: true }, { tags }), UnprocessableEntityError, {
      status: 422,
      message: "Runs can only have 10 tags, you're trying to set 11.",
    });
  });

  await step("ApiClient.triggerTask: options.test (tasks.trigger only sets it inside a test run)", async () => {
    const handle = await client.triggerTask(TASK_A, {
      payload: JSON.stringify({ kind: "test" }),
      options: { payloadType: "application/json", test: true, tags: [TAG, "sdk-test"] },
    });
    assert.match(handle.id, RUN_ID);
    S.runT = handle.id;
    S.t1 = Date.now();
    S.mine = [S.runA, S.runB, S.runC, S.runD1, S.runD2, S.runD3, S.runI, S.runT];
    assertUnique(S.mine, "triggered runs");
  });

  await step("runs.retrieve: fields parsed (payload, metadata, tags, ttl, booleans, relatedRuns)", async () => {
    need("runA", "runB", "runT", "runI");
    const { data: a, json } = await withRaw(runs.retrieve(S.runA));
    assertNoTopLevelNulls(json, "retrieve A (raw)");
    assert.deepEqual(json.relatedRuns?.children ?? [], [], "a root run with no children: relatedRuns.children is []");
    checkRetrieveShape(a, "retrieve A");
    assert.equal(a.id, S.runA);
    assert.equal(a.taskIdentifier, TASK_A);
    assert.equal(a.status, "QUEUED", "a fresh trigger in dev is QUEUED");
    assert.deepEqual(a.payload, PAYLOAD_AS_JSON, "payload round-trips (superjson → plain JSON, Date → ISO string)");
    assert.deepEqual(a.metadata, METADATA, "metadata round-trips");
    assert.deepEqual(
      a.tags,
      [TAG, "sdk-a"].sort((x, y) => x.localeCompare(y)),
    );
    assert.equal(a.ttl, "1h");
    assert.equal(a.isTest, false);
    assert.equal(a.depth, 0);
    assert.equal(a.triggerFunction, "trigger");
    assert.equal(a.output, undefined, "no output before completion");
    assert.equal(a.delayedUntil, undefined);
    assert.equal(a.relatedRuns.parent, undefined);
    assert.equal(a.relatedRuns.root, undefined);
    near(a.createdAt.getTime(), S.t0, 60_000, "createdAt");

    const b = await runs.retrieve(S.runB);
    checkRetrieveShape(b, "retrieve B");
    assert.equal(b.payload, "plain text payload", "a text/plain payload comes back as the string");
    assert.equal(b.taskIdentifier, TASK_B);

    const t = await runs.retrieve(S.runT);
    checkRetrieveShape(t, "retrieve T");
    assert.equal(t.isTest, true, "options.test: true → isTest");
    assert.deepEqual(t.payload, { kind: "test" });

    const i = await runs.retrieve(S.runI);
    assert.equal(
      i.idempotencyKey,
      S.idemKey,
      "retrieve returns the user-provided idempotency key (idempotencyKeyOptions.key)",
    );
    assert.deepEqual(i.payload, { i: 1 }, "the cached trigger did not overwrite the first payload");
  });

  await step("runs.retrieve: DELAYED runs (delay duration and Date)", async () => {
    need("runD1", "runD2");
    const d1 = await runs.retrieve(S.runD1);
    checkRetrieveShape(d1, "retrieve D1");
    assert.equal(d1.status, "DELAYED");
    assert.equal(d1.isQueued, true, "DELAYED counts as isQueued");
    near(d1.delayedUntil.getTime(), S.d1At, 60_000, "D1 delayedUntil ≈ now + 1h");
    const d2 = await runs.retrieve(S.runD2);
    assert.equal(d2.status, "DELAYED");
    near(d2.delayedUntil.getTime(), S.d2At.getTime(), 1_000, "D2 delayedUntil = the Date given");
  });

  await step("runs.list: tag filter (one tag, any-of) returns exactly the tagged runs", async () => {
    need("mine");
    const tagged = await listAll({ tag: TAG, limit: 100 });
    sameSet(
      tagged.map((r) => r.id),
      S.mine,
      "filter[tag] = our tag → exactly our 8 runs",
    );
    tagged.forEach((r, i) => checkRunShape(r, `list(tag)[${i}]`, { list: true }));
    assertNewestFirst(tagged, "list(tag)");
    for (const r of tagged) assert.ok(r.tags.includes(TAG));

    const anyOf = await listAll({ tag: ["sdk-a", "sdk-test"], limit: 100, period: "1h" });
    for (const r of anyOf)
      assert.ok(r.tags.includes("sdk-a") || r.tags.includes("sdk-test"), `any-of: ${r.id} ${r.tags}`);
    const anyIds = new Set(anyOf.map((r) => r.id));
    assert.ok(anyIds.has(S.runA) && anyIds.has(S.runT), "any-of includes runs with either tag");
    assert.ok(!anyIds.has(S.runB), "any-of excludes runs with neither tag");

    const byIdem = tagged.find((r) => r.id === S.runI);
    const hashed = createHash("sha256").update(S.idemKey).digest("hex");
    assert.equal(
      byIdem.idempotencyKey,
      hashed,
      "list items carry the stored (hashed) idempotency key (reference §4.1)",
    );
  });

  await step("runs.list: status filter (single, multiple, legacy name) on our runs and the seed", async () => {
    need("mine");
    const queued = await listAll({ tag: TAG, status: "QUEUED" });
    sameSet(
      queued.map((r) => r.id),
      [S.runA, S.runB, S.runC, S.runI, S.runT],
      "QUEUED",
    );
    const delayed = await listAll({ tag: TAG, status: ["DELAYED"] });
    sameSet(
      delayed.map((r) => r.id),
      [S.runD1, S.runD2, S.runD3],
      "DELAYED",
    );
    const both = await listAll({ tag: TAG, status: ["QUEUED", "DELAYED"] });
    sameSet(
      both.map((r) => r.id),
      S.mine,
      "QUEUED,DELAYED",
    );

    const counts = {};
    for (const status of STATUSES) {
      const page = await runs.list({ status, period: "30d", limit: 100 });
      page.data.forEach((r, i) => checkRunShape(r, `list(status=${status})[${i}]`, { list: true }));
      for (const r of page.data) assert.equal(r.status, status, `filter[status]=${status} returned a ${r.status} run`);
      counts[status] = page.data.length;
    }
    S.statusCounts = counts;
    const missing = STATUSES.filter((s) => counts[s] === 0);
    if (missing.length) notes.push(`seed (30d) has no runs with status ${missing.join(", ")}`);
    for (const s of ["COMPLETED", "FAILED", "CANCELED", "EXECUTING", "QUEUED"]) {
      assert.ok(counts[s] > 0, `the seed should hold ${s} runs in the last 30 days`);
    }

    const multi = await runs.list({ status: ["COMPLETED", "FAILED", "CRASHED"], period: "30d", limit: 100 });
    for (const r of multi.data)
      assert.ok(["COMPLETED", "FAILED", "CRASHED"].includes(r.status), `multi-status: ${r.status}`);
    assert.ok(
      multi.data.some((r) => r.status === "COMPLETED") && multi.data.some((r) => r.status === "FAILED"),
      "filter[status]=COMPLETED,FAILED,CRASHED returns both COMPLETED and FAILED runs",
    );
  });

  await step("runs.list: legacy status names are accepted by the filter (reference §3)", async () => {
    await checks([
      [
        "REATTEMPTING → RETRYING_AFTER_FAILURE, shown as EXECUTING",
        async () => {
          const legacy = await runs.list({ status: "REATTEMPTING", period: "30d", limit: 100 });
          for (const r of legacy.data) assert.equal(r.status, "EXECUTING");
        },
      ],
      [
        "FROZEN → PAUSED/WAITING_TO_RESUME, shown as WAITING",
        async () => {
          const legacy = await runs.list({ status: ["FROZEN"], period: "30d", limit: 100 });
          for (const r of legacy.data) assert.equal(r.status, "WAITING");
        },
      ],
      [
        "INTERRUPTED, shown as FAILED",
        async () => {
          const legacy = await runs.list({ status: "INTERRUPTED", period: "30d", limit: 100 });
          for (const r of legacy.data) assert.equal(r.status, "FAILED");
        },
      ],
    ]);
  });

  await step("runs.list: taskIdentifier (single and multiple)", async () => {
    need("mine");
    const onlyB = await listAll({ tag: TAG, taskIdentifier: TASK_B });
    sameSet(
      onlyB.map((r) => r.id),
      [S.runB, S.runC],
      "taskIdentifier=B",
    );
    const aAndB = await listAll({ tag: TAG, taskIdentifier: [TASK_A, TASK_B] });
    sameSet(
      aAndB.map((r) => r.id),
      [S.runA, S.runB, S.runC, S.runI, S.runT],
      "taskIdentifier=A,B",
    );

    const seeded = await listAll({ period: "30d" }, 1000);
    const seededTasks = [...new Set(seeded.map((r) => r.taskIdentifier))].filter((t) => !t.startsWith("sdk-"));
    assert.ok(seededTasks.length >= 2, `the seed should hold several tasks, found ${seededTasks}`);
    const [t1, t2] = seededTasks;
    const one = await listAll({ taskIdentifier: t1, period: "30d" });
    assert.ok(one.length > 0);
    for (const r of one) assert.equal(r.taskIdentifier, t1);
    const two = await listAll({ taskIdentifier: [t1, t2], period: "30d" });
    for (const r of two) assert.ok([t1, t2].includes(r.taskIdentifier));
    assert.ok(two.length > one.length, "two tasks return more runs than one");
  });

  await step("runs.list: version (single and multiple)", async () => {
    const all = await listAll({ period: "30d" }, 1000);
    const versions = [...new Set(all.map((r) => r.version).filter(Boolean))];
    assert.ok(versions.length >= 2, `the seed should hold runs on several versions, found ${versions}`);
    const [v1, v2] = versions;
    const one = await listAll({ version: v1, period: "30d" });
    assert.ok(one.length > 0);
    for (const r of one) assert.equal(r.version, v1, `filter[version]=${v1}`);
    const two = await listAll({ version: [v1, v2], period: "30d" });
    for (const r of two) assert.ok([v1, v2].includes(r.version), `filter[version]=${v1},${v2}: ${r.version}`);
    assert.ok(two.length > one.length);
  });

  await step("runs.list: isTest true/false", async () => {
    need("runT");
    const testOnly = await listAll({ tag: TAG, isTest: true });
    sameSet(
      testOnly.map((r) => r.id),
      [S.runT],
      "isTest=true",
    );
    const nonTest = await listAll({ tag: TAG, isTest: false });
    sameSet(
      nonTest.map((r) => r.id),
      S.mine.filter((id) => id !== S.runT),
      "isTest=false",
    );
    const seededTest = await runs.list({ isTest: true, period: "30d", limit: 100 });
    assert.ok(seededTest.data.length > 0, "the seed should hold test runs");
    for (const r of seededTest.data) assert.equal(r.isTest, true);
    const seededLive = await runs.list({ isTest: false, period: "30d", limit: 100 });
    for (const r of seededLive.data) assert.equal(r.isTest, false);
  });

  await step("runs.list: from/to as Date and as number, period, default 7-day window", async () => {
    need("t0", "t1");
    const ours = await listAll({ tag: TAG, from: new Date(S.t0 - 2_000), to: new Date(S.t1 + 2_000) });
    sameSet(
      ours.map((r) => r.id),
      S.mine,
      "from/to (Date) around our triggers",
    );
    const before = await listAll({ tag: TAG, to: S.t0 - 60_000 });
    assert.equal(before.length, 0, "to (number) before our triggers → none");
    const after = await listAll({ tag: TAG, from: S.t0 - 60_000 });
    sameSet(
      after.map((r) => r.id),
      S.mine,
      "from (number) → ours",
    );

    const now = Date.now();
    const from = new Date(now - 10 * DAY);
    const to = new Date(now - 3 * DAY);
    const windowed = await listAll({ from, to });
    assert.ok(windowed.length > 0, "the seed should hold runs between 10 and 3 days ago");
    for (const r of windowed) {
      const t = r.createdAt.getTime();
      assert.ok(
        t >= from.getTime() && t <= to.getTime(),
        `from/to (Date): ${r.id} created ${r.createdAt.toISOString()}`,
      );
    }
    const windowedNum = await listAll({ from: from.getTime(), to: to.getTime() });
    sameSet(
      windowedNum.map((r) => r.id),
      windowed.map((r) => r.id),
      "from/to as numbers = from/to as Dates",
    );

    const old = await runs.list({ to: new Date(now - 8 * DAY), limit: 5 });
    assert.ok(old.data.length > 0, "the seed should hold runs older than 8 days");
    for (const r of old.data) assert.ok(r.createdAt.getTime() <= now - 8 * DAY);

    const lastDay = await listAll({ period: "1d" });
    for (const r of lastDay)
      assert.ok(r.createdAt.getTime() >= Date.now() - DAY - SLACK, `period=1d: ${r.createdAt.toISOString()}`);
    const lastHour = await listAll({ tag: TAG, period: "1h" });
    sameSet(
      lastHour.map((r) => r.id),
      S.mine,
      "period=1h → ours",
    );

    // period wins over from (reference §4.1 "Time window precedence")
    const precedence = await listAll({ period: "1d", from: new Date(now - 30 * DAY) });
    for (const r of precedence)
      assert.ok(r.createdAt.getTime() >= Date.now() - DAY - SLACK, "period takes precedence over from");

    const defaults = await listAll({}, 1000);
    for (const r of defaults) {
      assert.ok(
        r.createdAt.getTime() >= Date.now() - 7 * DAY - SLACK,
        `default window is 7 days: ${r.id} ${r.createdAt.toISOString()}`,
      );
    }
    assert.ok(!defaults.some((r) => r.id === old.data[0].id), "the default window excludes runs older than 7 days");
    const month = await listAll({ period: "30d" }, 1000);
    assert.ok(month.length > defaults.length, "period=30d returns more than the default window");
    assertNewestFirst(month, "list(period=30d) auto-paginated");
    assertUnique(
      month.map((r) => r.id),
      "list(period=30d) auto-paginated",
    );
    S.monthCount = month.length;
  });

  await step("runs.list: limit (page[size]) and the default page size", async () => {
    const five = await runs.list({ limit: 5, period: "30d" });
    assert.equal(five.data.length, 5);
    assert.ok(five.pagination.next, "more runs exist → next is set");
    assert.equal(five.pagination.previous, undefined, "first page → no previous");
    const one = await runs.list({ limit: 1, period: "30d" });
    assert.equal(one.data.length, 1);
    const hundred = await runs.list({ limit: 100, period: "30d" });
    assert.equal(hundred.data.length, 100);
    const dflt = await runs.list({ period: "30d" });
    assert.equal(dflt.data.length, 25, "default page size is 25");
    const { json } = await withRaw(runs.list({ limit: 3, period: "30d" }));
    assertNoTopLevelNulls(json.pagination, "list pagination (raw)");
    assert.ok(!("previous" in json.pagination), "absent cursors are omitted from the JSON, not null");
    json.data.forEach((item, i) => assertNoTopLevelNulls(item, `list item ${i} (raw)`));
  });

  await step("pagination: getNextPage() forward, getPreviousPage() back", async () => {
    const p1 = await runs.list({ limit: 10, period: "30d" });
    const p2 = await p1.getNextPage();
    const p3 = await p2.getNextPage();
    for (const [i, p] of [p1, p2, p3].entries()) {
      assert.equal(p.data.length, 10, `page ${i + 1} is full`);
      p.data.forEach((r, j) => checkRunShape(r, `page${i + 1}[${j}]`, { list: true }));
    }
    const forward = [...p1.data, ...p2.data, ...p3.data];
    assertUnique(
      forward.map((r) => r.id),
      "three forward pages",
    );
    assertNewestFirst(forward, "three forward pages");
    assert.equal(p1.pagination.previous, undefined, "page 1 has no previous");
    assert.ok(p2.pagination.previous && p3.pagination.previous, "pages fetched with a cursor carry previous");
    for (const c of [p1.pagination.next, p2.pagination.next, p3.pagination.previous]) {
      assert.doesNotMatch(c, /^run_/, "cursors are opaque tokens, not run ids");
    }

    const back = await p3.getPreviousPage();
    sameSet(
      back.data.map((r) => r.id),
      p2.data.map((r) => r.id),
      "p3.getPreviousPage() returns page 2's runs",
    );
    // Live: a page[before] page runs the keyset query ASC and hydrates in that order, so its data comes back
    // oldest-first (trigger.dev clickhouseRunsRepository.server.ts listRunIds/#hydrateRunsByIds @ b082e44389).
    assert.deepEqual(
      back.data.map((r) => r.id),
      [...p2.data].reverse().map((r) => r.id),
      "a page[before] page comes back oldest-first, as the live keyset query (ASC) returns it",
    );
    assert.ok(back.pagination.previous, "page 2 has newer runs before it → previous is set");
    assert.ok(back.pagination.next, "a page[before] page always has next");

    const first = await p2.getPreviousPage();
    sameSet(
      first.data.map((r) => r.id),
      p1.data.map((r) => r.id),
      "p2.getPreviousPage() returns page 1's runs",
    );
    assert.equal(first.pagination.previous, undefined, "back at the newest page → no previous");
    assert.ok(first.pagination.next, "back at the newest page → next is set");
  });

  await step("pagination: filters and limit carry over; for-await auto-pagination (bounded)", async () => {
    need("mine");
    const p1 = await runs.list({ tag: TAG, limit: 3 });
    const pages = [p1];
    while (pages.at(-1).hasNextPage() && pages.length < 10) pages.push(await pages.at(-1).getNextPage());
    assert.deepEqual(
      pages.map((p) => p.data.length),
      [3, 3, 2],
      "8 tagged runs in pages of 3",
    );
    const ids = pages.flatMap((p) => p.data.map((r) => r.id));
    assertUnique(ids, "tagged pages");
    sameSet(ids, S.mine, "tagged pages cover exactly our runs");
    assert.equal(pages.at(-1).pagination.next, undefined, "last page → no next");

    const seen = [];
    for await (const run of runs.list({ limit: 20, period: "30d" })) {
      seen.push(run);
      if (seen.length >= 45) break;
    }
    assert.equal(seen.length, 45, "for-await crosses page boundaries");
    assertUnique(
      seen.map((r) => r.id),
      "for-await",
    );
    assertNewestFirst(seen, "for-await");
  });

  await step("runs.retrieve: every seeded status parses; relatedRuns parent/children; output; error", async () => {
    const page = await runs.list({ period: "30d", limit: 100 });
    const byStatus = new Map();
    for (const r of page.data) if (!byStatus.has(r.status)) byStatus.set(r.status, r.id);
    for (const status of STATUSES) {
      if (byStatus.has(status)) continue;
      const one = await runs.list({ status, period: "30d", limit: 1 });
      if (one.data[0]) byStatus.set(status, one.data[0].id);
    }
    for (const [status, id] of byStatus) {
      const { data: run, json } = await withRaw(runs.retrieve(id));
      checkRetrieveShape(run, `retrieve ${status} ${id}`);
      assertNoTopLevelNulls(json, `retrieve ${status} ${id} (raw)`);
      assert.equal(run.status, status);
      if (status === "COMPLETED") {
        S.completedRun = id;
        if (run.output === undefined) notes.push(`seeded COMPLETED run ${id} has no output`);
        assert.ok(run.finishedAt, "a COMPLETED run has finishedAt");
      }
      if (status === "FAILED") {
        S.failedRun = id;
        assert.ok(run.error && typeof run.error.message === "string", "a FAILED seeded run carries error.message");
      }
      if (run.schedule) S.scheduleId = run.schedule.id;
    }
    // One run per task: a CRON-scheduled task's runs carry schedule.
    const perTask = new Map();
    for (const r of await listAll({ period: "30d" }, 1000))
      if (!perTask.has(r.taskIdentifier)) perTask.set(r.taskIdentifier, r.id);
    for (const id of perTask.values()) {
      const run = await runs.retrieve(id);
      checkRetrieveShape(run, `retrieve ${run.taskIdentifier} ${id}`);
      if (run.schedule) {
        S.scheduleId = run.schedule.id;
        assert.match(run.schedule.id, /^sched_/, "schedule.id is a sched_ friendly id");
        assert.equal(run.schedule.generator.type, "CRON");
      }
    }
    assert.ok(S.completedRun, "the seed should hold a COMPLETED run");
    const completed = await runs.retrieve(S.completedRun);
    assert.notEqual(completed.output, undefined, "a COMPLETED seeded run carries output");

    // Parent/child: find a child (depth > 0) in the raw list pages (list items carry depth, reference §4.1),
    // else by retrieving runs one by one.
    let child;
    let pagePromise = runs.list({ period: "30d", limit: 100 });
    for (let i = 0; i < 10 && !child; i++) {
      const { data: listPage, json } = await withRaw(pagePromise);
      child = json.data.find((r) => typeof r.depth === "number" && r.depth > 0);
      if (!listPage.hasNextPage()) break;
      pagePromise = listPage.getNextPage();
    }
    if (!child) {
      notes.push("no list item with depth > 0 (does the list send depth?); searched by retrieve instead");
      const candidates = await listAll({ period: "30d" }, 80);
      for (const r of candidates) {
        const full = await runs.retrieve(r.id);
        if (full.depth > 0) {
          child = { id: r.id };
          break;
        }
      }
    }
    assert.ok(child, "the seed should hold child runs (depth > 0)");
    const c = await runs.retrieve(child.id);
    checkRetrieveShape(c, `retrieve child ${child.id}`);
    assert.ok(c.depth > 0);
    assert.ok(c.relatedRuns.parent, "a child run has relatedRuns.parent");
    assert.ok(c.relatedRuns.root, "a child run has relatedRuns.root");
    const parent = await runs.retrieve(c.relatedRuns.parent.id);
    checkRetrieveShape(parent, `retrieve parent ${parent.id}`);
    assert.ok(
      (parent.relatedRuns.children ?? []).some((k) => k.id === c.id),
      "the parent lists the child in relatedRuns.children",
    );
    assert.ok(["triggerAndWait", "trigger", "batchTrigger", "batchTriggerAndWait"].includes(c.triggerFunction));
  });

  await step("runs.list: schedule, machine, region, queue filters are accepted and parsed", async () => {
    const machine = await runs.list({ machine: ["small-1x", "medium-1x"], period: "30d", limit: 10 });
    machine.data.forEach((r, i) => checkRunShape(r, `list(machine)[${i}]`, { list: true }));
    const queue = await runs.list({ queue: { type: "task", name: TASK_A }, tag: TAG });
    queue.data.forEach((r, i) => checkRunShape(r, `list(queue)[${i}]`, { list: true }));
    const regionSource = (await runs.list({ period: "30d", limit: 100 })).data.find((r) => r.region);
    if (!regionSource)
      notes.push("no seeded run with a region in this environment: filter[region] only checked for acceptance");
    await runs.list({ region: ["us-east-1", "eu-central-1"], period: "30d", limit: 5 });
    if (regionSource) {
      const region = await listAll({ region: regionSource.region, period: "30d" });
      assert.ok(region.length > 0);
      for (const r of region) assert.equal(r.region, regionSource.region, "filter[region]");
    }
    if (S.scheduleId) {
      const scheduled = await runs.list({ schedule: S.scheduleId, period: "30d", limit: 5 });
      assert.ok(scheduled.data.length > 0, "filter[schedule] finds the scheduled runs");
      for (const r of scheduled.data) {
        const full = await runs.retrieve(r.id);
        assert.equal(full.schedule?.id, S.scheduleId, "filter[schedule]");
      }
    } else {
      notes.push("no seeded run with a schedule found: filter[schedule] not checked");
    }
  });

  await step("runs.cancel: non-final → CANCELED; final → 200 and unchanged", async () => {
    need("runC", "runD3");
    const res = await runs.cancel(S.runC);
    assert.deepEqual(res, { id: S.runC }, "cancel answers {id}");
    const c = await runs.retrieve(S.runC);
    checkRetrieveShape(c, "canceled run");
    assert.equal(c.status, "CANCELED");
    assert.equal(c.isCancelled, true);
    assert.equal(c.isCompleted, true);
    assert.equal(c.isFailed, true);
    assert.equal(c.isSuccess, false);
    assert.equal(
      c.error?.message,
      "Canceled by user",
      "a cancel sets error.message 'Canceled by user' (reference §4.2)",
    );

    const again = await runs.cancel(S.runC);
    assert.deepEqual(again, { id: S.runC }, "cancelling a final run is still 200 {id}");
    assert.equal((await runs.retrieve(S.runC)).status, "CANCELED");

    const delayed = await runs.cancel(S.runD3);
    assert.equal(delayed.id, S.runD3);
    assert.equal((await runs.retrieve(S.runD3)).status, "CANCELED", "a DELAYED run can be cancelled");

    need("completedRun");
    const before = await runs.retrieve(S.completedRun);
    const done = await runs.cancel(S.completedRun);
    assert.deepEqual(done, { id: S.completedRun });
    const after = await runs.retrieve(S.completedRun);
    assert.equal(after.status, "COMPLETED", "cancel on a COMPLETED run leaves it COMPLETED");
    assert.equal(after.updatedAt.getTime(), before.updatedAt.getTime(), "cancel on a final run changes nothing");

    const canceledList = await listAll({ tag: TAG, status: "CANCELED" });
    sameSet(
      canceledList.map((r) => r.id),
      [S.runC, S.runD3],
      "filter[status]=CANCELED after cancelling",
    );
  });

  await step("runs.replay: new id, queued, copies task/payload/tags/metadata/isTest", async () => {
    need("runA", "runT", "runD3");
    const original = await runs.retrieve(S.runA);
    const res = await runs.replay(S.runA);
    assert.match(res.id, RUN_ID);
    assert.notEqual(res.id, S.runA, "replay mints a new run");
    const replayed = await runs.retrieve(res.id);
    checkRetrieveShape(replayed, "replayed run");
    assert.ok(
      ["QUEUED", "PENDING_VERSION", "DEQUEUED", "EXECUTING"].includes(replayed.status),
      `replayed status ${replayed.status}`,
    );
    assert.equal(replayed.taskIdentifier, original.taskIdentifier);
    assert.deepEqual(replayed.payload, original.payload, "payload copied");
    assert.deepEqual(replayed.tags, original.tags, "tags copied");
    assert.deepEqual(replayed.metadata, METADATA, "seed metadata copied");
    assert.equal(replayed.isTest, false);
    assert.equal(replayed.idempotencyKey, undefined, "idempotencyKey is not copied");
    assert.ok(replayed.createdAt.getTime() >= original.createdAt.getTime());

    const replayedTest = await runs.retrieve((await runs.replay(S.runT)).id);
    assert.equal(replayedTest.isTest, true, "isTest copied");

    // A final (canceled, formerly delayed) run can be replayed, and the delay is not copied.
    const fromDelayed = await runs.retrieve((await runs.replay(S.runD3)).id);
    assert.notEqual(fromDelayed.status, "DELAYED", "delay is not copied by replay");
    assert.equal(fromDelayed.delayedUntil, undefined);
    assert.deepEqual(fromDelayed.payload, { d: 3 });
  });

  await step("runs.reschedule: DELAYED run with a duration and a Date; errors", async () => {
    need("runD1", "runD2", "runA");
    const before = Date.now();
    const { data: res, json } = await withRaw(runs.reschedule(S.runD1, { delay: "1h30m" }));
    assertNoTopLevelNulls(json, "reschedule response (raw)");
    checkRetrieveShape(res, "reschedule response");
    assert.equal(res.id, S.runD1);
    assert.equal(res.status, "DELAYED", "a rescheduled run stays DELAYED");
    near(res.delayedUntil.getTime(), before + 90 * 60 * 1000, 60_000, "delayedUntil ≈ now + 1h30m");
    const d1 = await runs.retrieve(S.runD1);
    assert.equal(d1.delayedUntil.getTime(), res.delayedUntil.getTime(), "retrieve agrees with the reschedule response");

    const when = new Date(Date.now() + 3 * 60 * 60 * 1000);
    const res2 = await runs.reschedule(S.runD2, { delay: when });
    assert.equal(res2.status, "DELAYED");
    near(res2.delayedUntil.getTime(), when.getTime(), 1_000, "delayedUntil = the Date given");
  });

  await step("runs.reschedule errors: not delayed, bad delay, past date, unknown run", async () => {
    need("runD2", "runA");
    const past = new Date(Date.now() - DAY).toISOString();
    await checks([
      [
        "a QUEUED run → 400",
        () =>
          expectApiError(() => runs.reschedule(S.runA, { delay: "1h" }), BadRequestError, {
            status: 400,
            message: "Cannot reschedule a run that is not delayed",
          }),
      ],
      [
        "an unparseable delay → 400",
        () =>
          expectApiError(() => runs.reschedule(S.runD2, { delay: "banana" }), BadRequestError, {
            status: 400,
            message: "Invalid delay: banana",
          }),
      ],
      [
        "a past date → 400",
        () =>
          expectApiError(() => runs.reschedule(S.runD2, { delay: past }), BadRequestError, {
            status: 400,
            message: `Invalid delay: ${past}`,
          }),
      ],
      [
        "an unknown run → 404",
        () =>
          expectApiError(() => runs.reschedule(UNKNOWN_RUN, { delay: "1h" }), NotFoundError, {
            status: 404,
            message: "Run not found",
          }),
      ],
    ]);
  });

  await step("ApiClient.addTags (@trigger.dev/core/v3): success, limits and messages", async () => {
    need("runA", "runN");
    const long128 = "x".repeat(128);
    const eleven = Array.from({ length: 11 }, (_, i) => `t${String(i + 1).padStart(2, "0")}`);
    const added = [TAG, "sdk-a"];
    await checks([
      [
        "two new tags → 200 'Successfully set 2 new tags.'",
        async () => {
          assert.deepEqual(await client.addTags(S.runA, { tags: ["added-1", "added-2"] }), {
            message: "Successfully set 2 new tags.",
          });
          added.push("added-1", "added-2");
        },
      ],
      [
        "an existing tag → 200 'No new tags to add'",
        async () => {
          assert.deepEqual(await client.addTags(S.runA, { tags: ["added-1"] }), { message: "No new tags to add" });
        },
      ],
      [
        "tags as a single string → 200",
        async () => {
          assert.deepEqual(await client.addTags(S.runA, { tags: "Zeta-tag" }), {
            message: "Successfully set 1 new tags.",
          });
          added.push("Zeta-tag");
        },
      ],
      [
        "only empty/whitespace tags → 200 'No new tags to add' (dropped before the run lookup)",
        async () => {
          assert.deepEqual(await client.addTags(S.runA, { tags: ["   ", ""] }), { message: "No new tags to add" });
        },
      ],
      [
        "a 128-character tag is allowed",
        async () => {
          assert.deepEqual(await client.addTags(S.runA, { tags: [long128] }), {
            message: "Successfully set 1 new tags.",
          });
          added.push(long128);
        },
      ],
      [
        "retrieve shows the tags sorted with localeCompare",
        async () => {
          const a = await runs.retrieve(S.runA);
          assert.deepEqual(
            a.tags,
            [...added].sort((x, y) => x.localeCompare(y)),
          );
        },
      ],
      [
        "a 129-character tag → 400 'Invalid request body' with the zod issue",
        async () => {
          if (MODE === "gateway") {
            await expectGatewayRefusal(() => client.addTags(S.runA, { tags: ["y".repeat(129)] }), "body.tags", "at most 128 characters");
            return;
          }
          const e = await expectApiError(() => client.addTags(S.runA, { tags: ["y".repeat(129)] }), BadRequestError, {
            status: 400,
            message: "Invalid request body",
          });
          assert.ok(
            (e.body?.issues ?? []).some((i) => i.message === "Tags must be less than 128 characters"),
            `the 400 body lists the zod issue "Tags must be less than 128 characters", got ${JSON.stringify(e.body)}`,
          );
        },
      ],
      [
        "11 tags on an untagged run → 422, nothing written",
        async () => {
          if (MODE === "gateway") {
            // The default document declares at most 10 tags per call, so the gateway refuses before calling.
            await expectGatewayRefusal(() => client.addTags(S.runN, { tags: eleven }), "body.tags", "at most 10 items");
            assert.deepEqual((await runs.retrieve(S.runN)).tags, [], "nothing was written");
            return;
          }
          await expectApiError(() => client.addTags(S.runN, { tags: eleven }), UnprocessableEntityError, {
            status: 422,
            message: `Runs can only have 10 tags, you're trying to set 11. These tags have not been set: ${eleven.map((t) => `'${t}'`).join(", ")}.`,
          });
          assert.deepEqual((await runs.retrieve(S.runN)).tags, [], "the 422 is all-or-nothing: no tag was written");
        },
      ],
      [
        "10 tags, then an 11th → 422 naming only the new tag",
        async () => {
          assert.deepEqual(await client.addTags(S.runN, { tags: eleven.slice(0, 10) }), {
            message: "Successfully set 10 new tags.",
          });
          await expectApiError(() => client.addTags(S.runN, { tags: ["t01", "one-more"] }), UnprocessableEntityError, {
            status: 422,
            message: "Runs can only have 10 tags, you're trying to set 11. These tags have not been set: 'one-more'.",
          });
        },
      ],
      [
        "an unknown run → 404 'Run not found'",
        () =>
          expectApiError(() => client.addTags(UNKNOWN_RUN, { tags: ["x"] }), NotFoundError, {
            status: 404,
            message: "Run not found",
          }),
      ],
    ]);
  });

  await step("runs.replay with options: payload, metadata, tags, machine, delay replace the original's", async () => {
    need("runB");
    const original = await runs.retrieve(S.runB);
    const fixed = { fixed: true, when: new Date("2026-02-03T04:05:06.000Z") };
    const res = await runs.replay(S.runB, {
      payload: fixed,
      metadata: { replayed: true },
      tags: [`${TAG}-replayed`],
      machine: "large-1x",
      delay: "10m",
    });
    assert.match(res.id, RUN_ID);
    const replayed = await runs.retrieve(res.id);
    checkRetrieveShape(replayed, "run replayed with options");
    assert.deepEqual(replayed.payload, JSON.parse(JSON.stringify(fixed)), "the payload (sent as SuperJSON) is the new one");
    assert.deepEqual(replayed.metadata, { replayed: true }, "metadata replaced");
    assert.deepEqual(replayed.tags, [`${TAG}-replayed`], "tags replaced");
    assert.equal(replayed.status, "DELAYED", "the delay applies");
    near(replayed.delayedUntil.getTime(), Date.now() + 10 * 60 * 1000, 60_000, "delayedUntil ≈ now + 10m");
    assert.equal(replayed.taskIdentifier, original.taskIdentifier);

    const keyed = { idempotencyKey: `replay-${nonce}` };
    const first = await runs.replay(S.runB, keyed);
    const again = await runs.replay(S.runB, keyed);
    assert.equal(again.id, first.id, "an idempotencyKey a live run holds returns that run");

    const queue = `no-such-queue-${nonce}`;
    await expectApiError(() => runs.replay(S.runB, { queue }), BadRequestError, {
      status: 400,
      message: `Queue '${queue}' does not exist in this environment`,
    });
  });

  await step("ApiClient.retrieveRunTrace and retrieveRunTracePage: the tree, and pages that rebuild it", async () => {
    need("runA");
    const whole = await client.retrieveRunTrace(S.runA);
    const root = whole.trace.rootSpan;
    assert.equal(root.runId, S.runA);
    assert.equal(root.data.message, TASK_A, "the run's span is named after its task");
    assert.equal(root.data.isPartial, true, "a queued run's span is still partial");
    assert.ok(root.data.startTime instanceof Date && Array.isArray(root.children));

    const failed = (await runs.list({ status: "FAILED", period: "30d", limit: 1 })).data[0];
    assert.ok(failed, "the seed holds a FAILED run");
    const failedRun = await runs.retrieve(failed.id);
    const tree = (await client.retrieveRunTrace(failed.id)).trace.rootSpan;
    assert.equal(tree.data.isError, true, "a failed run's span is an error");
    const pages = [];
    let after;
    do {
      const page = await client.retrieveRunTracePage(failed.id, { limit: 2, after });
      assert.ok(page.data.length <= 2, "a page holds at most limit spans");
      pages.push(page);
      after = page.pagination.next;
    } while (after !== undefined && pages.length < 50);
    const roots = assembleRunTracePages(pages);
    assert.equal(roots.length, 1, "the pages rebuild one tree");
    const ids = (node) => [node.id, ...node.children.flatMap(ids)];
    assert.deepEqual(ids(roots[0]).sort(), ids(tree).sort(), "pages and tree hold the same spans");
    assert.ok(pages.some((page) => page.attemptFailures.length > 0), "the pages report the failed attempts");
    const errors = pages.flatMap((page) => page.data).filter((span) => span.level === "ERROR");
    assert.ok(errors.some((span) => span.message === failedRun.error.message), "the trace says why the run failed");
    const single = await client.retrieveRunTracePage(failed.id);
    assert.equal(single.pagination.next, undefined, "the SDK's default page (10000 spans) holds it all");
    assert.equal(single.data.length, ids(tree).length);
    await expectApiError(() => client.retrieveRunTrace(UNKNOWN_RUN), NotFoundError, { status: 404, message: "Not found" });
  });

  await step("ApiClient.listRunEvents: the run's own spans and log lines", async () => {
    need("runA");
    const body = await client.listRunEvents(S.runA);
    assert.ok(Array.isArray(body.events) && body.events.length > 0, `events: ${JSON.stringify(body).slice(0, 300)}`);
    for (const event of body.events) {
      assert.equal(event.runId, S.runA);
      assert.match(event.startTime, /^\d+$/, "startTime is a nanosecond string");
    }
  });

  await step("ApiClient.updateRunMetadata: replace, then operations; retrieve agrees; errors", async () => {
    need("runA");
    const replaced = await client.updateRunMetadata(S.runA, { metadata: { progress: 0.1, step: "start" } });
    assert.deepEqual(replaced.metadata, { progress: 0.1, step: "start" });
    const changed = await client.updateRunMetadata(S.runA, {
      operations: [
        { type: "set", key: "progress", value: 0.5 },
        { type: "append", key: "log", value: "half way" },
        { type: "increment", key: "$.counters.steps", value: 2 },
      ],
    });
    const expected = { progress: 0.5, step: "start", log: ["half way"], counters: { steps: 2 } };
    assert.deepEqual(changed.metadata, expected);
    assert.deepEqual((await runs.retrieve(S.runA)).metadata, expected, "retrieve shows the new metadata");
    await checks([
      [
        "unknown run → NotFoundError 'Task Run not found'",
        () =>
          expectApiError(() => client.updateRunMetadata(UNKNOWN_RUN, { metadata: {} }), NotFoundError, {
            status: 404,
            message: "Task Run not found",
          }),
      ],
      [
        "an unknown operation type is refused",
        async () => {
          const call = () => client.updateRunMetadata(S.runA, { operations: [{ type: "rename", key: "a" }] });
          if (MODE === "gateway") {
            await expectGatewayRefusal(call, "operations", "must be one of");
            return;
          }
          const e = await expectApiError(call, BadRequestError, { status: 400 });
          assert.ok(e.message.startsWith("Validation error: Invalid discriminator value"), e.message);
        },
      ],
    ]);
  });

  await step("errors: 404 on retrieve/cancel/replay of an unknown run", async () => {
    await checks([
      [
        "retrieve → NotFoundError 'Not found' + x-should-retry",
        async () => {
          const e = await expectApiError(() => runs.retrieve(UNKNOWN_RUN), NotFoundError, {
            status: 404,
            message: "Not found",
          });
          S.xShouldRetry = header(e, "x-should-retry");
          assert.ok(
            ["true", "false"].includes(S.xShouldRetry),
            `retrieve 404 carries x-should-retry, got ${S.xShouldRetry}`,
          );
        },
      ],
      [
        "cancel → NotFoundError 'Resource not found'",
        () =>
          expectApiError(() => runs.cancel(UNKNOWN_RUN), NotFoundError, { status: 404, message: "Resource not found" }),
      ],
      [
        "replay → NotFoundError 'Resource not found'",
        () =>
          expectApiError(() => runs.replay(UNKNOWN_RUN), NotFoundError, { status: 404, message: "Resource not found" }),
      ],
    ]);
  });

  await step("errors: 400 Query Error on bad page size, bad status, bad machine", async () => {
    const queryError = (params, path, detail) => async () => {
      if (MODE === "gateway") {
        await expectGatewayRefusal(() => runs.list(params), path, "must be");
        return;
      }
      const e = await expectApiError(() => runs.list(params), BadRequestError, { status: 400, message: "Query Error" });
      assert.ok(Array.isArray(e.body?.details), `a Query Error carries details[], got ${JSON.stringify(e.body)}`);
      assert.ok(
        e.body.details.some((d) => Array.isArray(d.path) && d.path.includes(path) && (!detail || d.message === detail)),
        `details name ${path}${detail ? ` with message "${detail}"` : ""}: ${JSON.stringify(e.body.details)}`,
      );
    };
    await checks([
      ["limit 101", queryError({ limit: 101 }, "page[size]")],
      ["limit -1", queryError({ limit: -1 }, "page[size]")],
      ["limit 2.5", queryError({ limit: 2.5 }, "page[size]")],
      [
        "status BOGUS,NOPE",
        queryError({ status: ["COMPLETED", "BOGUS", "NOPE"] }, "filter[status]", "Invalid status values: BOGUS, NOPE"),
      ],
      ["machine huge-9x", queryError({ machine: "huge-9x" }, "filter[machine]", "Invalid machine values: huge-9x")],
    ]);
  });

  await step(
    "errors: 401 with a bad key (per-route texts)",
    async () => {
      const bad = new ApiClient(BASE_URL, "tr_dev_notARealKey0000000000000", undefined, NO_RETRY);
      await checks([
        [
          "list",
          () =>
            expectApiError(() => bad.listRuns({}), AuthenticationError, { status: 401, message: "Invalid API key" }),
        ],
        [
          "retrieve",
          () =>
            expectApiError(() => bad.retrieveRun(S.runA ?? UNKNOWN_RUN), AuthenticationError, {
              status: 401,
              message: "Invalid API key",
            }),
        ],
        [
          "cancel",
          () =>
            expectApiError(() => bad.cancelRun(S.runB ?? UNKNOWN_RUN), AuthenticationError, {
              status: 401,
              message: "Invalid API key",
            }),
        ],
        [
          "replay",
          () =>
            expectApiError(() => bad.replayRun(S.runB ?? UNKNOWN_RUN), AuthenticationError, {
              status: 401,
              message: "Invalid API key",
            }),
        ],
        [
          "reschedule",
          () =>
            expectApiError(() => bad.rescheduleRun(S.runD1 ?? UNKNOWN_RUN, { delay: "1h" }), AuthenticationError, {
              status: 401,
              message: "Invalid or missing API Key",
            }),
        ],
        [
          "tags",
          () =>
            expectApiError(() => bad.addTags(S.runA ?? UNKNOWN_RUN, { tags: ["x"] }), AuthenticationError, {
              status: 401,
              message: "Invalid or Missing API Key",
            }),
        ],
      ]);
    },
    { modes: ["direct"] },
  );

  if (OTHER_KEY) {
    await step(
      "environments: another key cannot see or touch our runs (404, never 403)",
      async () => {
        need("runA");
        const other = new ApiClient(BASE_URL, OTHER_KEY, undefined, NO_RETRY);
        await checks([
          [
            "retrieve → 404",
            () => expectApiError(() => other.retrieveRun(S.runA), NotFoundError, { status: 404, message: "Not found" }),
          ],
          [
            "cancel → 404",
            () =>
              expectApiError(() => other.cancelRun(S.runB), NotFoundError, {
                status: 404,
                message: "Resource not found",
              }),
          ],
          [
            "replay → 404",
            () =>
              expectApiError(() => other.replayRun(S.runB), NotFoundError, {
                status: 404,
                message: "Resource not found",
              }),
          ],
          [
            "reschedule → 404",
            () =>
              expectApiError(() => other.rescheduleRun(S.runD1, { delay: "1h" }), NotFoundError, {
                status: 404,
                message: "Run not found",
              }),
          ],
          [
            "tags → 404",
            () =>
              expectApiError(() => other.addTags(S.runA, { tags: ["x"] }), NotFoundError, {
                status: 404,
                message: "Run not found",
              }),
          ],
          [
            "list does not show our runs",
            async () => {
              const listed = await other.listRuns({ tag: TAG, period: "1d" });
              assert.equal(listed.data.length, 0);
            },
          ],
        ]);
      },
      { modes: ["direct"] },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The rate-limit suite (run against a server whose bucket is tiny: --rate-limit-max 3, no refill soon)

async function rateLimitSuite() {
  await step("429: x-ratelimit-* headers count down, then RateLimitError with the problem+json body", async () => {
    const remaining = [];
    let limitHeader;
    let error;
    for (let i = 0; i < 10 && !error; i++) {
      try {
        const { response, data } = await runs.list({ limit: 1 }).withResponse();
        assert.ok(Array.isArray(data.data));
        limitHeader = response.headers.get("x-ratelimit-limit");
        remaining.push(Number(response.headers.get("x-ratelimit-remaining")));
        const reset = Number(response.headers.get("x-ratelimit-reset"));
        assert.ok(reset > Date.now() - SLACK, `x-ratelimit-reset is a unix timestamp in ms, got ${reset}`);
      } catch (e) {
        error = e;
      }
    }
    S.rateLimitRemaining = remaining;
    assert.ok(error, "the bucket never ran out in 10 calls");
    assert.ok(remaining.length >= 1, "the first call of a fresh bucket succeeds");
    assert.ok(limitHeader !== null && limitHeader !== undefined, "success responses carry x-ratelimit-limit");
    for (let i = 1; i < remaining.length; i++)
      assert.ok(remaining[i] < remaining[i - 1], `x-ratelimit-remaining counts down: ${remaining}`);
    const expectedLimit = Number(limitHeader);
    assert.equal(remaining.length, expectedLimit, `exactly ${expectedLimit} calls pass before the 429`);

    const e = await expectApiError(() => Promise.reject(error), RateLimitError, {
      status: 429,
      what: "the call after the bucket is empty",
    });
    const body = e.body ?? {};
    const headers = () => JSON.stringify(Object.fromEntries(Object.entries(e.headers ?? {})));
    // Live (authorizationRateLimitMiddleware.server.ts): secondsUntilReset = (reset - now) / 1000, unrounded;
    // body.remaining is not clamped, the headers are.
    await checks([
      [
        "message = body.error",
        () =>
          assert.match(
            e.message,
            /^Rate limit exceeded 0\/\d+ requests remaining\. Retry in \d+(\.\d+)? seconds\.$/,
            `got ${JSON.stringify(e.message)}; body ${JSON.stringify(body)}`,
          ),
      ],
      ["x-ratelimit-limit", () => assert.equal(header(e, "x-ratelimit-limit"), limitHeader, `headers ${headers()}`)],
      ["x-ratelimit-remaining: 0", () => assert.equal(header(e, "x-ratelimit-remaining"), "0", `headers ${headers()}`)],
      [
        "x-ratelimit-reset in ms, in the future; RateLimitError.millisecondsUntilReset",
        () => {
          assert.ok(Number(header(e, "x-ratelimit-reset")) > Date.now() - SLACK, `headers ${headers()}`);
          assert.equal(typeof e.millisecondsUntilReset, "number");
        },
      ],
      [
        "content-type application/problem+json",
        () => assert.match(String(header(e, "content-type")), /^application\/problem\+json/, `headers ${headers()}`),
      ],
      [
        "problem+json body fields",
        () => {
          assert.equal(body.title, "Rate Limit Exceeded", JSON.stringify(body));
          assert.equal(body.status, 429);
          assert.equal(body.error, e.message);
          assert.equal(body.detail, e.message);
          assert.equal(body.limit, expectedLimit);
          assert.equal(typeof body.reset, "number");
          assert.equal(typeof body.secondsUntilReset, "number");
          assert.ok(
            typeof body.remaining === "number" && body.remaining <= 0,
            "body.remaining is the unclamped count (≤ 0)",
          );
          assert.equal(typeof body.type, "string");
        },
      ],
    ]);
  });
}

// ---------------------------------------------------------------------------------------------

const started = performance.now();
try {
  if (SUITE === "ratelimit") await rateLimitSuite();
  else await mainSuite();
} catch (error) {
  results.push({ name: "(scenario crashed)", ok: false, error: describeError(error) });
  console.error(`FAIL [${MODE}/${SUITE}] the scenario crashed: ${describeError(error)}`);
}
const failed = results.filter((r) => r.ok === false);
const summary = {
  scenario: "trigger-dev-sdk",
  sdk: "@trigger.dev/sdk@4.8.3",
  mode: MODE,
  suite: SUITE,
  baseURL: BASE_URL,
  ok: failed.length === 0,
  passed: results.filter((r) => r.ok).length,
  failed: failed.length,
  skipped: results.filter((r) => r.skipped).length,
  ms: Math.round(performance.now() - started),
  observed: {
    statusCounts30d: S.statusCounts,
    runsIn30d: S.monthCount,
    retrieve404XShouldRetry: S.xShouldRetry,
    triggerTokenScopes: S.triggerTokenScopes,
    rateLimitRemaining: S.rateLimitRemaining,
  },
  notes,
  steps: results,
};
console.log(JSON.stringify(summary));
if (failed.length) {
  console.error(
    `scenario [${MODE}/${SUITE}]: ${failed.length} of ${results.length} steps failed: ${failed.map((f) => f.name).join("; ")}`,
  );
}
process.exit(failed.length ? 1 : 0);
