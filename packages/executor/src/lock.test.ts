import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { acquireLock, acquireOutputLock, holderAlive, lockFileOf, processStart } from "./lock.ts";

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

  // Root writes any folder, so the test takes another user's identity (seteuid) for the check. A spec's
  // existing .multiarch/ that the user cannot write (a read-only checkout) was a stack trace (EACCES).
  test.skipIf(process.getuid?.() !== 0)("a .multiarch/ this user cannot write: the lock is taken in the user's temporary folder", () => {
    const file = spec();
    chmodSync(join(file, ".."), 0o755);
    mkdirSync(join(file, "..", ".multiarch"));
    process.seteuid?.(65534);
    try {
      const l = acquireLock(file);
      // node ignores TMPDIR while the effective user differs from the real one: /tmp here
      expect(l).toMatchObject({ ok: true, file: expect.stringMatching(new RegExp(`^${tmpdir()}/multiarch-locks-65534/[0-9a-f]{16}\\.lock$`)) });
      if (l.ok) l.release();
    } finally {
      process.seteuid?.(0);
    }
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

  test("runs racing for one lock: exactly one holds it, every round", async () => {
    // Separate processes, as real runs are: each waits for a common instant, then takes the lock.
    // Half the rounds start from a lock left by a dead process, which every racer sees as stale.
    const dir = mkdtempSync(join(tmpdir(), "multiarch-lock-race-"));
    const lockJs = join(dir, "lock.mjs");
    const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 };
    const transpiled = (url: URL) => ts.transpileModule(readFileSync(url, "utf8"), { compilerOptions: options }).outputText;
    // lock.ts with the modules it imports beside it
    writeFileSync(join(dir, "sha256.mjs"), transpiled(new URL("../../plan/src/sha256.ts", import.meta.url)));
    writeFileSync(join(dir, "make-dir.mjs"), transpiled(new URL("./make-dir.ts", import.meta.url)));
    writeFileSync(
      lockJs,
      transpiled(new URL("./lock.ts", import.meta.url))
        .replace(/from "@multiarch\/plan"/, 'from "./sha256.mjs"')
        .replace(/from "\.\/make-dir\.ts"/, 'from "./make-dir.mjs"'),
    );
    const racer = join(dir, "racer.mjs");
    writeFileSync(
      racer,
      `import { acquireLock } from "./lock.mjs";
       import { createInterface } from "node:readline";
       let held;
       for await (const line of createInterface({ input: process.stdin })) {
         const [verb, at] = line.split(" ");
         if (verb === "go") {
           while (Date.now() < Number(at)) {}
           const l = acquireLock(process.argv[2]);
           held = l.ok ? l : undefined;
           console.log(l.ok ? "held" : "refused");
         } else {
           held?.release();
           held = undefined;
           console.log("released");
         }
       }`,
    );
    const file = spec();
    const racers = Array.from({ length: 6 }, () => {
      const child = spawn(process.execPath, [racer, file]);
      return { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
    });
    const ask = (r: (typeof racers)[number], line: string) => {
      r.child.stdin.write(`${line}\n`);
      return r.lines.next().then((next) => next.value as string);
    };
    const dead = spawn("true");
    await new Promise((r) => dead.on("exit", r));
    try {
      for (let round = 0; round < 40; round++) {
        if (round % 2) writeFileSync(lockFileOf(file), JSON.stringify({ pid: dead.pid, host: hostname(), since: "x" }));
        const at = Date.now() + 30;
        const got = await Promise.all(racers.map((r) => ask(r, `go ${at}`)));
        expect(
          got.filter((a) => a === "held"),
          `round ${round}`,
        ).toHaveLength(1);
        await Promise.all(racers.map((r) => ask(r, "release")));
      }
    } finally {
      for (const r of racers) r.child.kill();
    }
  }, 60_000);
});

// found by a re-test: on a full disk each run left an empty .lock.PID.draft, and the error named no file.
// A tmpfs of its own (root only; skipped where mount is refused)
test("a full disk leaves no lock draft, and the error names the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-lock-full-"));
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", dir]).status !== 0) return;
  try {
    // filled: a file of the whole size (tmpfs pages are 4k)
    spawnSync("sh", ["-c", `cat /dev/zero > "${dir}/fill" 2>/dev/null`]);
    let thrown: NodeJS.ErrnoException | undefined;
    try {
      acquireOutputLock(dir, spec());
    } catch (e) {
      thrown = e as NodeJS.ErrnoException;
    }
    expect(thrown?.code).toBe("ENOSPC");
    expect(thrown?.path).toBe(join(dir, `.lock.${process.pid}.draft`));
    expect(readdirSync(dir)).toEqual(["fill"]);
  } finally {
    spawnSync("umount", [dir]);
  }
});
