// Rare error paths with a fake `docker` on PATH (the real engine is exercised in test/e2e).
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Plan, Platform, Stage, Step } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { type ExecEvent, executePlan } from "./execute.ts";
import { tagWarnings } from "./report.ts";
import { documentRegistry } from "./testing/document-registry.ts";
import { silentRegistry } from "./testing/silent-registry.ts";

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

const planOf = (stages: Stage[]): Plan => ({
  version: 3,
  spec: "multiarch.yaml",
  cwd: ".",
  strategy: { requested: "manifest", chosen: "manifest", reason: "test" },
  images: [],
  secrets: [],
  stages,
});
const plan = (kind: "push" | "build" | "bake"): Plan =>
  planOf([
    { name: "one", steps: [{ id: "s1", kind, commands: [{ program: "docker", args: ["push", "r/x:1"] }], inputs: [], produces: [] }] },
    { name: "two", steps: [{ id: "s2", kind: "publish", commands: [{ program: "docker", args: ["manifest", "push", "r/x:1"] }], inputs: [], produces: [] }] },
  ]);
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

/** A docker that logs every call, fails one that names "broken", sleeps in one that names "slow", and prints a pushed digest. */
function loggingDocker() {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-fake-"));
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/sh\necho "$@" >> "${dir}/calls"\ncase "$*" in *broken*) echo "no such image" >&2; exit 1;; *slow*) sleep 10;; esac\necho "digest: sha256:${"a".repeat(64)} size: 1"\n`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  const calls = () => (existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : []);
  /** The calls once one matching `re` was made (clean-up is detached: nothing waits for it). */
  const callsOnce = async (re: RegExp) => {
    for (let i = 0; i < 100 && !calls().some((c) => re.test(c)); i++) await new Promise((r) => setTimeout(r, 20));
    return calls();
  };
  return { env: { PATH: `${dir}:/usr/bin:/bin` }, dir, calls, callsOnce };
}

const DIGEST = `sha256:${"a".repeat(64)}`;
/** Pushes a (ok) and b (broken), then the stages given, then the smoke tests' clean-up of both. */
const stopped = (...middle: Stage[]): Plan => ({
  ...plan("push"),
  stages: [
    {
      name: "push",
      steps: ["a", "b"].map((n) => ({
        id: `push:${n}`,
        kind: "push" as const,
        image: n,
        commands: [{ program: "docker" as const, args: ["push", n === "b" ? "broken/b" : "r/a"] }],
        inputs: [],
        produces: [],
        yields: [{ ref: `r/${n}`, pushed: true, from: "output" as const }],
      })),
    },
    ...middle,
    {
      name: "cleanup",
      steps: [
        {
          id: "cleanup:tested",
          kind: "cleanup",
          commands: [{ program: "docker", args: ["image", "rm", "--force", { built: "r/a" }, { built: "r/b" }], mayFail: true, detach: true }],
          inputs: [],
          produces: [],
        },
      ],
    },
  ],
});
const publish: Stage = {
  name: "publish",
  steps: [{ id: "publish", kind: "publish", commands: [{ program: "docker", args: ["tag", "x", "y"] }], inputs: [], produces: [] }],
};

// found by the e2e tier: --no-push tests each platform from the archive it loads, and two `docker load`s of one
// archive at once fail one of them on a containerd image store ('image "…": already exists')
test("the smoke tests of one archive load it one at a time", async () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-fake-"));
  // a load while another runs fails, as containerd's does
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/sh\ncase "$1" in load) mkdir "${dir}/loading" 2>/dev/null || { echo 'image "x": already exists' >&2; exit 1; }; sleep 0.3; rmdir "${dir}/loading";; esac\n`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  const tests: Step[] = ["linux/amd64", "linux/arm64"].map((p) => ({
    id: `test:a/${p}`,
    kind: "test",
    image: "a",
    platform: p as Platform,
    commands: [
      { program: "docker", args: ["load", "--input", "a.tar"] },
      { program: "docker", args: ["run", "--rm", "--platform", p, "x"] },
    ],
    inputs: ["a.tar"],
    produces: [],
  }));
  const r = await executePlan(
    { ...plan("push"), stages: [{ name: "verify", steps: tests }] },
    { planDir: dir, env: { PATH: `${dir}:/usr/bin:/bin` }, concurrency: 2, retry },
  );
  expect(r.steps.map((s) => [s.id, s.status])).toEqual([
    ["test:a/linux/amd64", "ok"],
    ["test:a/linux/arm64", "ok"],
  ]);
});

