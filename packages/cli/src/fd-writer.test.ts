import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { expect, test } from "vitest";

// A child writes through fdWriter, as the CLI does (the module transpiled alone); its reader's view is checked.
const dir = mkdtempSync(join(tmpdir(), "multiarch-fd-writer-"));
const source = readFileSync(new URL("./fd-writer.ts", import.meta.url), "utf8");
writeFileSync(
  join(dir, "fd-writer.mjs"),
  ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText,
);

const child = (body: string, opts: { shell?: string } = {}) => {
  const script = `import { fdWriter } from ${JSON.stringify(join(dir, "fd-writer.mjs"))};
    const out = fdWriter(1, () => process.stdout, (e) => err.write("lost " + e.code + "\\n")); const err = fdWriter(2, () => process.stderr);
    ${body}`;
  const args = ["--input-type=module", "-e", script];
  return opts.shell
    ? spawnSync("/bin/sh", ["-c", `"$0" "$@" ${opts.shell}`, process.execPath, ...args], { encoding: "utf8" })
    : spawnSync(process.execPath, args, { encoding: "utf8" });
};

test("fdWriter: everything, in order, through a pipe; stderr apart; isTTY of a pipe is false", () => {
  const r = child(`for (let i = 0; i < 2000; i++) out.write("line " + i + " " + "x".repeat(500) + "\\n");
    err.write("done " + out.isTTY + "\\n");`);
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trimEnd().split("\n");
  expect(lines).toHaveLength(2000);
  expect(lines.every((l, i) => l.startsWith(`line ${i} `))).toBe(true);
  expect(r.stderr).toBe("done false\n");
});

test("fdWriter: a reader that goes away is no error", () => {
  const r = child(`for (let i = 0; i < 20000; i++) out.write("line " + i + "\\n"); err.write("finished\\n");`, { shell: "| head -1 >/dev/null" });
  expect(r.status).toBe(0);
  expect(r.stderr).toBe("finished\n");
});

// A pipe whose writing end another process made non-blocking (node's fallback stream takes over on
// EAGAIN), and a reader that goes away after its first bytes. python3 sets the flag: node has no fcntl.
const python = spawnSync("python3", ["--version"]).status === 0;
test.skipIf(!python)("fdWriter: a reader of a non-blocking pipe that goes away is no error either", () => {
  const script = `import { fdWriter } from ${JSON.stringify(join(dir, "fd-writer.mjs"))};
    const out = fdWriter(1, () => process.stdout);
    for (let i = 0; i < 20000; i++) out.write("line " + i + " " + "x".repeat(200) + "\\n");
    process.stderr.write("finished\\n");`;
  const parent = `import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
child = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
os.close(w)
time.sleep(0.5)
os.read(r, 100)
os.close(r)
err = child.stderr.read().decode()
sys.stdout.write(str(child.wait()) + "\\n" + err)`;
  const r = spawnSync("python3", ["-c", parent, process.execPath, "--input-type=module", "-e", script], { encoding: "utf8" });
  expect(r.stdout).toBe("0\nfinished\n");
});

test.skipIf(!existsSync("/dev/full"))("fdWriter: a write that fails (a full disk) drops the rest and is told once, no throw", () => {
  const r = child(`for (let i = 0; i < 3; i++) out.write("line " + i + "\\n"); err.write("finished\\n");`, { shell: ">/dev/full" });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe("lost ENOSPC\nfinished\n");
});
