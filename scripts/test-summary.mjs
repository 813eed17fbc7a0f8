// Adds up the vitest JSON reports of every package and both e2e tiers into one closing line,
// "N passed, N failed", after the time each e2e file took (slowest first), so a slow file shows.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const files = [
  ...readdirSync(join(root, "packages")).map((p) => join(root, "packages", p, "test-results.json")),
  join(root, "test", "test-results.fast.json"),
  join(root, "test", "test-results.json"),
].filter(existsSync);
let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
const e2e = [];
for (const f of files) {
  const r = JSON.parse(readFileSync(f, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  // a file that failed outside its tests (a beforeAll): its tests are skipped, none failed; it counts as one
  for (const t of r.testResults)
    if (t.status === "failed" && !t.assertionResults.some((a) => a.status === "failed")) {
      failed += 1;
      broken.push(relative(root, t.name));
    }
  if (f.startsWith(join(root, "test")))
    for (const t of r.testResults)
      e2e.push({ file: relative(join(root, "test"), t.name), ms: t.endTime - t.startTime, tier: f.endsWith(".fast.json") ? "fast" : "engine" });
}
if (e2e.length > 0) {
  const total = e2e.reduce((s, t) => s + t.ms, 0);
  console.log(`\ne2e files by time (${(total / 1000).toFixed(0)} s in all):`);
  for (const t of e2e.sort((a, b) => b.ms - a.ms)) console.log(`  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.tier.padEnd(6)}  ${t.file}`);
}
for (const f of broken) console.log(`failed outside its tests (a set-up or tear-down): ${f}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
