// A registry that accepts TCP connections and never answers (found by a failure-scenario review): apply
// built anyway, then its push waited 4 x 3 x 15 s, nearly 4 minutes, with nothing said; doctor said nothing
// while it waited. The server here is the scenario itself (a host that hangs), not a mock of docker.
// MULTIARCH_REGISTRY_TIMEOUT=2 keeps each request's wait at 2 s (3 attempts: 6 s) instead of 15.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { silentRegistry } from "../../packages/executor/src/testing/silent-registry.ts";
import { cli, env, namespace, project } from "./helpers.ts";

describe.skipIf(!env)("a registry that never answers", () => {
  let silent: Awaited<ReturnType<typeof silentRegistry>>;
  let host = "";
  beforeAll(async () => {
    silent = await silentRegistry();
    host = silent.host;
  });
  afterAll(() => silent.close());
  const timeout = { MULTIARCH_REGISTRY_TIMEOUT: "2" };

  test("apply stops before the build (exit 2), names the registry and the whole wait; the wait is said on stderr", async () => {
    const ns = namespace("silent");
    const dir = project(host, ns, `FROM ${env!.baseImage}\nRUN echo built > /built\n`);
    const t0 = performance.now();
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: timeout });
    const took = performance.now() - t0;
    console.log(`apply against a silent registry (2 s per request): ${(took / 1000).toFixed(1)} s`);
    const doc = JSON.parse(r.stdout);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(doc.message).toMatch(
      new RegExp(
        `^registry ${host} did not answer: ${host}/${ns}/app: GET manifests/1\\.0: no answer in 6(\\.\\d)? s in all \\(3 attempts of 2 s\\); nothing was built or published`,
      ),
    );
    // one line while it waited, on stderr; nothing ran (no stage began)
    expect(r.stderr.match(/^waiting for .*$/gm)).toEqual([`waiting for ${host} (GET /v2/${ns}/app/manifests/1.0): no answer for 5.0s; giving up after 6.0s`]);
    expect(r.stderr).not.toMatch(/^== /m);
    expect(took).toBeLessThan(15_000);
  }, 60_000);

  test("doctor says it is waiting, and fails the registry's check in the attempts' time", async () => {
    const dir = project(host, namespace("silent"), `FROM ${env!.baseImage}\n`);
    const t0 = performance.now();
    const r = await cli(["doctor", "-f", join(dir, "multiarch.yaml")], { env: timeout });
    const took = performance.now() - t0;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`waiting for ${host} (GET /v2/): no answer for 5.0s; giving up after 6.0s`);
    expect(r.stdout).toMatch(new RegExp(`FAIL +registry local +http://${host}: ${host}: GET /v2/: no answer in 6(\\.\\d)? s in all`));
    expect(took).toBeLessThan(15_000);
  }, 60_000);
});
