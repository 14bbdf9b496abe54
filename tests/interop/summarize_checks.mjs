// tests/interop/summarize_checks.mjs — prints what the conformance suite's `-o DIR` results say,
// scenario by scenario, with the exact message of every failed check (the suite's own summary only
// counts them).
//
//   node summarize_checks.mjs RESULTS_DIR [EXPECTED_FAILURES_TXT]
//
// With an expected-failures list (one "scenario  reason" per line), scenarios listed there that now
// pass are called out so the list can shrink. Always exits 0: the suite's exit code is the verdict.
import fs from "node:fs";
import path from "node:path";

const [dir, expectedFile] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node summarize_checks.mjs RESULTS_DIR [EXPECTED_FAILURES_TXT]");
  process.exit(2);
}

function readExpected(file) {
  const expected = new Map();
  if (!file || !fs.existsSync(file)) return expected;
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const [scenario, ...reason] = line.split(/\s+/);
    expected.set(scenario, reason.join(" "));
  }
  return expected;
}

const MAX_MESSAGE = 800;  // wire-schema messages quote whole JSON-RPC messages; keep the log readable
const clip = (s) => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)} …(${s.length} chars)` : s);

const expected = readExpected(expectedFile);
const results = new Map();  // scenario -> {passed, failed, warnings, messages[]}
// Result directories are <scenario>-<ISO timestamp with dashes> (server runs: server-<scenario>-...);
// a client scenario named "auth/x" lands in auth/x-<timestamp>, so the walk goes into subdirectories.
function* resultDirs(root, rel = "") {
  for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory()) continue;
    const sub = rel ? `${rel}/${entry.name}` : entry.name;
    if (fs.existsSync(path.join(root, sub, "checks.json"))) yield sub;
    else yield* resultDirs(root, sub);
  }
}
for (const entry of resultDirs(dir)) {
  const checksFile = path.join(dir, entry, "checks.json");
  const scenario = entry.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, "");
  let checks;
  try {
    checks = JSON.parse(fs.readFileSync(checksFile, "utf8"));
  } catch (e) {
    results.set(scenario, { passed: 0, failed: 1, warnings: 0, messages: [`checks.json unreadable: ${e.message}`] });
    continue;
  }
  const r = { passed: 0, failed: 0, warnings: 0, messages: [] };
  for (const c of checks) {
    if (c.status === "SUCCESS") r.passed++;
    else if (c.status === "FAILURE" || c.status === "ERROR" || c.status === "WARNING") {
      // The suite fails a scenario on a WARNING as well (its overall verdict counts both).
      if (c.status === "WARNING") r.warnings++;
      else r.failed++;
      r.messages.push(`${c.id} [${c.status}]: ${clip(String(c.errorMessage ?? c.description ?? ""))}`);
    }
  }
  results.set(scenario, r);
}

let failedScenarios = 0;
console.log(`--- conformance results in ${dir}: ${results.size} scenarios ---`);
for (const [scenario, r] of results) {
  if (r.failed === 0 && r.warnings === 0) {
    console.log(`passed ${scenario}: ${r.passed} checks passed`);
    continue;
  }
  failedScenarios++;
  const note = expected.has(scenario) ? `  (expected: ${expected.get(scenario)})` : "";
  const warned = r.warnings ? `, ${r.warnings} warnings` : "";
  console.log(`FAILED ${scenario}: ${r.passed} passed, ${r.failed} failed${warned}${note}`);
  for (const m of r.messages) console.log(`    ${m}`);
}
for (const [scenario, reason] of expected) {
  const r = results.get(scenario);
  if (r && r.failed === 0 && r.warnings === 0) {
    console.log(`NOW PASSING (remove from the expected-failures list): ${scenario}  — listed as: ${reason}`);
    process.exitCode = 1;  // the list only ever shrinks: a stale entry fails the run
  } else if (!r) {
    console.log(`NOT RUN (listed as expected failure but the suite did not run it): ${scenario}`);
  }
}
console.log(`--- ${results.size - failedScenarios} scenarios clean, ${failedScenarios} with failed checks ---`);
