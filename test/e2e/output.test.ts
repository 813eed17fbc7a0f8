// The CLI's stdout as shells use it: a reader that goes away early (`| head`) is no failure and no stack
// trace; output that cannot be written (a full disk) is a non-zero exit and one sentence; colour only on
// a terminal. Needs no engine.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
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

/**
 * validate of the monorepo example as `wrap` runs it; a preload says which of the modules that cost
 * start-up it loaded (node:tty 4 ms; node:crypto and node:stream 6 ms together, which only builds, registries and signing use).
 */
const validate = (wrap: (cmd: string) => string[]) => {
  const spec = join(example("monorepo"), "multiarch.yaml");
  const preload = `process.on("exit", () => require("node:fs").writeSync(2, \`loaded: \${["tty", "crypto", "stream"].filter((m) => process.moduleLoadList.includes(\`NativeModule \${m}\`)).join(" ") || "none"}\\n\`))`;
  const cmd = `"${process.execPath}" -r ./tty-probe.cjs "${BIN}" validate -f "${spec}"`;
  const dir = mkdtempSync(join(tmpdir(), "multiarch-tty-"));
  writeFileSync(join(dir, "tty-probe.cjs"), preload);
  // the run itself, not an answer from validate's result cache (which loads nothing either)
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NO_COLOR" && k !== "FORCE_COLOR")), MULTIARCH_NO_CACHE: "1" };
  const [program, ...args] = wrap(cmd);
  return spawnSync(program!, args, { encoding: "utf8", cwd: dir, env });
};

test("output to a pipe is not coloured and loads neither node:tty nor node:crypto nor node:stream", () => {
  const r = validate((cmd) => ["/bin/bash", "-c", `${cmd} | cat`]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^valid: /);
  expect(r.stderr).toBe("loaded: none\n");
});

