// Rare error paths with a fake `docker` on PATH (the real engine is exercised in test/e2e).
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Plan } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { executePlan } from "./execute.ts";

/** A docker that fails `failures` times with `message`, then succeeds; it logs every call. */
function fakeDocker(failures: number, message: string) {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-fake-"));
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/sh\necho "$@" >> "${dir}/calls"\nn=$(cat "${dir}/count" 2>/dev/null || echo 0)\necho $((n+1)) > "${dir}/count"\nif [ "$n" -lt ${failures} ]; then echo "${message}" >&2; exit 1; fi\necho ok\n`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  return { env: { PATH: `${dir}:/usr/bin:/bin` }, calls: () => readFileSync(join(dir, "calls"), "utf8").trim().split("\n"), dir };
}

const plan = (kind: "push" | "build" | "bake"): Plan => ({
  version: 2,
  spec: "multiarch.yaml",
  cwd: ".",
  strategy: { requested: "manifest", chosen: "manifest", reason: "test" },
  images: [],
  secrets: [],
  stages: [
    { name: "one", steps: [{ id: "s1", kind, commands: [{ program: "docker", args: ["push", "r/x:1"] }], inputs: [], produces: [] }] },
    { name: "two", steps: [{ id: "s2", kind: "publish", commands: [{ program: "docker", args: ["manifest", "push", "r/x:1"] }], inputs: [], produces: [] }] },
  ],
});
const retry = { attempts: 4, baseDelayMs: 1 };

describe("executePlan", () => {
  test("a transient registry error is retried with backoff", async () => {
    const fake = fakeDocker(2, "received unexpected HTTP status: 503 Service Unavailable");
    const r = await executePlan(plan("push"), { planDir: fake.dir, env: fake.env, concurrency: 1, retry });
    expect(r.exitCode).toBe(0);
    expect(r.steps[0]).toMatchObject({ status: "ok", attempts: 3 });
  });
  test("auth errors are never retried, and later stages do not run", async () => {
    const fake = fakeDocker(5, "unauthorized: authentication required (401)");
    const r = await executePlan(plan("push"), { planDir: fake.dir, env: fake.env, concurrency: 1, retry });
    expect(r.exitCode).toBe(2);
    expect(r.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ["s1", "failed", 1],
      ["s2", "not-run", 0],
    ]);
    expect(fake.calls()).toHaveLength(1);
  });
  test("a registry error while bake pushes is retried; a failed RUN is not", async () => {
    const flaky = fakeDocker(1, "ERROR: unexpected status from HEAD request to http://127.0.0.1:5000/v2/x/manifests/t: 500 Internal Server Error");
    expect((await executePlan(plan("bake"), { planDir: flaky.dir, env: flaky.env, concurrency: 1, retry })).steps[0]).toMatchObject({
      status: "ok",
      attempts: 2,
    });
    const broken = fakeDocker(5, 'ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2');
    expect((await executePlan(plan("bake"), { planDir: broken.dir, env: broken.env, concurrency: 1, retry })).steps[0]).toMatchObject({
      status: "failed",
      attempts: 1,
    });
  });

  test("build errors are not retried", async () => {
    const fake = fakeDocker(5, "ERROR: failed to solve: process did not complete successfully: 503");
    const r = await executePlan(plan("build"), { planDir: fake.dir, env: fake.env, concurrency: 1, retry });
    expect(r.steps[0]).toMatchObject({ status: "failed", attempts: 1 });
  });

  test("many steps at once on the run's one signal: no listener-leak warning on stderr (each child listens to it)", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const steps = Array.from({ length: 12 }, (_, i) => ({
        id: `t${i}`,
        kind: "test" as const,
        commands: [{ program: "docker" as const, args: ["run"] }],
        inputs: [],
        produces: [],
      }));
      const many: Plan = { ...plan("push"), stages: [{ name: "verify", steps }] };
      const slow = mkdtempSync(join(tmpdir(), "multiarch-fake-"));
      writeFileSync(join(slow, "docker"), "#!/bin/sh\nsleep 0.2\n");
      chmodSync(join(slow, "docker"), 0o755);
      const env = { PATH: `${slow}:/usr/bin:/bin` };
      const r = await executePlan(many, { planDir: slow, env, concurrency: 1, signal: new AbortController().signal });
      await new Promise((res) => setImmediate(res)); // warnings are emitted on the next tick
      expect(r.exitCode).toBe(0);
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
