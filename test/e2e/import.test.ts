// multiarch import (issue 13): bake files in the style of real projects, and the bake files this repository's
// examples compile to, imported and planned again; the real `docker buildx bake --print` of the result gives
// the same targets as the original (platforms, tags, args, labels, annotations, contexts, dockerfile,
// target, secrets, and the original cache sources).
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { BIN, cli, docker, env, example } from "./helpers.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/bake");

type Target = Record<string, unknown> & { contexts?: Record<string, string>; tags?: string[]; "cache-from"?: string[] };

async function print(dir: string, args: string[] = []): Promise<{ group?: Record<string, { targets: string[] }>; target: Record<string, Target> }> {
  const r = await docker(["buildx", "bake", "--print", ...args], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** What must survive the round trip, in a comparable form; link targets (base__amd64_arm64) read as their image. */
function comparable(dir: string, t: Target, internal: boolean) {
  const sorted = (v: unknown) => (Array.isArray(v) ? [...v].map(String).sort() : undefined);
  // levels kept: index,manifest: is index: and manifest:, and manifest: is what a plain key means
  const annotations = sorted(
    ((t.annotations as string[] | undefined) ?? [])
      .flatMap((a) => (a.startsWith("index,manifest:") ? [a.slice(15), `index:${a.slice(15)}`] : [a]))
      .map((a) => a.replace(/^manifest:(?=[^=]*=)/, "")),
  );
  return {
    context: resolve(dir, String(t.context ?? ".")),
    dockerfile: t.dockerfile ?? "Dockerfile",
    target: t.target,
    platforms: sorted(t.platforms),
    // an internal image's tags are not published: bake gave it none
    tags: internal ? undefined : sorted(t.tags),
    args: t.args ?? {},
    labels: t.labels ?? {},
    annotations: annotations?.length ? annotations : undefined,
    contexts: Object.fromEntries(Object.entries(t.contexts ?? {}).map(([k, v]) => [k, v.replace(/^target:([^_]+(?:_(?!_)[^_]*)*)__.*$/, "target:$1")])),
    // "id=x,env=Y" and "id=x,type=env,env=Y" are one secret
    secret: sorted(((t.secret as string[] | undefined) ?? []).map((x) => x.replace(/,type=(env|file)(?=,)/, ""))),
  };
}

async function roundTrip(dir: string, bakeArgs: string[] = []) {
  const original = await print(dir, bakeArgs);
  const imported = await cli(["import", ...bakeArgs, "-o", join(dir, "multiarch.yaml"), "--force", "--json"], { cwd: dir });
  expect(imported.exitCode, imported.stderr).toBe(0);
  const planned = await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake", "-o", join(dir, ".multiarch")]);
  expect(planned.exitCode, planned.stderr).toBe(0);
  const again = await print(dir, ["--file", ".multiarch/docker-bake.json"]);
  const spec = readFileSync(join(dir, "multiarch.yaml"), "utf8");
  for (const [name, t] of Object.entries(original.target)) {
    const mine = again.target[name];
    expect(mine, `${name} in the imported spec's bake file`).toBeDefined();
    const internal = !t.tags?.length;
    expect(comparable(dir, mine!, internal), name).toEqual(comparable(dir, t, internal));
    for (const c of t["cache-from"] ?? []) expect(mine!["cache-from"], `${name} cache-from`).toContain(c);
  }
  return { spec, notCarried: JSON.parse(imported.stdout).notCarried as string[] };
}

const copy = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `multiarch-import-${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  mkdirSync(join(dir, ".git"));
  return dir;
};

describe.skipIf(!env)("multiarch import", () => {
  test("a Java bakery: function tags, inherits, a two-key matrix in one repository, a cache-only base with a registry cache, groups", async () => {
    const { spec } = await roundTrip(copy("bakery"));
    expect(spec).toContain("    publish: false");
    expect(spec).toMatch(/groups:\n {2}servers:\n {4}- server-debian-jdk17/);
    expect(spec).toContain("  org.opencontainers.image.vendor: Acme"); // lifted into defaults
  });

  test("a notebook stack: a chain of images, one amd64-only, two registries", async () => {
    const { spec } = await roundTrip(copy("jupyter"));
    expect(spec).toMatch(/registries:\n {2}quay:\n {4}url: quay.io\/acme\n {2}dockerhub:\n {4}url: docker.io\/acme/);
  });

  test("a web app: secrets from env and file, annotations, attestations, a GitHub Actions cache; --set is bake's", async () => {
    const dir = copy("webapp");
    const { spec, notCarried } = await roundTrip(dir, ["--set", "api.args.NODE_ENV=staging"]);
    expect(spec).toContain("NODE_ENV: staging");
    expect(spec).toContain("file: secrets/npmrc.txt");
    expect(notCarried.join("\n")).toContain("multiarch writes its own cache");
  });

  test.each(["quickstart", "monorepo", "sharded", "bakery"])("this repository's %s example, from the bake file it compiles to", async (name) => {
    const dir = example(name);
    const planned = await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake", "-o", join(dir, "first")]);
    expect(planned.exitCode, planned.stderr).toBe(0);
    // as a bake user would have it: the bake file at the top, relative to the project
    writeFileSync(join(dir, "docker-bake.json"), readFileSync(join(dir, "first/docker-bake.json"), "utf8"));
    await roundTrip(dir, ["--file", "docker-bake.json"]);
  });

  // issue 25, items 1 and 2: what bake would build, written out; an absolute dockerfile kept as the same file
  test("a target without platforms is imported with the builder's own platform; an absolute dockerfile relative to its context", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-import-defaults-"));
    mkdirSync(join(dir, ".git"));
    mkdirSync(join(dir, "app"));
    mkdirSync(join(dir, "other"));
    writeFileSync(join(dir, "other/Dockerfile.abs"), "FROM scratch\n");
    writeFileSync(join(dir, "docker-bake.hcl"), `target "app" {\n  context = "app"\n  dockerfile = "${join(dir, "other/Dockerfile.abs")}"\n}\n`);
    const imported = await cli(["import", "app", "-o", "multiarch.yaml"], { cwd: dir });
    expect(imported.exitCode, imported.stderr).toBe(0);
    const own = (await docker(["buildx", "inspect"])).stdout.match(/^Platforms:\s+([^,\s*]+)/m)![1]!;
    const spec = readFileSync(join(dir, "multiarch.yaml"), "utf8");
    expect(spec).toContain(`bake builds for the builder's own, ${own}`);
    expect(spec).toContain(`platforms:\n  - ${own}\n`);
    expect(spec).toContain("dockerfile: ../other/Dockerfile.abs");
    const planned = await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake", "-o", join(dir, ".multiarch")]);
    expect(planned.exitCode, planned.stderr).toBe(0);
    const again = await print(dir, ["--file", ".multiarch/docker-bake.json"]);
    expect(again.target.app!.platforms).toEqual([own]);
    expect(resolve(dir, String(again.target.app!.context), String(again.target.app!.dockerfile))).toBe(join(dir, "other/Dockerfile.abs"));
  });

  test("a dockerfile-inline target leaves its groups, and so does a target built FROM it; the spec plans as it is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-import-inline-"));
    mkdirSync(join(dir, ".git"));
    mkdirSync(join(dir, "web"));
    writeFileSync(join(dir, "web/Dockerfile"), "FROM scratch\n");
    const target = (name: string, body: string) => `target "${name}" {\n  platforms = ["linux/amd64"]\n  ${body}\n}\n`;
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      [
        'group "default" { targets = ["all"] }',
        'group "all" { targets = ["web", "tools"] }',
        'group "tools" { targets = ["gen", "lint"] }\n',
        target("web", 'context = "web"\n  tags = ["127.0.0.1:5000/import-inline/web:1"]'),
        target("gen", 'dockerfile-inline = "FROM scratch"'),
        target("lint", 'context = "web"\n  contexts = { gen = "target:gen" }\n  tags = ["127.0.0.1:5000/import-inline/lint:1"]'),
      ].join("\n"),
    );
    const imported = await cli(["import", "-o", "multiarch.yaml", "--json"], { cwd: dir });
    expect(imported.exitCode, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).notCarried).toEqual(
      expect.arrayContaining([
        "target gen: dockerfile-inline cannot be carried; write it to a file; left out, and out of groups all, tools",
        "target lint: it builds FROM target:gen, which is left out; left out, and out of groups all, tools",
        "group tools: every target in it is left out (gen, lint); left out too",
      ]),
    );
    const spec = readFileSync(join(dir, "multiarch.yaml"), "utf8");
    expect(spec).toContain("groups:\n  all:\n    - web\nimages:");
    const planned = await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake", "--group", "all", "-o", join(dir, ".multiarch")]);
    expect(planned.exitCode, planned.stderr).toBe(0);
  });

  test("refuses to overwrite; a target bake does not know is exit 1 (the input's) with bake's message", async () => {
    const dir = copy("webapp");
    writeFileSync(join(dir, "multiarch.yaml"), "keep me\n");
    const r = await cli(["import"], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("exists; pass --force");
    const bad = await cli(["import", "no-such-target", "-o", "other.yaml"], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("no-such-target");
    // found by a review: a folder without a bake file was exit 4 (the machine's), with no hint
    const empty = mkdtempSync(join(tmpdir(), "multiarch-no-bake-"));
    const none = await cli(["import"], { cwd: empty });
    expect(none.exitCode, none.stderr).toBe(1);
    expect(none.stderr).toContain("name it with -f FILE");
    // found by a review: -f naming a folder, a binary file or an empty one was exit 4, or the hint said to pass -f
    mkdirSync(join(empty, "afolder"));
    writeFileSync(join(empty, "binary.yaml"), Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x81]));
    writeFileSync(join(empty, "empty.hcl"), "");
    // a program's first bytes: bake's excerpt of it put them on the terminal (found by a review)
    writeFileSync(
      join(empty, "binary.hcl"),
      Buffer.concat([Buffer.from("\x7fELF\x02\x01\x01"), Buffer.alloc(40), Buffer.from("\x1b[2J/lib64/ld-linux-x86-64.so.2")]),
    );
    // no NUL, but no UTF-8 either (Latin-1): bake's excerpt of it was a line of replacement characters
    writeFileSync(join(empty, "latin1.hcl"), Buffer.from('target "app" { tags = ["caf\xe9:1"] }\n', "latin1"));
    for (const f of ["afolder", "binary.yaml", "empty.hcl", "binary.hcl", "latin1.hcl"]) {
      const r = await cli(["import", "-f", f, "-o", "out.yaml"], { cwd: empty });
      expect(r.exitCode, `${f}: ${r.stderr}`).toBe(1);
      expect(r.stderr).not.toContain("name it with -f FILE");
      expect(r.stderr).not.toContain("ssh key");
      expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    }
    expect((await cli(["import", "-f", "binary.hcl", "-o", "out.yaml"], { cwd: empty })).stderr).toContain(
      "binary.hcl is not a text file (NUL bytes, or no UTF-8): bake reads HCL, JSON or compose YAML",
    );
    expect((await cli(["import", "-f", "latin1.hcl", "-o", "out.yaml"], { cwd: empty })).stderr).toContain("latin1.hcl is not a text file");
  });

  // found by a review: bake checks SSH_AUTH_SOCK even to print, and a CI runner has no SSH agent
  test("ssh = [default] imports without an SSH agent (ssh is not carried, and said so)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-import-ssh-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    writeFileSync(
      join(dir, "docker-bake.hcl"),
      'group "default" { targets = ["app"] }\ntarget "app" {\n  ssh = ["default"]\n  tags = ["example.com/acme/app:1"]\n}\n',
    );
    mkdirSync(join(dir, "a-folder"));
    writeFileSync(join(dir, "a-file"), "not a socket\n");
    for (const [n, agent] of [
      ["", ""],
      ["gone", join(dir, "no-such-agent.sock")],
      ["folder", join(dir, "a-folder")],
      ["file", join(dir, "a-file")],
    ] as const) {
      const r = await cli(["import", "-o", `multiarch${n}.yaml`, "--json"], { cwd: dir, env: { SSH_AUTH_SOCK: agent } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain("ssh");
      expect(readFileSync(join(dir, `multiarch${n}.yaml`), "utf8")).toContain("example.com");
    }
  });

  // found by a review: bake --print (buildx 0.13) shows no network, so network = "host" was dropped without a word;
  // compose's image: worker became a push to docker.io/library; a file bake refuses was exit 4 (the machine's)
  test("what --print hides is named from the files bake read; a library/ push is warned of; a file bake refuses is exit 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-import-hidden-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    writeFileSync(join(dir, "docker-bake.hcl"), 'target "default" {\n  network = "host"\n  tags = ["worker"]\n}\n');
    const r = await cli(["import", "-o", "multiarch.yaml"], { cwd: dir });
    expect(r.stderr).toContain(
      "warning: docker-bake.hcl:2: network is set (in whichever target holds that line), which bake --print does not show: not carried",
    );
    expect(r.stderr).toContain('tag "worker" names docker.io/library/worker, Docker Hub\'s official images, where no one else can push');
    expect(readFileSync(join(dir, "multiarch.yaml"), "utf8")).toContain("docker-bake.hcl:2: network is set");
    writeFileSync(join(dir, "bad.json"), '{"target": {"App.Server": {"context": "."}}}');
    const bad = await cli(["import", "-f", "bad.json", "-o", "other.yaml"], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).not.toMatch(/#\d+ reading/);
  });

  test("an ssh key or a secret file this machine lacks: bake cannot print, and the error says which file and why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-import-key-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    for (const line of ['ssh = ["github=/no/such/key"]', 'secret = ["id=npm,src=/no/such/key"]']) {
      writeFileSync(join(dir, "docker-bake.hcl"), `target "default" {\n  ${line}\n  tags = ["example.com/acme/app:1"]\n}\n`);
      const r = await cli(["import", "-o", "multiarch.yaml"], { cwd: dir });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain("/no/such/key is not on this machine: import on a machine that has it");
      expect(existsSync(join(dir, "multiarch.yaml"))).toBe(false);
    }
    // found by a review: a secret with neither env= nor src= (buildx reads the variable of its id, else the
    // file of that name) was left out, and a missing one failed with exit 4 and no hint
    writeFileSync(join(dir, "docker-bake.hcl"), 'target "default" {\n  secret = ["id=GIT_CREDENTIALS"]\n  tags = ["example.com/acme/app:1"]\n}\n');
    const none = await cli(["import", "-o", "multiarch.yaml"], { cwd: dir });
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain("GIT_CREDENTIALS is not on this machine (nor is environment variable GIT_CREDENTIALS set");
    const set = await cli(["import", "-o", "multiarch.yaml"], { cwd: dir, env: { GIT_CREDENTIALS: "x" } });
    expect(set.exitCode, set.stderr).toBe(0);
    expect(readFileSync(join(dir, "multiarch.yaml"), "utf8")).toMatch(/- id: GIT_CREDENTIALS\n\s+env: GIT_CREDENTIALS/);
  });

  // found by a review of real projects' bake files (Alfresco's bakery, tonistiigi/xx, aptos-core, compose files)
  test("real-world forms: a base built only as a context is internal; comma platforms, pinned contexts, bare cache refs, options not carried are said", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-import-real-"));
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    const pinned = `docker-image://127.0.0.1:5000/base/busybox:1@sha256:${"ab".repeat(32)}`;
    const hcl = [
      'variable "PLATFORMS" { default = "linux/amd64,linux/arm64" }',
      'target "java_base" {',
      '  tags = ["127.0.0.1:5000/acme/base-java:21"]',
      '  output = ["type=cacheonly"]',
      "}",
      'target "app" {',
      '  contexts = { java_base = "target:java_base", rust = "' + pinned + '" }',
      "  platforms = [PLATFORMS]",
      '  tags = ["127.0.0.1:5000/acme/app:1"]',
      '  output = ["type=image,compression=zstd,force-compression=true"]',
      '  cache-from = ["127.0.0.1:5000/acme/app:cache"]',
      '  cache-to = ["type=registry,ref=127.0.0.1:5000/acme/app:cache"]',
      '  attest = ["type=sbom,generator=docker/buildkit-syft-scanner:1.4.0"]',
      "}",
      'target "release" {',
      '  output = ["./bin/release"]',
      "}",
      'target "loc" {',
      '  platforms = ["local"]',
      '  tags = ["127.0.0.1:5000/acme/loc:1"]',
      "}",
      'group "default" { targets = ["app", "release", "loc"] }',
    ].join("\n");
    writeFileSync(join(dir, "docker-bake.hcl"), `${hcl}\n`);
    const r = await cli(["import", "-o", "multiarch.yaml", "--json"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const spec = readFileSync(join(dir, "multiarch.yaml"), "utf8");
    // the base bake builds for app and pushes nowhere: not published, its tag not carried; it sets no
    // platforms, and app's arm64 image is not built FROM an amd64 one
    expect(r.stderr).toContain("target java_base: sets no platforms, and app builds FROM it");
    expect(r.stderr).toContain("target java_base: bake builds it only as the context of app (it is not among the targets asked for) and pushes it nowhere");
    expect(spec).toMatch(/java_base:\n(?: {4}.*\n)*? {4}publish: false/);
    expect(spec).not.toContain("base-java:21");
    // "linux/amd64,linux/arm64" is two platforms, as bake reads it
    expect(spec).toMatch(/platforms:\n {2}- linux\/amd64\n {2}- linux\/arm64/);
    // a pinned base keeps its tag and digest (the redactor took name:tag@ for a password)
    expect(spec).toContain(pinned);
    // buildx's cache-to is min when it does not say; the cache bake wrote is read; a bare ref is a registry cache
    expect(spec).toMatch(/mode: min/);
    expect(spec).toContain("type=registry,ref=127.0.0.1:5000/acme/app:cache");
    expect(spec).not.toContain("undefined");
    expect(r.stderr).toContain("target app: output compression=zstd,force-compression=true is not carried");
    expect(r.stderr).toContain("target app: attest type=sbom: generator=docker/buildkit-syft-scanner:1.4.0 is not carried");
    expect(r.stderr).toContain("target release: output type=local,dest=./bin/release is not carried");
    // "local" is the builder's platform, asked of buildx though every target names platforms (found by a re-test)
    expect(r.stderr).toMatch(/target loc: platform local is written as this builder's, linux\/\w+/);
    const planned = await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake"], { cwd: dir });
    expect(planned.exitCode, planned.stderr).toBe(0);
  });

  // found by a review: bake --print reading a FIFO ignored Ctrl-C (and its own 60 s timeout): the docker CLI
  // plugin ran on, orphaned, holding the pipes
  test("Ctrl-C stops bake --print at once: exit 130, one JSON document, no bake left running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-import-fifo-"));
    const fifo = join(dir, "fifo.hcl");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const child = spawn(process.execPath, [BIN, "import", "--json", "-f", fifo, "-o", join(dir, "multiarch.yaml")], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    // bake is reading the FIFO once its plugin runs
    const bakeRuns = () => spawnSync("pgrep", ["-f", `bake --print --file ${fifo}`]).status === 0;
    for (let i = 0; i < 100 && !bakeRuns(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(bakeRuns()).toBe(true);
    const stopped = performance.now();
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(performance.now() - stopped).toBeLessThan(5000);
    expect(JSON.parse(out)).toMatchObject({ command: "import", exitCode: 130 });
    for (let i = 0; i < 50 && bakeRuns(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(bakeRuns()).toBe(false);
  }, 30_000);
});
