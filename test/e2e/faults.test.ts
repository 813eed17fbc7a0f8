// Registry faults and interruptions never leave a tag half-moved; transient ones are retried.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FaultProxy, firstN } from "./fault-proxy.ts";
import { BIN, cli, env, namespace, platformsOf, project, reportOf, until } from "./helpers.ts";

const manifestPut = (req: { method?: string; url?: string }, tag?: string) =>
  req.method === "PUT" && /\/manifests\//.test(req.url ?? "") && (tag === undefined || (req.url ?? "").endsWith(`/manifests/${tag}`));

describe.skipIf(!env)("faults", () => {
  const proxy = new FaultProxy({ host: "127.0.0.1", port: Number(env?.registry.split(":")[1] ?? 5000) });
  let via = "";
  beforeAll(async () => {
    via = await proxy.start();
  });
  afterAll(() => proxy.stop());

  test("transient 503s while publishing are retried, and the run succeeds", async () => {
    const ns = namespace("retry");
    const dir = project(via, ns, `FROM ${env!.baseImage}\nRUN echo one > /v\n`);
    // three: the registry client's own three tries, then the step's next attempt
    proxy.rule = firstN(3, (r) => manifestPut(r, "1.0"), { status: 503 });
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    proxy.rule = () => "pass";
    expect(r.exitCode, r.stderr).toBe(0);
    const publish = reportOf(r.stdout).steps.find((s: { kind: string }) => s.kind === "publish");
    expect(publish.attempts).toBeGreaterThan(1);
    expect((await platformsOf(`${env!.registry}/${ns}/app:1.0`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
  });

  test("429 Too Many Requests is retried too", async () => {
    const ns = namespace("throttle");
    const dir = project(via, ns, `FROM ${env!.baseImage}\nRUN echo ${ns} > /v\n`);
    proxy.rule = firstN(1, (r) => manifestPut(r, "latest"), { status: 429, headers: { "retry-after": "1" } });
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    proxy.rule = () => "pass";
    expect(r.exitCode, r.stderr).toBe(0);
    expect(proxy.seen.filter((s) => s.fault === "429")).toHaveLength(1); // served, then retried
    expect((await platformsOf(`${env!.registry}/${ns}/app:latest`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
  });

  test("a registry that goes away mid-run moves no tag; the re-run completes", async () => {
    const ns = namespace("down");
    const dir = project(via, ns, `FROM ${env!.baseImage}\nRUN echo one > /v\n`);
    const spec = join(dir, "multiarch.yaml");
    expect((await cli(["apply", "-f", spec])).exitCode).toBe(0);
    const before = (await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest;

    // v2: the registry drops every connection once the first user tag is being written
    writeFileSync(join(dir, "app/Dockerfile"), `FROM ${env!.baseImage}\nRUN echo two > /v\n`);
    let down = false;
    proxy.rule = (req) => {
      if (manifestPut(req, "2.0")) down = true;
      return down ? "reset" : "pass";
    };
    const failed = await cli(["apply", "-f", spec, "--json"], { env: { VERSION: "2.0" } });
    proxy.rule = () => "pass";
    expect(failed.exitCode).toBe(2);
    const report = reportOf(failed.stdout);
    expect(report.steps.find((s: { kind: string }) => s.kind === "publish").status).toBe("failed");
    expect((await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest).toBe(before);

    // registry back: the re-run builds from cache, re-uses the pushed staging index, and publishes
    const again = await cli(["apply", "-f", spec, "--json"], { env: { VERSION: "2.0" } });
    expect(again.exitCode, again.stderr).toBe(0);
    const after = (await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest;
    expect(after).not.toBe(before);
    expect((await platformsOf(`${env!.registry}/${ns}/app:2.0`)).digest).toBe(after);
  });

  test("connections cut in the middle of blob uploads fail the push; no tag moves", async () => {
    const ns = namespace("cut");
    const dir = project(via, ns, `FROM ${env!.baseImage}\nRUN head -c 3000000 /dev/urandom > /blob\n`);
    proxy.rule = (req) => (/\/blobs\/uploads\//.test(req.url ?? "") && req.method !== "POST" ? "reset" : "pass");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    proxy.rule = () => "pass";
    expect(r.exitCode, r.stderr).toBe(2);
    // uploads happen in `docker push` on the docker driver, inside bake on other drivers
    const steps = reportOf(r.stdout).steps as { kind: string; status: string; attempts: number }[];
    const upload = steps.find((s) => (s.kind === "push" || s.kind === "bake") && s.status === "failed");
    expect(upload, JSON.stringify(steps)).toBeDefined();
    if (upload!.kind === "push") expect(upload!.attempts).toBe(4); // retried, with backoff, then given up
    expect(steps.find((s) => s.kind === "publish")!.status).toBe("not-run");
    const tag = await execa("docker", ["buildx", "imagetools", "inspect", `${env!.registry}/${ns}/app:latest`], { reject: false });
    expect(tag.exitCode).not.toBe(0); // never published
  });
});

describe.skipIf(!env)("interruptions and concurrent runs", () => {
  test("SIGTERM stops the build, reports, and publishes nothing", async () => {
    const ns = namespace("sigterm");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo ${ns} && sleep 60\n`);
    const child = execa("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--json"], { reject: false, stdin: "ignore", forceKillAfterDelay: 30_000 });
    let progress = "";
    child.stderr?.on("data", (d) => {
      progress += String(d);
    });
    // the build has started (and its RUN sleeps): that is what SIGTERM has to stop
    await until(() => /^ {3}bake \.\.\./m.test(progress), "the bake step to start");
    const t0 = Date.now();
    child.kill("SIGTERM");
    const r = await child;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.exitCode).toBe(130);
    const report = reportOf(String(r.stdout));
    expect(report.steps.find((s: { kind: string }) => s.kind === "publish").status).toBe("not-run");
    // cut off, not broken (it was "failed", with "context canceled")
    expect(report.images[0]).toMatchObject({ status: "cancelled", reason: "interrupted: the run was stopped before it finished" });
    const tag = await execa("docker", ["buildx", "imagetools", "inspect", `${env!.registry}/${ns}/app:latest`], { reject: false });
    expect(tag.exitCode).not.toBe(0);
  });

  test("a second apply of the same spec refuses while the first runs (exit 5)", async () => {
    const ns = namespace("lock");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo ${ns} && sleep 8\n`);
    const spec = join(dir, "multiarch.yaml");
    const first = execa("node", [BIN, "apply", "-f", spec], { reject: false, stdin: "ignore" });
    await until(() => existsSync(join(dir, ".multiarch/multiarch.yaml.lock")), "the first run to hold the lock");
    const second = await cli(["apply", "-f", spec]);
    expect(second.exitCode).toBe(5);
    expect(second.stderr).toMatch(/another run of this spec holds its lock \(pid \d+/);
    expect((await first).exitCode).toBe(0);
  });

  // found by a failure-scenario review: a tag someone else moved while the run built was overwritten without a word
  test("a tag someone else moves during the run is moved all the same, and the run says so with the three digests", async () => {
    const ns = namespace("meanwhile");
    const repo = `${env!.registry}/${ns}/app`;
    // latest holds the base image when the run starts; the smoke test's sleep is when the other writer acts
    expect((await execa("docker", ["buildx", "imagetools", "create", "-t", `${repo}:latest`, env!.baseImage], { reject: false })).exitCode).toBe(0);
    const start = (await platformsOf(`${repo}:latest`)).digest;
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo ${ns} > /v\n`, '    test: { run: [sleep, "2"] }\n');
    const child = execa("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--json"], { reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
    let progress = "";
    child.stderr?.on("data", (d) => {
      progress += String(d);
    });
    await until(() => /^ {3}test:app\S* \.\.\./m.test(progress), "the smoke test to start");
    // the other writer: latest now names one image of the base's index (in this repository since the copy)
    const api = `http://${env!.registry}/v2/${ns}/app/manifests`;
    const index = (await (await fetch(`${api}/${start}`, { headers: { accept: "application/vnd.oci.image.index.v1+json" } })).json()) as {
      manifests: { digest: string; mediaType: string }[];
    };
    const theirs = index.manifests[0]!;
    const body = await (await fetch(`${api}/${theirs.digest}`, { headers: { accept: theirs.mediaType } })).arrayBuffer();
    expect((await fetch(`${api}/latest`, { method: "PUT", headers: { "content-type": theirs.mediaType }, body })).status).toBe(201);
    const r = await child;
    expect(r.exitCode).toBe(0);
    const doc = reportOf(String(r.stdout));
    const now = (await platformsOf(`${repo}:latest`)).digest;
    expect(doc.tags).toEqual([
      { image: "app", ref: `${repo}:1.0`, status: "moved", digest: now, previous: null },
      { image: "app", ref: `${repo}:latest`, status: "moved", digest: now, previous: theirs.digest, heldAtStart: start },
    ]);
    const message = `${repo}:latest was moved by someone else during this run: it held ${start} when the run started, ${theirs.digest} when this run moved it to ${now}`;
    expect(doc.warnings).toEqual([expect.objectContaining({ code: "tag-moved-during-run", severity: "warning", message })]);
    expect(String(r.stderr)).toContain(`warning[tag-moved-during-run]: ${message}`);
    expect(String(r.stderr)).toContain(`to put it back: docker buildx imagetools create -t ${repo}:latest ${repo}@${theirs.digest}`);
  });

  test("a re-run after success changes nothing and says so", async () => {
    const ns = namespace("noop");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo same > /v\n`);
    const spec = join(dir, "multiarch.yaml");
    expect((await cli(["apply", "-f", spec])).exitCode).toBe(0);
    const digest = (await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest;
    const again = await cli(["apply", "-f", spec, "--json"]);
    expect(again.exitCode).toBe(0);
    expect(reportOf(again.stdout).images[0].status).toBe("up-to-date");
    expect((await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest).toBe(digest);
    expect((await cli(["apply", "-f", spec])).stdout).toContain("nothing changed");
  });
});
