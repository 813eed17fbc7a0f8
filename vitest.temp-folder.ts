// Each test run works in a temporary folder of its own, removed when the run ends: the tests make a few
// hundred folders (specs, repositories, build contexts), and runs would otherwise leave them all in /tmp.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const before = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), "multiarch-test-run-"));
  // entered by another account too: result-cache.test.ts runs the CLI as nobody in a folder under it
  chmodSync(dir, 0o755);
  // the test workers start after this, with this environment: os.tmpdir() is this folder in every test
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(dir, { recursive: true, force: true });
  };
}
