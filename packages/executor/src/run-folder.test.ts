import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { processStart } from "./lock.ts";
import { openRunFolder, type RunRecord, startWatchdog, sweepDeadRuns } from "./run-folder.ts";

const setUp = () => {
  const tmp = mkdtempSync(join(tmpdir(), "multiarch-sweep-"));
  const spec = join(tmp, "multiarch.yaml");
  writeFileSync(spec, "version: 1\n");
  return { tmp, spec };
};

/** A run folder as a run of `spec` by `pid` left it, with a layout in it. */
function leftBy(tmp: string, name: string, pid: number, spec: string, more: Partial<RunRecord> = {}): string {
  const dir = join(tmp, `multiarch-run-${name}`);
  mkdirSync(join(dir, "oci"), { recursive: true });
  writeFileSync(join(dir, "oci", "blob"), "x".repeat(1000));
  const record: RunRecord = { holder: { pid, host: hostname(), since: "", spec }, engine: {}, images: [], groups: [], ...more };
  writeFileSync(join(dir, "run.json"), JSON.stringify(record));
  return dir;
}

const gonePid = () => spawnSync("true").pid!;

describe("run folders", () => {
  test("a gone run's folder is removed; a live run's, and a folder without a record, stay", async () => {
    const { tmp, spec } = setUp();
    const dead = leftBy(tmp, "dead", gonePid(), spec);
    const live = leftBy(tmp, "live", process.pid, spec);
    mkdirSync(join(tmp, "multiarch-run-older"));
    const swept = await sweepDeadRuns(tmp, spec, {});
    expect(swept).toMatchObject({ runs: 1, images: [], running: [] });
    expect(swept.bytes).toBeGreaterThanOrEqual(1000);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(join(tmp, "multiarch-run-older"))).toBe(true);
  });

  test("another spec's gone run with images keeps its record for that spec's next run, said once", async () => {
    const { tmp, spec } = setUp();
    const images = ["127.0.0.1:5000/x/app@sha256:0"];
    const other = leftBy(tmp, "other", gonePid(), join(tmp, "other.yaml"), { images });
    expect(await sweepDeadRuns(tmp, spec, {})).toMatchObject({ runs: 0, images: [], emptied: [{ spec: join(tmp, "other.yaml"), images }] });
    expect(readdirSync(other)).toEqual(["run.json"]);
    // found by a review: every later run of any spec said it had removed that folder again
    expect(await sweepDeadRuns(tmp, spec, {})).toMatchObject({ runs: 0, emptied: [] });
  });

  // found by a review: a run started right after a kill told the user to kill what the watchdog was ending
  test("a gone run's command that ends within the watchdog's time is waited for, then its folder removed", async () => {
    const { tmp, spec } = setUp();
    const child = spawn("sleep", ["1"], { detached: true, stdio: "ignore" });
    const group = { pid: child.pid!, started: processStart(child.pid!)! };
    const dir = leftBy(tmp, "ending", gonePid(), spec, { groups: [group] });
    expect(await sweepDeadRuns(tmp, spec, {})).toMatchObject({ runs: 1, running: [] });
    expect(existsSync(dir)).toBe(false);
  });

  // found by a review: a run killed before its watchdog had started was never noticed gone (the watchdog took
  // its own parent, by then not the run, for the run), and the watchdog stayed
  test("the watchdog of a run already gone ends the run's commands, then itself", async () => {
    const { tmp, spec } = setUp();
    const child = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
    try {
      const dir = leftBy(tmp, "early", gonePid(), spec, { groups: [{ pid: child.pid!, started: processStart(child.pid!)! }] });
      startWatchdog(dir, gonePid());
      const ended = await new Promise<boolean>((done) => {
        child.on("exit", () => done(true));
        setTimeout(() => done(false), 5_000);
      });
      expect(ended).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("a gone run whose command still runs is reported and kept", async () => {
    const { tmp, spec } = setUp();
    const child = spawn("sleep", ["10"], { detached: true, stdio: "ignore" });
    try {
      const group = { pid: child.pid!, started: processStart(child.pid!)! };
      const dir = leftBy(tmp, "bake", gonePid(), spec, { groups: [group] });
      expect(await sweepDeadRuns(tmp, spec, {})).toMatchObject({ runs: 0, running: [{ groups: [child.pid], dir }] });
      expect(existsSync(join(dir, "oci"))).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });

  // found by a review: a second Ctrl-C removed the tests' images while their containers still ended: they
  // lost their names and stayed in the engine, nameless
  test("a run abandoned (a second Ctrl-C) keeps its record with the images, for its spec's next run", async () => {
    const { tmp, spec } = setUp();
    const folder = openRunFolder(tmp, spec, {});
    folder.leaves(["127.0.0.1:5000/x/app@sha256:1"]);
    writeFileSync(join(folder.dir, "bake-metadata.json"), "{}");
    folder.abandon();
    expect(readdirSync(folder.dir)).toEqual(["run.json"]);
    const record = JSON.parse(readFileSync(join(folder.dir, "run.json"), "utf8")) as RunRecord;
    expect(record).toMatchObject({ images: ["127.0.0.1:5000/x/app@sha256:1"], groups: [] });
  });

  test("a run's own folder holds its record until removed", () => {
    const { tmp, spec } = setUp();
    const folder = openRunFolder(tmp, spec, { DOCKER_HOST: "unix:///x.sock" });
    folder.leaves(["a@sha256:1"]);
    expect(readdirSync(folder.dir)).toEqual(["run.json"]);
    folder.remove();
    expect(existsSync(folder.dir)).toBe(false);
  });
});
