// The npm package as users get it: published to a real npm registry (Verdaccio, local, no uplinks) and
// run with npx from a project that is not a JavaScript project, against the real engine.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import pkg from "../../packages/cli/package.json" with { type: "json" };
import { env, namespace, packCli, platformsOf, project, testTool } from "./helpers.ts";

const freePort = () =>
  new Promise<number>((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });

describe.skipIf(!env)("npm package", () => {
  const stop: (() => void)[] = [];
  afterAll(() => {
    for (const s of stop) s();
  });

  test("published to an npm registry, `npx --yes @multiarch/cli@VERSION apply` in a Go project publishes the images", async () => {
    const home = mkdtempSync(join(tmpdir(), "multiarch-verdaccio-"));
    const port = await freePort();
    const registry = `http://127.0.0.1:${port}/`;
    // no uplinks: nothing is asked of any other registry
    writeFileSync(
      join(home, "config.yaml"),
      `storage: ${join(home, "storage")}\nauth:\n  htpasswd:\n    file: ${join(home, "htpasswd")}\npackages:\n  "**":\n    access: $all\n    publish: $authenticated\nlog: { type: stdout, format: pretty, level: warn }\n`,
    );
    const server = execa(testTool("verdaccio"), ["--config", join(home, "config.yaml"), "--listen", `127.0.0.1:${port}`], { reject: false });
    stop.push(() => server.kill());
    for (let i = 0; i < 100 && !(await fetch(`${registry}-/ping`).catch(() => undefined))?.ok; i++) await new Promise((r) => setTimeout(r, 200));
    // a user, as `npm adduser` makes one
    const user = await fetch(`${registry}-/user/org.couchdb.user:ci`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", password: "ci-password" }),
    });
    expect(user.status).toBe(201);
    const npmrc = join(home, "npmrc");
    writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${((await user.json()) as { token: string }).token}\n`);
    // npm_config_registry too: a test started by `pnpm run` inherits pnpm's npm_config_registry, which
    // beats the userconfig (seen from scripts/ci-fresh.sh: the publish went to the public registry)
    const npmEnv = {
      npm_config_userconfig: npmrc,
      npm_config_registry: registry,
      npm_config_cache: join(home, "npm-cache"),
      npm_config_update_notifier: "false",
    };

    const published = await execa("npm", ["publish", await packCli()], { env: npmEnv, reject: false, all: true });
    expect(published.exitCode, published.all).toBe(0);
    const meta = (await (await fetch(`${registry}@multiarch%2fcli`)).json()) as { versions: Record<string, Record<string, unknown>> };
    const manifest = meta.versions[pkg.version]!;
    expect(manifest).toMatchObject({ license: "MIT", bin: { multiarch: "bin/multiarch.js" }, engines: { node: ">=20.19" } });
    expect(manifest.repository).toMatchObject({ type: "git" });
    expect(manifest.dependencies ?? {}).toEqual({}); // a self-contained bundle

    // a Go project: no package.json anywhere
    const ns = namespace("npx");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`, "    test: { run: [cat, /arch] }\n");
    writeFileSync(join(dir, "go.mod"), "module example.com/app\n\ngo 1.22\n");
    const npx = (args: string[]) =>
      execa("npx", ["--yes", `@multiarch/cli@${pkg.version}`, ...args], { cwd: dir, env: { ...npmEnv, NO_COLOR: "1" }, reject: false, all: true });
    const version = await npx(["--version"]);
    expect(version.stdout.trim(), version.all).toBe(pkg.version);
    const apply = await npx(["apply"]);
    expect(apply.exitCode, apply.all).toBe(0);
    expect((await platformsOf(`${env!.registry}/${ns}/app:1.0`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
  }, 180_000);
});