// found by a review: a run that emptied another spec's dead run folder said nothing of it
test("what a run did with runs that are gone is said, another spec's emptied folder too", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "multiarch-sweep-"));
  const other = join(tmp, "multiarch-run-other");
  mkdirSync(join(other, "oci"), { recursive: true });
  writeFileSync(join(other, "oci", "blob"), "x".repeat(100));
  const gone = spawnSync("true").pid!;
  writeFileSync(
    join(other, "run.json"),
    JSON.stringify({ holder: { pid: gone, host: hostname(), since: "", spec: join(tmp, "other.yaml") }, engine: {}, images: ["r/x@sha256:1"], groups: [] }),
  );
  const events: ExecEvent[] = [];
  const was = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    await executePlan({ ...plan("push"), stages: [] }, { planDir: tmp, env: {}, concurrency: 1, retry, onEvent: (e) => void events.push(e) });
  } finally {
    if (was === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = was;
  }
  expect(events.filter((e) => e.type === "leftovers")).toMatchObject([{ swept: { runs: 0, emptied: [{ images: ["r/x@sha256:1"] }] } }]);
});

describe("clean-up after the run stopped", () => {
  test("a failure stops the run before publishing; clean-up still runs, without the image it did not build", async () => {
    const fake = loggingDocker();
    const r = await executePlan(stopped(publish), { planDir: fake.dir, env: fake.env, concurrency: 2, retry });
    expect(r.exitCode).toBe(2);
    expect(r.steps.map((s) => [s.id, s.status])).toEqual([
      ["push:a", "ok"],
      ["push:b", "failed"],
      ["publish", "not-run"],
      ["cleanup:tested", "ok"],
    ]);
    const calls = await fake.callsOnce(/^image rm/);
    expect(calls).toContain(`image rm --force r/a@${DIGEST}`);
    expect(calls.join("\n")).not.toContain("tag x y");
  });

  test("an interrupt: exit 130, and clean-up runs", async () => {
    const fake = loggingDocker();
    const stop = new AbortController();
    const slow: Stage = {
      name: "test",
      steps: [{ id: "test:a", kind: "test", commands: [{ program: "docker", args: ["run", "slow"] }], inputs: [], produces: [] }],
    };
    const run = stopped(slow, publish);
    run.stages[0]!.steps.pop(); // b is not pushed: only the interrupt stops this run
    setTimeout(() => stop.abort(), 300);
    const r = await executePlan(run, { planDir: fake.dir, env: fake.env, concurrency: 2, retry, signal: stop.signal });
    expect(r.exitCode).toBe(130);
    expect(r.steps.map((s) => [s.id, s.status])).toEqual([
      ["push:a", "ok"],
      ["test:a", "failed"],
      ["publish", "not-run"],
      ["cleanup:tested", "ok"],
    ]);
    expect(await fake.callsOnce(/^image rm/)).toContain(`image rm --force r/a@${DIGEST}`);
  });

  test("a clean-up with nothing this run built runs no command", async () => {
    const fake = loggingDocker();
    const run = stopped();
    run.stages[0]!.steps.shift(); // only b, which fails
    const r = await executePlan(run, { planDir: fake.dir, env: fake.env, concurrency: 2, retry });
    expect(r.steps.map((s) => [s.id, s.status])).toEqual([
      ["push:b", "failed"],
      ["cleanup:tested", "ok"],
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.calls()).toEqual(["push broken/b"]);
  });
});

// found by a review: Ctrl-C while a tag's manifest PUT was on its way; the registry applied it, and the
// report said the tag had not moved
describe("an interrupted publish", () => {
  const registry = documentRegistry();
  /** A stage verifying what `staging` holds: one image of `platform`. */
  const verifyOf = (staging: string, platform: Platform): Stage => ({
    name: "verify",
    steps: [
      {
        id: "verify:a",
        kind: "verify",
        image: "a",
        commands: [],
        inputs: [],
        produces: [],
        read: { ref: staging, insecure: true },
        expect: { ref: staging, platforms: [platform] },
      },
    ],
  });
  test("a tag the cut-off PUT moved is reported as moved", async () => {
    const staging = `${registry.host}/r:staging`;
    registry.tags.set("staging", registry.image({ os: "linux", architecture: "amd64" }));
    const steps = (kind: "verify" | "publish"): Stage => ({
      name: kind,
      steps: [
        {
          id: `${kind}:a`,
          kind,
          image: "a",
          commands: [],
          inputs: [],
          produces: [],
          ...(kind === "verify"
            ? { read: { ref: staging, insecure: true }, expect: { ref: staging, platforms: ["linux/amd64"] } }
            : { moveTags: { staging, tags: [`${registry.host}/r:1`], insecure: true } }),
        },
      ],
    });
    const run: Plan = { ...plan("push"), stages: [steps("verify"), steps("publish")] };
    registry.holdPuts = true;
    const stop = new AbortController();
    // the interrupt comes once the PUT is applied, before the registry answers it
    const applied = setInterval(() => registry.tags.has("1") && stop.abort(), 5);
    const r = await executePlan(run, { planDir: mkdtempSync(join(tmpdir(), "multiarch-interrupt-")), env: {}, concurrency: 1, retry, signal: stop.signal });
    clearInterval(applied);
    expect(r.exitCode).toBe(130);
    expect(r.tags).toEqual([{ image: "a", ref: `${registry.host}/r:1`, status: "moved", digest: registry.tags.get("staging"), previous: null }]);
  });

  // found by a review: promote against a registry that was down exited 3, "verification failed"
  test("a check that cannot read the registry fails the run with 2; one that finds the image wrong, or missing, with 3", async () => {
    registry.holdPuts = false;
    registry.tags.set("arm", registry.image({ os: "linux", architecture: "arm64" }));
    const run = (staging: string) =>
      executePlan(
        { ...plan("push"), stages: [verifyOf(staging, "linux/amd64")] },
        { planDir: mkdtempSync(join(tmpdir(), "multiarch-verify-")), env: {}, concurrency: 1, retry },
      );
    const down = await run("127.0.0.1:9/r:1");
    expect(down.exitCode).toBe(2);
    expect(down.steps[0]).toMatchObject({ status: "failed", unreadable: true });
    expect((await run(`${registry.host}/r:arm`)).exitCode).toBe(3);
    expect((await run(`${registry.host}/r:never`)).exitCode).toBe(3);
  });

  // found by a failure-scenario review: a registry that accepts connections and never answers was asked
  // 4 times by the step, each time 3 times by the client (3 minutes after a build), with nothing said
  test("a registry that never answers: given up on after the client's attempts (not the step's too), the wait said once", async () => {
    const silent = await silentRegistry();
    const host = silent.host;
    const events: ExecEvent[] = [];
    try {
      const r = await executePlan(
        { ...plan("push"), stages: [verifyOf(`${host}/r:1`, "linux/amd64")] },
        {
          planDir: mkdtempSync(join(tmpdir(), "multiarch-silent-")),
          env: { MULTIARCH_REGISTRY_TIMEOUT: "2" },
          concurrency: 1,
          retry,
          onEvent: (e) => void events.push(e),
        },
      );
      expect(r.exitCode).toBe(2);
      expect(r.steps[0]).toMatchObject({ status: "failed", attempts: 1, unreadable: true });
      expect(r.steps[0]!.error).toMatch(new RegExp(`${host}/r: GET manifests/1: no answer in 6(\\.\\d)? s in all \\(3 attempts of 2 s\\)`));
      expect(r.durationMs).toBeLessThan(9_000);
      expect(events.filter((e) => e.type === "wait")).toEqual([
        { type: "wait", wait: { host, request: "GET /v2/r/manifests/1", waitedMs: 5_000, limitMs: 6_000 } },
      ]);
    } finally {
      silent.close();
    }
  }, 30_000);

  /** verify, then publish `tags` (names in repository r) to what `staging` holds. */
  const publishPlan = (staging: string, tags: string[]) =>
    planOf([
      verifyOf(staging, "linux/amd64"),
      {
        name: "publish",
        steps: [
          {
            id: "publish:a",
            kind: "publish",
            image: "a",
            commands: [],
            inputs: [],
            produces: [],
            moveTags: { staging, tags: tags.map((t) => `${registry.host}/r:${t}`), insecure: true },
          },
        ],
      },
    ]);

  // found by a review: a release's full-version tag (2.0.1) was moved to a new build without a word
  test("moving a release version's tag that held another image is said, with what it held", async () => {
    registry.holdPuts = false;
    const staging = `${registry.host}/r:new`;
    const old = registry.image({ os: "linux", architecture: "amd64", id: "old" });
    registry.tags.set("new", registry.image({ os: "linux", architecture: "amd64", id: "new" }));
    registry.tags.set("2.0.1", old);
    registry.tags.set("latest", old);
    registry.tags.delete("2.0");
    const r = await executePlan(publishPlan(staging, ["2.0.1", "2.0", "latest"]), {
      planDir: mkdtempSync(join(tmpdir(), "multiarch-release-")),
      env: {},
      concurrency: 1,
      retry,
    });
    expect(r.exitCode).toBe(0);
    const now = registry.tags.get("new");
    expect(registry.tags.get("2.0.1")).toBe(now);
    // --json's report.tags: what each held before (null: no such tag)
    expect(r.tags).toEqual([
      { image: "a", ref: `${registry.host}/r:2.0.1`, status: "moved", digest: now, previous: old },
      { image: "a", ref: `${registry.host}/r:2.0`, status: "moved", digest: now, previous: null },
      { image: "a", ref: `${registry.host}/r:latest`, status: "moved", digest: now, previous: old },
    ]);
    expect(tagWarnings(r.tags)).toEqual([
      {
        code: "tag-release-moved",
        ref: `${registry.host}/r:2.0.1`,
        message: `${registry.host}/r:2.0.1 held another image (${old}) before: this release version now names a new build (${now})`,
        hint: `to put it back: docker buildx imagetools create -t ${registry.host}/r:2.0.1 ${registry.host}/r@${old}`,
      },
    ]);
  });

  // found by a failure-scenario review: a tag someone else moved while the run built was overwritten without a word
  test("a tag someone else moves during the run is moved all the same, and said with the three digests", async () => {
    registry.holdPuts = false;
    const staging = `${registry.host}/r:ours`;
    const start = registry.image({ os: "linux", architecture: "amd64", id: "start" });
    const theirs = registry.image({ os: "linux", architecture: "amd64", id: "theirs" });
    registry.tags.set("ours", registry.image({ os: "linux", architecture: "amd64", id: "ours" }));
    registry.tags.set("edge", start);
    registry.tags.set("stable", start);
    const r = await executePlan(publishPlan(staging, ["edge", "stable"]), {
      planDir: mkdtempSync(join(tmpdir(), "multiarch-meanwhile-")),
      env: {},
      concurrency: 1,
      retry,
      // the other writer: after the run read the tags (as it started), before it publishes
      onEvent: (e) => e.type === "step-end" && e.step.kind === "verify" && registry.tags.set("edge", theirs),
    });
    expect(r.exitCode).toBe(0);
    const ours = registry.tags.get("ours");
    expect(registry.tags.get("edge")).toBe(ours);
    expect(r.tags).toEqual([
      { image: "a", ref: `${registry.host}/r:edge`, status: "moved", digest: ours, previous: theirs, heldAtStart: start },
      { image: "a", ref: `${registry.host}/r:stable`, status: "moved", digest: ours, previous: start },
    ]);
    expect(tagWarnings(r.tags)).toEqual([
      {
        code: "tag-moved-during-run",
        ref: `${registry.host}/r:edge`,
        message: `${registry.host}/r:edge was moved by someone else during this run: it held ${start} when the run started, ${theirs} when this run moved it to ${ours}`,
        hint: `to put it back: docker buildx imagetools create -t ${registry.host}/r:edge ${registry.host}/r@${theirs}`,
      },
    ]);
  });

  // found by a review: Ctrl-C after cosign pushed a signature; whether the step left its signature tag was
  // asked through the run's client, which the interrupt had aborted, so the tag stayed
  test("a signature tag an interrupted sign step pushed is deleted, though the run's requests were aborted", async () => {
    const staging = `${registry.host}/r:signed`;
    const index = registry.image({ os: "linux", architecture: "arm64" });
    registry.tags.set("signed", index);
    const sig = `${index.replace(":", "-")}.sig`;
    const dir = mkdtempSync(join(tmpdir(), "multiarch-fake-cosign-"));
    // cosign as far as the interrupt lets it: the signature is pushed, then it waits to be stopped
    writeFileSync(
      join(dir, "cosign"),
      `#!/bin/sh\ncurl -s -X PUT --data '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}' "http://${registry.host}/v2/r/manifests/${sig}"\nsleep 20\n`,
    );
    chmodSync(join(dir, "cosign"), 0o755);
    const run: Plan = planOf([
      verifyOf(staging, "linux/arm64"),
      {
        name: "sign",
        steps: [
          {
            id: "sign:a",
            kind: "sign",
            image: "a",
            commands: [{ program: "cosign", args: ["sign", "--yes", { verified: staging }] }],
            signs: staging,
            inputs: [staging],
            produces: [],
          },
        ],
      },
    ]);
    const stop = new AbortController();
    const pushed = setInterval(() => registry.tags.has(sig) && stop.abort(), 5);
    const r = await executePlan(run, { planDir: dir, env: { PATH: `${dir}:/usr/bin:/bin` }, concurrency: 1, retry, signal: stop.signal });
    clearInterval(pushed);
    expect(r.exitCode).toBe(130);
    expect(r.steps.find((s) => s.id === "sign:a")?.error).toContain(`deleted the signature tag ${registry.host}/r:${sig}`);
    expect(registry.tags.has(sig)).toBe(false);
  });
});

// found by a review: two registries with credentials, on a fresh runner: both logins ran at once, each
// read docker's config file, added its host and wrote it back, and the last writer dropped the other's
test("logins run one at a time: each keeps the others' entries in docker's config file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-fake-login-"));
  // docker login as it behaves: read the config, (slowly) add this host, write it back
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/sh\ncat > /dev/null\nold=$(cat "${dir}/config" 2>/dev/null)\nsleep 0.2\nprintf '%s\\n%s' "$old" "$2" > "${dir}/config"\n`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  const login = (host: string) => ({
    id: `login:${host}`,
    kind: "login" as const,
    commands: [{ program: "docker" as const, args: ["login", host, "--username", "u", "--password-stdin"], stdin: { env: "PASS" } }],
    inputs: [],
    produces: [`credentials:${host}`],
  });
  const logins = planOf([{ name: "login", steps: [login("a.example"), login("b.example"), login("c.example")] }]);
  const r = await executePlan(logins, { planDir: dir, env: { PATH: `${dir}:/usr/bin:/bin`, PASS: "p" }, concurrency: 4, retry });
  expect(r.exitCode, JSON.stringify(r.steps)).toBe(0);
  expect(readFileSync(join(dir, "config"), "utf8").trim().split("\n").sort()).toEqual(["a.example", "b.example", "c.example"]);
});

// found by a failure-scenario review: a context file edited while the build read it was published under
// the old inputs' hash
describe("inputs that changed during the build", () => {
  /** bake of a, b and c (FROM a), then each image's publish step. */
  const baked: Plan = {
    ...planOf([
      {
        name: "build",
        steps: [
          {
            id: "bake",
            kind: "bake",
            targets: ["a", "b", "c"],
            commands: [{ program: "docker", args: ["buildx", "bake", "a", "b", "c"] }],
            inputs: [],
            produces: [],
          },
        ],
      },
      {
        name: "publish",
        steps: ["a", "b", "c"].map((n) => ({
          id: `publish:${n}`,
          kind: "publish" as const,
          image: n,
          commands: [{ program: "docker" as const, args: ["tag", n, `${n}:1`] }],
          inputs: [],
          produces: [],
        })),
      },
    ]),
    images: ["a", "b", "c"].map((name) => ({ name, platforms: ["linux/amd64" as Platform], dependsOn: name === "c" ? ["a"] : [], refs: [] })),
  };
  const asked: string[] = [];
  const changedInputs = (image: string) => (asked.push(image), image === "a" ? ["a/app.txt", "a/b.txt", "a/c.txt", "a/d.txt"] : []);

  test("--continue: the changed image fails, naming its files; what builds FROM it is held back, the others publish", async () => {
    const fake = loggingDocker();
    asked.length = 0;
    const r = await executePlan(baked, { planDir: fake.dir, env: fake.env, concurrency: 2, retry, continueOnFailure: true, changedInputs });
    expect(asked.sort()).toEqual(["a", "b", "c"]);
    expect(r.exitCode).toBe(2);
    expect(r.steps.map((s) => [s.id, s.status])).toEqual([
      ["bake", "failed"],
      ["publish:a", "skipped"],
      ["publish:b", "ok"],
      ["publish:c", "skipped"],
    ]);
    const a = r.images.find((i) => i.name === "a")!;
    expect(a.status).toBe("failed");
    expect(a.reason).toBe(
      "the inputs of a changed during the build (a/app.txt, a/b.txt, a/c.txt and 1 more): nothing of it was published; run the command again",
    );
    expect(fake.calls()).not.toContain("tag a a:1");
  });

  test("without --continue nothing publishes; an unchanged run publishes all", async () => {
    const fake = loggingDocker();
    const r = await executePlan(baked, { planDir: fake.dir, env: fake.env, concurrency: 2, retry, changedInputs });
    expect(r.exitCode).toBe(2);
    expect(r.steps.filter((s) => s.kind === "publish").map((s) => s.status)).toEqual(["not-run", "not-run", "not-run"]);
    const same = await executePlan(baked, { planDir: fake.dir, env: fake.env, concurrency: 2, retry, changedInputs: () => [] });
    expect(same.exitCode).toBe(0);
  });
});
