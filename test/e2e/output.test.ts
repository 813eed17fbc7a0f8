// The CLI's stdout as shells use it: a reader that goes away early (`| head`) is no failure and no stack
// trace; output that cannot be written (a full disk) is a non-zero exit and one sentence. Needs no engine.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { BIN, example } from "./helpers.ts";

/** plan --json of a copy of the monorepo example, its stdout into `redirect`; the CLI's own exit code. */
const plan = (redirect: string) => {
  const spec = join(example("monorepo"), "multiarch.yaml");
  const script = `"$0" "$1" plan -f "$2" --strategy bake --json ${redirect}; exit \${PIPESTATUS[0]}`;
  return spawnSync("/bin/bash", ["-c", script, process.execPath, BIN, spec], { encoding: "utf8" });
};

test("plan --json | head: the CLI exits 0, nothing on stderr", () => {
  const r = plan("| head -c 10 >/dev/null");
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe("");
});

test.skipIf(!existsSync("/dev/full"))("plan --json > /dev/full: exit 4 and one sentence, no stack trace", () => {
  const r = plan(">/dev/full");
  expect(r.status).toBe(4);
  expect(r.stderr).toContain("multiarch: the output could not be written whole (ENOSPC)");
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
