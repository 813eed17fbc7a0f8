import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { acquireLock, holderAlive, lockFileOf, processStart } from "./lock.ts";

const spec = () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-lock-"));
  writeFileSync(join(dir, "multiarch.yaml"), "version: 1\n");
  return join(dir, "multiarch.yaml");
};

describe("lock", () => {
  test("one holder per spec; released on release", () => {
    const file = spec();
    const a = acquireLock(file);
    expect(a.ok).toBe(true);
    const b = acquireLock(file);
    expect(b).toMatchObject({ ok: false, holder: { pid: process.pid } });
    if (a.ok) a.release();
    const c = acquireLock(file);
    expect(c.ok).toBe(true);
    if (c.ok) c.release();
  });

  test("keyed by the spec, beside it, whatever the output folder", () => {
    const file = spec();
    expect(lockFileOf(file)).toBe(join(file, "..", ".multiarch", "multiarch.yaml.lock"));
  });

  test("a lock whose process is gone is taken over", async () => {
    const file = spec();
    const child = spawn("true");
    await new Promise((r) => child.on("exit", r));
    writeFileSync(lockFileOf(file), JSON.stringify({ pid: child.pid, host: hostname(), since: "x" }));
    const l = acquireLock(file);
    expect(l.ok).toBe(true);
    if (l.ok) l.release();
  });

  test("a reused PID (same PID, another start time) is not the holder", () => {
    const file = spec();
    // our own PID, but a start time that is not ours: the recorded process is gone
    writeFileSync(lockFileOf(file), JSON.stringify({ pid: process.pid, host: hostname(), since: "x", started: "1" }));
    expect(holderAlive({ pid: process.pid, host: hostname(), since: "x", started: "1" })).toBe(false);
    const l = acquireLock(file);
    expect(l.ok).toBe(true);
    if (l.ok) {
      expect(JSON.parse(readFileSync(l.file, "utf8")).started).toBe(processStart(process.pid));
      l.release();
    }
  });

  test("garbage in the lock file is stale", () => {
    const file = spec();
    writeFileSync(lockFileOf(file), "{");
    const l = acquireLock(file);
    expect(l.ok).toBe(true);
    if (l.ok) l.release();
  });
});
