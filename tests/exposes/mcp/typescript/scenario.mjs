// The official TypeScript MCP client (@modelcontextprotocol/sdk, 2025-11-25) against capgate's MCP server.
// Usage: node scenario.mjs MCP_URL RUN_TO_WAIT_FOR RUN_TO_CANCEL
// Prints one JSON line: {"scenario": "mcp-typescript", "steps": [...], "observed": {...}}; the Python test
// checks the steps and what reached the upstream.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const [url, waitRun, cancelRun] = process.argv.slice(2);
const steps = [];
const observed = { progress: [], questions: [], answers: {} };

async function step(name, body) {
  try {
    await body();
    steps.push({ name, ok: true });
  } catch (error) {
    steps.push({ name, ok: false, error: String(error?.stack ?? error) });
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function connect(name, capabilities, answers = []) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  if (capabilities.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      observed.questions.push(request.params);
      return answers.shift();
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

const text = (result) => result.content.filter((block) => block.type === 'text').map((block) => block.text);

// A client that can ask its user: a session, in which capgate asks before cancel-run.
const answers = [
  { action: 'decline' },
  { action: 'cancel' },
  { action: 'accept', content: { confirm: true } },
];
const asking = await connect('capgate-ts-asking', { elicitation: { form: {} } }, answers);

await step('tools are listed with output schemas, wait-for-run among them', async () => {
  const { tools } = await asking.client.listTools();
  const names = tools.map((tool) => tool.name);
  check(names.includes('wait-for-run') && names.includes('cancel-run'), `tools: ${names}`);
  const wait = tools.find((tool) => tool.name === 'wait-for-run');
  check(wait.outputSchema && wait.inputSchema.properties.timeout.maximum === 300, 'wait-for-run schema');
  check(wait.annotations.readOnlyHint === true, 'wait-for-run is read-only');
  check(asking.transport.sessionId, 'a client that can be asked gets a session');
});

await step('wait-for-run reports progress in order and returns the finished run (validated by the SDK)', async () => {
  const result = await asking.client.callTool(
    { name: 'wait-for-run', arguments: { runId: waitRun } },
    CallToolResultSchema,
    { onprogress: (progress) => observed.progress.push(progress), resetTimeoutOnProgress: true },
  );
  check(!result.isError, `isError: ${text(result)}`);
  check(result.structuredContent.id === waitRun, 'the run waited for');
  observed.finalStatus = result.structuredContent.status;
  observed.waitText = text(result)[0];
});

for (const expected of ['decline', 'cancel', 'accept']) {
  await step(`cancel-run asks first; the user answers ${expected}`, async () => {
    const result = await asking.client.callTool({ name: 'cancel-run', arguments: { runId: cancelRun } });
    observed.answers[expected] = { isError: result.isError ?? false, text: text(result) };
  });
}

await step('a run reads back as a resource', async () => {
  const read = await asking.client.readResource({ uri: `trigger://runs/${cancelRun}` });
  check(JSON.parse(read.contents[0].text).id === cancelRun, 'the resource is the run');
});
await asking.transport.terminateSession();
await asking.client.close();

// A client that cannot be asked: no session, and the operator's policy (allow by default) decides.
const scripted = await connect('capgate-ts-scripted', {});
await step('a client without elicitation is served statelessly and the policy lets cancel-run through', async () => {
  check(!scripted.transport.sessionId, 'no session for a client that cannot be asked');
  const result = await scripted.client.callTool({ name: 'cancel-run', arguments: { runId: cancelRun } });
  check(!result.isError, `isError: ${text(result)}`);
});
await scripted.client.close();

console.log(JSON.stringify({ scenario: 'mcp-typescript', steps, observed }));
