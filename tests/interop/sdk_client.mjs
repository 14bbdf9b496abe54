// tests/interop/sdk_client.mjs — a tiny MCP client written with the official TypeScript SDK.
//
//   node sdk_client.mjs http://127.0.0.1:PORT/mcp
//
// Connects over Streamable HTTP (the SDK does the initialize handshake and carries Mcp-Session-Id),
// checks that tools/list offers the four built-in tools, calls `calculator` with "2+2" and expects
// exactly the text "4" with isError unset. Exit 0 on success, 1 with a reason otherwise.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const EXPECTED_TOOLS = ["calculator", "get_weather", "get_time", "convert_units"];
const url = process.argv[2];
if (!url) {
  console.error("usage: node sdk_client.mjs http://127.0.0.1:PORT/mcp");
  process.exit(2);
}

// A server that never answers must not hang ctest: give up after 30 s.
const watchdog = setTimeout(() => {
  console.error("sdk_client: no answer within 30 s");
  process.exit(1);
}, 30_000);

function fail(message) {
  console.error(`sdk_client: FAIL: ${message}`);
  process.exitCode = 1;
}

const client = new Client({ name: "llmdesk-sdk-interop", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(new URL(url));
try {
  await client.connect(transport);
  console.log(`connected: server ${JSON.stringify(client.getServerVersion())}, ` +
              `protocol session ${transport.sessionId ?? "(none)"}`);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  console.log(`tools/list: ${names.join(", ")}`);
  for (const name of EXPECTED_TOOLS) {
    if (!names.includes(name)) fail(`tools/list lacks '${name}'`);
  }

  const result = await client.callTool({ name: "calculator", arguments: { expression: "2+2" } });
  console.log(`tools/call calculator 2+2: ${JSON.stringify(result)}`);
  const text = result.content?.find((c) => c.type === "text")?.text;
  if (result.isError) fail(`calculator returned isError: ${text}`);
  else if (text !== "4") fail(`calculator 2+2 returned ${JSON.stringify(text)}, expected "4"`);

  await transport.terminateSession().catch((e) => console.log(`DELETE session: ${e.message}`));
} catch (e) {
  fail(e instanceof Error ? e.stack ?? e.message : String(e));
} finally {
  await client.close().catch(() => {});
  clearTimeout(watchdog);
}
if (!process.exitCode) console.log("sdk_client: OK");
