import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, expect, test } from "vitest";
import { envSet } from "./env-set.ts";
import { hash, record, replay } from "./result-cache.ts";

let dir: string;
let env: NodeJS.ProcessEnv;
const ARGV = ["validate", "-f", "x.yaml"];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "multiarch-result-cache-unit-"));
  env = { MULTIARCH_CACHE_DIR: join(dir, "cache"), SPEC_VERSION: "1" };
  writeFileSync(join(dir, "input"), "one");
});

const entries = () => {
  try {
    return readdirSync(join(dir, "cache", "validate"));
  } catch {
    return [];
  }
};

/** A recorded run that reads the input file and SPEC_VERSION, then does `more`. */
function recordRun(more: (r: NonNullable<ReturnType<typeof record>>) => void = () => {}) {
  const r = record(ARGV, dir, env, "/nonexistent-package");
  if (!r) throw new Error("this test's output is a terminal: nothing is recorded");
  readFileSync(join(dir, "input"), "utf8");
  void r.env.SPEC_VERSION;
  more(r);
  r.finish(0, true);
}

test("an answer is kept, given while its reads hold, and not once one changes", () => {
  recordRun();
  expect(entries()).toHaveLength(1);
  expect(replay(ARGV, dir, env)).toBe(0);
  expect(replay([...ARGV, "--json"], dir, env)).toBeUndefined();
  expect(replay(ARGV, "/", env)).toBeUndefined();
  expect(replay(ARGV, dir, { ...env, SPEC_VERSION: "2" })).toBeUndefined();
  writeFileSync(join(dir, "input"), "two");
  expect(replay(ARGV, dir, env)).toBeUndefined();
});

// Another account with a say in the folder (a shared MULTIARCH_CACHE_DIR, XDG_CACHE_HOME or HOME) could
// put an answer there, or one of its own runs' answers: its git facts, for one, are not this user's.
// Both were replayed. Changing owners needs root, as CI runs.
test.skipIf(process.getuid?.() !== 0)("only this user's own entries, in a folder only it can write, are answers", () => {
  const folder = join(dir, "cache", "validate");
  const entry = () => join(folder, entries()[0]!);
  recordRun();
  expect(replay(ARGV, dir, env)).toBe(0);
  chownSync(entry(), 65534, 65534);
  expect(replay(ARGV, dir, env)).toBeUndefined();
  chownSync(entry(), 0, 0);
  chmodSync(entry(), 0o622);
  expect(replay(ARGV, dir, env)).toBeUndefined();
  chmodSync(entry(), 0o600);
  chmodSync(folder, 0o777);
  expect(replay(ARGV, dir, env)).toBeUndefined();
  chmodSync(folder, 0o700);
  chownSync(folder, 65534, 65534);
  expect(replay(ARGV, dir, env)).toBeUndefined();
  // nor does this user write answers into such a folder
  rmSync(entry());
  recordRun();
  expect(entries()).toEqual([]);
});

test("a listing of the environment is kept as its names: a new name runs validate, a new value of a name not read does not", () => {
  env.UNREAD = "a";
  recordRun((r) => Object.keys(r.env));
  expect(replay(ARGV, dir, { ...env, OTHER: "x" })).toBeUndefined();
  expect(replay(ARGV, dir, { ...env, UNREAD: "b" })).toBe(0);
});

test("a run that writes, reads what it did not open, or stops with an error of the machine keeps nothing", () => {
  recordRun(() => writeFileSync(join(dir, "side-effect"), ""));
  // a descriptor opened before recording (stdin is one): what it reads cannot be read again
  const fd = openSync(join(dir, "input"), "r");
  recordRun(() => readSync(fd, Buffer.alloc(3)));
  closeSync(fd);
  const r = record(ARGV, dir, env, "/nonexistent-package")!;
  r.finish(4, true);
  const incomplete = record(ARGV, dir, env, "/nonexistent-package")!;
  incomplete.finish(0, false);
  expect(entries()).toEqual([]);
});

test("output written past the recorder's writers (console, process.stdout) keeps nothing: the entry would lack it", () => {
  recordRun(() => writeSync(2, ""));
  expect(entries()).toEqual([]);
});

test("a read that failed is repeated: it holds only while it fails the same way", () => {
  mkdirSync(join(dir, "spec"));
  recordRun(() => {
    const fd = openSync(join(dir, "spec"), "r");
    try {
      expect(() => readSync(fd, Buffer.alloc(8), 0, 8, 0)).toThrow(/EISDIR/);
    } finally {
      closeSync(fd);
    }
  });
  expect(replay(ARGV, dir, env)).toBe(0);
  rmSync(join(dir, "spec"), { recursive: true });
  writeFileSync(join(dir, "spec"), "readable now");
  expect(replay(ARGV, dir, env)).toBeUndefined();
});

test("an entry that is no regular file (a FIFO, a link to /dev/zero) is no answer, and blocks nothing", () => {
  recordRun();
  const [name] = entries();
  const entry = join(dir, "cache", "validate", name!);
  rmSync(entry);
  expect(spawnSync("mkfifo", [entry]).status).toBe(0);
  expect(replay(ARGV, dir, env)).toBeUndefined();
});

test("an entry of another shape (null, a list, facts that are not facts) is no answer, and no crash", () => {
  recordRun();
  const entry = join(dir, "cache", "validate", entries()[0]!);
  const kept = JSON.parse(readFileSync(entry, "utf8"));
  for (const text of [
    "null",
    "[]",
    "7",
    JSON.stringify({ ...kept, facts: [null] }),
    JSON.stringify({ ...kept, facts: [{ op: "rmSync", args: [dir], is: "" }] }),
  ]) {
    writeFileSync(entry, text);
    expect(replay(ARGV, dir, env)).toBeUndefined();
  }
  expect(readFileSync(join(dir, "input"), "utf8")).toBe("one");
});

test("a variable asked only whether it is set (a secret source) is kept as that alone, never by its value", () => {
  env.PASSWORD = "hunter2";
  recordRun((r) => expect(envSet(r.env, "PASSWORD")).toBe(true));
  const [name] = entries();
  expect(readFileSync(join(dir, "cache", "validate", name!), "utf8")).not.toContain(hash("hunter2"));
  expect(replay(ARGV, dir, { ...env, PASSWORD: "another" })).toBe(0);
  expect(replay(ARGV, dir, { ...env, PASSWORD: "" })).toBeUndefined();
  expect(replay(ARGV, dir, { ...env, PASSWORD: undefined })).toBeUndefined();
});

test("a cache folder that cannot be made, where mkdir says ENOENT below a folder that exists (/proc), costs only the entry", () => {
  env.MULTIARCH_CACHE_DIR = "/proc/self/multiarch-cache";
  recordRun();
  expect(replay(ARGV, dir, env)).toBeUndefined();
});
