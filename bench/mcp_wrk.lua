-- bench/mcp_wrk.lua — wrk script for bench/mcp_wrk.sh: POSTs one MCP tools/call per request on an
-- already initialized session and checks every answer, because a fast error is not a call.
--
-- Environment (set by mcp_wrk.sh):
--   MCP_SESSION_ID     Mcp-Session-Id from the initialize handshake
--   MCP_VERSION        negotiated protocol version (MCP-Protocol-Version header)
--   MCP_TOOL           tool name, e.g. calculator
--   MCP_ARGS           the tool's arguments as a JSON object, e.g. {"expression":"2+2"}
--   MCP_EXPECT         a substring every successful reply contains, e.g. "text":"4"
-- Each request gets a unique JSON-RPC id ("<thread>-<n>"): a session must not see two requests in
-- flight with the same id. done() prints one machine-readable RESULT line for mcp_wrk.sh.

local session = os.getenv("MCP_SESSION_ID") or ""
local tool = os.getenv("MCP_TOOL") or "calculator"
local args = os.getenv("MCP_ARGS") or '{"expression":"2+2"}'
local expect = os.getenv("MCP_EXPECT") or '"text":"4"'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = session
wrk.headers["MCP-Protocol-Version"] = os.getenv("MCP_VERSION") or "2025-11-25"

local body_head = '{"jsonrpc":"2.0","id":"'
local body_tail = '","method":"tools/call","params":{"name":"' .. tool .. '","arguments":' .. args .. '}}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(_)
  n, ok, non2xx, rpc_errors, tool_errors, unexpected = 0, 0, 0, 0, 0, 0
  sample_bad = ""
end

function request()
  n = n + 1
  return wrk.format(nil, nil, nil, body_head .. tid .. "-" .. n .. body_tail)
end

local function remember(status, body)
  if sample_bad == "" then sample_bad = status .. " " .. string.sub(body or "", 1, 300) end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1; remember(status, body)
  elseif string.find(body, '"error":', 1, true) then
    rpc_errors = rpc_errors + 1; remember(status, body)
  elseif string.find(body, '"isError":true', 1, true) then
    tool_errors = tool_errors + 1; remember(status, body)
  elseif string.find(body, '"result":', 1, true) and string.find(body, expect, 1, true) then
    ok = ok + 1
  else
    unexpected = unexpected + 1; remember(status, body)
  end
end

function done(summary, latency, requests)
  local t = { ok = 0, non2xx = 0, rpc_errors = 0, tool_errors = 0, unexpected = 0 }
  local sample = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
    if sample == "" then sample = thread:get("sample_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d ok=%d non2xx=%d rpc_errors=%d tool_errors=%d unexpected=%d " ..
    "socket_errors=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, t.ok, t.non2xx, t.rpc_errors, t.tool_errors, t.unexpected,
    e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  if sample ~= "" then io.write("FIRST_BAD_REPLY " .. string.gsub(sample, "\n", "\\n") .. "\n") end
end
