// tests/interop/openai_client.mjs — llmdesk's OpenAI-compatible gateway driven by the official `openai` npm
// client (pinned in package.json), run by tests/integration/gateway_openai_test.cpp.
//
//   node openai_client.mjs BASE_URL CASE MODEL [API_KEY]
//
// BASE_URL is http://127.0.0.1:PORT/v1. CASE is one of:
//   list          client.models.list(): prints {"ids": [...], "states": {...}}
//   chat          one chat completion: prints {"content", "finish_reason", "usage"}
//   stream        the same streamed: prints {"content", "chunks", "finish_reason"}
//   client-tools  a request with its own `calculator` tool: prints {"finish_reason", "tool_calls"}
//   server-tools  MODEL is NAME+tools, answered by the gateway's agent loop: prints {"content", "usage"}
//   server-tools-stream   the same streamed: prints {"content", "tool_events"}
// Prints one JSON object on stdout and exits 0, or prints the error and exits 1.
import OpenAI from "openai";

const [baseURL, which, model, apiKey] = process.argv.slice(2);
if (!baseURL || !which || !model) {
  console.error("usage: node openai_client.mjs BASE_URL CASE MODEL [API_KEY]");
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.error("openai_client: no answer within 120 s");
  process.exit(1);
}, 120_000);

const client = new OpenAI({ baseURL, apiKey: apiKey || "unused", maxRetries: 0, timeout: 110_000 });
const question = [{ role: "user", content: "What's 2+2?" }];
const calculator = {
  type: "function",
  function: {
    name: "calculator",
    description: "Evaluates an arithmetic expression",
    parameters: { type: "object", properties: { expression: { type: "string" } }, required: ["expression"] },
  },
};

async function run() {
  switch (which) {
    case "list": {
      const ids = [];
      const states = {};
      for await (const m of client.models.list()) {
        ids.push(m.id);
        states[m.id] = m.llmdesk?.state;
      }
      return { ids, states };
    }
    case "chat": {
      const r = await client.chat.completions.create({ model, messages: question, max_tokens: 32 });
      return { content: r.choices[0].message.content, finish_reason: r.choices[0].finish_reason, usage: r.usage };
    }
    case "stream": {
      const s = await client.chat.completions.create({ model, messages: question, max_tokens: 32, stream: true });
      let content = "";
      let chunks = 0;
      let finish_reason = null;
      for await (const c of s) {
        chunks++;
        if (c.choices?.[0]?.delta?.content) content += c.choices[0].delta.content;
        if (c.choices?.[0]?.finish_reason) finish_reason = c.choices[0].finish_reason;
      }
      return { content, chunks, finish_reason };
    }
    case "client-tools": {
      const r = await client.chat.completions.create({ model, messages: question, tools: [calculator], max_tokens: 64 });
      return { finish_reason: r.choices[0].finish_reason, tool_calls: r.choices[0].message.tool_calls ?? [] };
    }
    case "server-tools": {
      const r = await client.chat.completions.create({ model, messages: question, max_tokens: 64 });
      return { content: r.choices[0].message.content, usage: r.usage, llmdesk: r.llmdesk };
    }
    case "server-tools-stream": {
      const s = await client.chat.completions.create({ model, messages: question, max_tokens: 64, stream: true });
      let content = "";
      const tool_events = [];
      for await (const c of s) {
        if (c.choices?.[0]?.delta?.content) content += c.choices[0].delta.content;
        if (c.llmdesk) tool_events.push(c.llmdesk);
      }
      return { content, tool_events };
    }
    default:
      throw new Error(`unknown case ${which}`);
  }
}

try {
  console.log(JSON.stringify(await run()));
} catch (e) {
  console.error(`openai_client: FAIL: ${e?.status ?? ""} ${e?.message ?? e}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
