// Token authentication as public registries do it (issue 21), against the test environment's registry
// with `auth: token` and its token service: anonymous pulls of a public base, authenticated pushes,
// cross-repository blob mounts, and a 429 with Retry-After honoured by the registry client.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FaultProxy, firstN } from "./fault-proxy.ts";
import { cli, env, namespace, platformsOf, repo, reportOf } from "./helpers.ts";

/** What the token service was asked for about repositories under ns: one entry per token request. */
const tokenRequests = (ns: string) =>
  readFileSync(env!.tokenLog, "utf8")
    .split("\n")
    .filter((l) => l.includes(`${ns}/`))
    .map(
      (l) =>
        JSON.parse(l) as {
          method: string;
          grant: string;
          client?: string;
          user: string | null;
          scopes: string[];
          access?: { name: string; actions: string[] }[];
        },
    );

/** An empty docker config: no credentials anywhere. */
const fresh = () => ({ DOCKER_CONFIG: mkdtempSync(join(tmpdir(), "multiarch-dockercfg-")) });

const apply = async (dir: string, childEnv: Record<string, string>) => {
  const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: childEnv });
  expect(r.exitCode, r.stderr).toBe(0);
  return reportOf(r.stdout) as { images: { name: string; status: string }[] };
};

describe.skipIf(!env)("a registry with token authentication", () => {
  test("a public base is pulled anonymously: built, and the re-apply reads it to say up-to-date", async () => {
    const ns = namespace("anon");
    const dir = repo({
      "multiarch.yaml": `version: 1\nplatforms: [linux/amd64, linux/arm64]\nregistries: { local: { url: "${env!.registry}/${ns}", insecure: true } }\nimages:\n  app: { context: app, tags: ["1.0"] }\n`,
      "app/Dockerfile": `FROM ${env!.publicBaseImage}\nRUN echo ${ns} > /id\n`,
    });
    const childEnv = fresh();
    expect((await apply(dir, childEnv)).images[0]!.status).toBe("published");
    expect((await apply(dir, childEnv)).images[0]!.status).toBe("up-to-date");
    const inspect = await cli(["inspect", env!.publicBaseImage, "--json"], { env: childEnv });
    expect(inspect.exitCode, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).inspected.images).toHaveLength(3);
  });

  test("authenticated pushes; a second repository gets the layers by a cross-repository mount; the re-apply is up-to-date", async () => {
    const ns = namespace("token");
    const spec = (second: string) => `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  first: { url: "${env!.tokenRegistry}/${ns}/a", insecure: true, username: { env: MA_USER }, password: { env: MA_PASSWORD } }
${second}images:
  app: { context: app, tags: ["1.0"] }
`;
    const dir = repo({ "multiarch.yaml": spec(""), "app/Dockerfile": `FROM ${env!.publicBaseImage}\nRUN echo ${ns} > /id\n` });
    const childEnv = { ...fresh(), MA_USER: env!.authUser, MA_PASSWORD: env!.authPassword };
    expect((await apply(dir, childEnv)).images[0]!.status).toBe("published");
    expect(await platformsOf(`${env!.tokenRegistry}/${ns}/a/app:1.0`).catch(() => undefined)).toBeUndefined(); // anonymous: only public/
    expect(tokenRequests(ns).some((r) => r.user === "e2e" && r.access?.some((x) => x.name === `${ns}/a/app` && x.actions.includes("push")))).toBe(true);

    // the same image to a second repository of the registry: its layers are mounted from the first, which
    // takes a token granting pull on the source and push on the target at once
    writeFileSync(join(dir, "multiarch.yaml"), spec(`  second: { url: "${env!.tokenRegistry}/${ns}/b", insecure: true }\n`));
    expect((await apply(dir, childEnv)).images[0]!.status).toBe("published");
    const mount = tokenRequests(ns).find(
      (r) =>
        r.access?.some((x) => x.name === `${ns}/b/app` && x.actions.includes("push")) &&
        r.access?.some((x) => x.name === `${ns}/a/app` && x.actions.includes("pull")),
    );
    expect(mount, JSON.stringify(tokenRequests(ns), null, 1)).toBeDefined();

    // docker login stored an identity token (the token service gives one for offline access); the
    // in-process client exchanges it for pull tokens (OAuth2 refresh_token) to read both tags: up-to-date
    expect(JSON.parse(readFileSync(join(childEnv.DOCKER_CONFIG, "config.json"), "utf8")).auths[env!.tokenRegistry].identitytoken).toBeTruthy();
    expect((await apply(dir, childEnv)).images[0]!.status).toBe("up-to-date");
    const ours = tokenRequests(ns).filter((r) => r.client === "multiarch");
    expect(ours.some((r) => r.grant === "refresh_token" && r.user === "e2e" && r.scopes.includes(`repository:${ns}/b/app:pull`))).toBe(true);
  });

  describe("a 429 with Retry-After", () => {
    const [host, port] = env ? env.tokenRegistry.split(":") : ["", "0"];
    const proxy = new FaultProxy({ host: host!, port: Number(port) });
    let via = "";
    beforeAll(async () => {
      via = await proxy.start();
    });
    afterAll(() => proxy.stop());

    test("is honoured: the client waits as long as asked, then reads", async () => {
      proxy.rule = firstN(1, (req) => /\/manifests\//.test(req.url ?? ""), { status: 429, headers: { "retry-after": "3" } });
      const t0 = Date.now();
      const r = await cli(["inspect", `${via}/public/busybox:1`], { env: fresh() });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
      const manifests = proxy.seen.filter((s) => s.url.includes("/manifests/")).map((s) => s.fault);
      expect(manifests.slice(0, 2)).toEqual(["429", "pass"]);
      expect(manifests.filter((f) => f === "429")).toHaveLength(1);
    });
  });
});
