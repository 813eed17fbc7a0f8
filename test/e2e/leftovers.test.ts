// A run stopped without its clean-up (SIGKILL) leaves its folder and the images its tests pulled: its bake
// ends with it, and the next run removes what it left, never what a live run beside it still uses.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { BIN, cli, docker, env, namespace, project, until } from "./helpers.ts";

/** apply in the background, its progress kept; runs' folders go to `tmp`. */
function start(spec: string, tmp: string) {
  const child = spawn(process.execPath, [BIN, "apply", "-f", spec, "--verbose"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", TMPDIR: tmp },
  });
  const run = { child, out: "", exited: new Promise<number | null>((r) => child.on("close", (code) => r(code))) };
  child.stdout.on("data", (c: Buffer) => (run.out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (run.out += c.toString()));
  return run;
}

const runFolders = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith("multiarch-run-"));

/** The processes whose command line names `text` (a run's folder: bake's --metadata-file is in it). */
const processesNaming = (text: string) =>
  readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    });

/** The process groups a run's record lists whose leader still runs (a zombie has ended). */
const runningGroups = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as { groups: { pid: number }[] }).groups.filter((g) => {
    try {
      const stat = readFileSync(`/proc/${g.pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
      return false;
    }
  });

describe.skipIf(!env)("leftovers of a killed run", () => {
  test("SIGKILL mid-bake: the bake ends with the run; the next run removes its folder and says so, not a live run's", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "leftovers-"));
    // quiet RUNs (their own, so not cached): a bake that prints after its run is gone dies of the broken pipe
    const live = project(env!.registry, namespace("live"), `FROM ${env!.baseImage}\nRUN true live-${Date.now()} && sleep 25\n`);
    const dead = project(env!.registry, namespace("dead"), `FROM ${env!.baseImage}\nRUN true dead-${Date.now()} && sleep 25\n`);
    const a = start(join(live, "multiarch.yaml"), tmp);
    const b = start(join(dead, "multiarch.yaml"), tmp);
    // both platforms' RUN sleeps (after them, bake prints nothing until they end)
    const sleeping = (out: string) => new Set(out.match(/\[linux\/(amd64|arm64) 2\/2\] RUN/g)).size === 2;
    await until(() => sleeping(a.out) && sleeping(b.out), "both bakes to sleep", 20_000);
    await until(() => runFolders(tmp).length === 2, "both runs' folders");
    const baking = () => runFolders(tmp).filter((f) => processesNaming(join(tmp, f, "bake-metadata.json")).length > 0);
    await until(() => baking().length === 2, "both bakes to run");
    const before = runFolders(tmp);
    b.child.kill("SIGKILL");
    await b.exited;
    // the killed run's bake goes within seconds, not when its 25 s RUN ends; the live run's bakes on
    await until(() => baking().length === 1, "the killed run's bake to end", 8_000);
    const [liveFolder] = baking();
    const deadFolder = before.find((f) => f !== liveFolder)!;
    expect(existsSync(join(tmp, deadFolder))).toBe(true); // SIGKILL: nothing cleaned

    // the next run of the killed spec (quick now) removes its folder, and leaves the live run's
    writeFileSync(join(dead, "app/Dockerfile"), `FROM ${env!.baseImage}\nRUN echo quick-${Date.now()}\n`);
    const next = await cli(["apply", "-f", join(dead, "multiarch.yaml")], { env: { ...process.env, TMPDIR: tmp } as Record<string, string> });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/cleaned up after 1 run that ended without cleaning up: removed its folder/);
    expect(existsSync(join(tmp, deadFolder))).toBe(false);
    expect(existsSync(join(tmp, liveFolder!))).toBe(true);
    a.child.kill("SIGINT");
    expect(await a.exited, a.out).toBe(130);
    expect(runFolders(tmp)).toEqual([]);
  }, 60_000);

  test("SIGKILL during the smoke test: the next run removes the image the test pulled", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "leftovers-"));
    const ns = namespace("tested");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo ${ns} > /v\n`, `    test: { run: [sleep, "20"] }\n`);
    const spec = join(dir, "multiarch.yaml");
    const pulled = async () =>
      (await docker(["image", "ls", "--digests", "--format", "{{.Repository}}@{{.Digest}}"])).stdout.split("\n").filter((l) => l.includes(`/${ns}/`));
    const run = start(spec, tmp);
    await until(() => /^ {3}test:app\/\S+ \.\.\./m.test(run.out), "the smoke test to start", 30_000);
    for (let i = 0; i < 100 && (await pulled()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await pulled(), run.out).not.toEqual([]);
    run.child.kill("SIGKILL");
    await run.exited;
    expect(runFolders(tmp)).toHaveLength(1);
    // the watchdog ends the test's docker run (TERM, then KILL 2 s later); a next run before that keeps the folder
    await until(() => runningGroups(join(tmp, runFolders(tmp)[0]!)).length === 0, "the killed run's test to end", 10_000);

    // without its test the next run pulls nothing: what is left in the engine afterwards is the killed run's
    writeFileSync(spec, readFileSync(spec, "utf8").replace(/^ {4}test:.*\n/m, ""));
    // with --json, the line is in the document's warnings (and on stderr with them)
    const next = await cli(["apply", "-f", spec, "--json"], { env: { ...process.env, TMPDIR: tmp } as Record<string, string> });
    expect(next.exitCode, next.stderr).toBe(0);
    const said = /cleaned up after 1 run that ended without cleaning up: removed its folder .* and the image its tests pulled/;
    expect(next.stderr).toMatch(said);
    const warnings = (JSON.parse(next.stdout) as { warnings: { code: string; message: string }[] }).warnings;
    expect(warnings.filter((w) => w.code === "run-leftovers").map((w) => w.message)).toEqual([expect.stringMatching(said)]);
    expect(await pulled()).toEqual([]);
    expect(runFolders(tmp)).toEqual([]);
  }, 60_000);
});