test("output to /dev/null (a character device, no terminal) does not load node:tty either", () => {
  const r = validate((cmd) => ["/bin/bash", "-c", `${cmd} >/dev/null`]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe("loaded: none\n");
});

test.skipIf(!existsSync("/usr/bin/script"))("output to a terminal is coloured", () => {
  // script(1) gives the command a pseudo-terminal
  const r = validate((cmd) => ["/usr/bin/script", "-qec", cmd, "/dev/null"]);
  expect(r.status, r.stdout).toBe(0);
  expect(r.stdout).toContain("\u001b[32mvalid\u001b[39m");
  expect(r.stdout).toMatch(/loaded: tty\b/);
});

test("run from a folder that was removed: exit 4 and one sentence, no stack trace", () => {
  const gone = mkdtempSync(join(tmpdir(), "multiarch-gone-"));
  for (const command of ["plan", "validate"]) {
    const r = spawnSync("/bin/bash", ["-c", 'cd "$1" && rmdir "$1" && exec "$0" "$2" "$3"', process.execPath, gone, BIN, command], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toBe("multiarch: the current folder cannot be read (ENOENT); it may have been removed: cd to one that exists\n");
    mkdirSync(gone);
  }
  // found by a re-test: --help and --version there exited 4 with nothing printed
  const help = spawnSync("/bin/bash", ["-c", 'cd "$1" && rmdir "$1" && exec "$0" "$2" validate --help', process.execPath, gone, BIN], { encoding: "utf8" });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^usage: multiarch validate/);
  mkdirSync(gone);
  // found by a review: --json printed nothing there
  const r = spawnSync("/bin/bash", ["-c", 'cd "$1" && rmdir "$1" && exec "$0" "$2" inspect --json x', process.execPath, gone, BIN], { encoding: "utf8" });
  expect(r.status).toBe(4);
  expect(JSON.parse(r.stdout)).toMatchObject({
    version: 1,
    command: "inspect",
    ok: false,
    exitCode: 4,
    message: expect.stringContaining("cannot be read"),
    errors: [],
  });
});

test("-o into a file: exit 4 and one sentence naming the path, no stack trace", () => {
  const file = join(mkdtempSync(join(tmpdir(), "multiarch-out-")), "a-file");
  writeFileSync(file, "");
  const spec = join(example("monorepo"), "multiarch.yaml");
  const r = spawnSync(process.execPath, [BIN, "plan", "-f", spec, "--strategy", "bake", "-o", join(file, "out")], { encoding: "utf8" });
  expect(r.status).toBe(4);
  expect(r.stderr).toContain(`multiarch plan: cannot mkdir ${join(file, "out")}: not a directory (ENOTDIR)`);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
});

// node's own recursive mkdir retried /proc/x forever (procfs answers ENOENT under a folder that exists)
test.skipIf(!existsSync("/proc/self"))("-o under /proc: exit 4 at once and one sentence, no spin", () => {
  const spec = join(example("monorepo"), "multiarch.yaml");
  const started = Date.now();
  const r = spawnSync(process.execPath, [BIN, "plan", "-f", spec, "--strategy", "bake", "-o", "/proc/multiarch-out"], {
    encoding: "utf8",
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
  expect(r.signal, "plan spun until killed").toBeNull();
  expect(r.status).toBe(4);
  expect(r.stderr).toBe("multiarch plan: cannot mkdir /proc/multiarch-out: /proc exists but takes no new folder (ENOENT)\n");
  expect(Date.now() - started).toBeLessThan(10_000);
});

/**
 * plan --json of the quickstart example, `signals` sent to itself as V8 compiles the bundle (after
 * bin/multiarch.js starts, before the bundle's handlers exist), against an engine that never answers (the
 * run is still asking it when they are handled): how it exited, and its stdout.
 */
async function planSignalled(signals: NodeJS.Signals[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-signalled-"));
  const kills = signals.map((s) => `process.kill(process.pid, "${s}");`).join(" ");
  writeFileSync(
    join(dir, "signals.cjs"),
    `const vm = require("node:vm"); const Script = vm.Script;
vm.Script = function (source, opts) { if (String(opts?.filename).endsWith("multiarch.cjs")) { ${kills} } return new Script(source, opts); };`,
  );
  const socket = join(dir, "engine.sock");
  const engine = createServer((c) => c.on("error", () => {}));
  await new Promise<void>((ready) => engine.listen(socket, ready));
  try {
    const spec = join(example("quickstart"), "multiarch.yaml");
    const child = spawn(process.execPath, ["-r", "./signals.cjs", BIN, "plan", "-f", spec, "-o", join(dir, "out"), "--json"], {
      cwd: dir,
      env: { ...process.env, DOCKER_HOST: `unix://${socket}` },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((done) => child.on("close", (c, s) => done([c, s])));
    return { code, signal, stdout, stderr };
  } finally {
    engine.close();
  }
}

// found by a review: a Ctrl-C while the bundle loaded (before its handlers) killed the run with no --json document
test("a signal that comes while the CLI starts: the run stops as after it, with its --json document", async () => {
  const r = await planSignalled(["SIGINT"]);
  expect([r.code, r.signal]).toEqual([130, null]);
  expect(JSON.parse(r.stdout)).toMatchObject({ command: "plan", ok: false, exitCode: 130, message: expect.stringContaining("nothing was built") });
});

// found by a review: a second signal exited at once with nothing on stdout, where --json promises one document
test("a second signal: exit 130 at once, with a --json document that says so", async () => {
  const r = await planSignalled(["SIGINT", "SIGTERM"]);
  expect([r.code, r.signal]).toEqual([130, null]);
  expect(r.stderr).toContain("multiarch: stopped at once by a second signal (SIGTERM): there is no report of what the run did\n");
  expect(JSON.parse(r.stdout)).toMatchObject({ command: "plan", ok: false, exitCode: 130, message: expect.stringContaining("second signal (SIGTERM)") });
});
