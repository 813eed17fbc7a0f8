// Incremental applies (issue 11) against the real engine and registry: input hashes decide what runs.
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { cli, docker, env, namespace, platformsOf, repo, reportOf } from "./helpers.ts";

type Report = {
  images: { name: string; status: string; digest?: string }[];
  steps: { kind: string }[];
  plan: { images: { name: string; changed?: string[] }[] };
};

/** base, app (FROM base), other (FROM an external image in the test registry), in a git repository. */
async function monorepo(ns: string, external: string) {
  const dir = repo({
    "multiarch.yaml": `version: 1
platforms: [linux/amd64, linux/arm64]
registries: { local: { url: "${env!.registry}/${ns}", insecure: true } }
defaults: { tags: ["1.0", latest] }
images:
  base: { context: base }
  app: { context: app, contexts: { base: "image:base" } }
  other: { context: other }
`,
    "base/Dockerfile": `FROM ${env!.baseImage}\nCOPY base.txt /base.txt\n`,
    "base/base.txt": "base v1\n",
    "app/Dockerfile": "FROM base\nCOPY app.txt /app.txt\n",
    "app/app.txt": "app v1\n",
    "app/.dockerignore": "notes/\n",
    "app/notes/todo.md": "ignored\n",
    "other/Dockerfile": `ARG BASE=${external}\nFROM \${BASE}\nCOPY other.txt /other.txt\n`,
    "other/other.txt": "other v1\n",
  });
  await execa("rm", ["-rf", join(dir, ".git")]);
  const git = (...args: string[]) =>
    execa("git", args, { cwd: dir, env: { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
  await git("init", "-q");
  await git("add", ".");
  await git("commit", "-qm", "one");
  return { dir, commit: async (msg: string) => (await git("add", "."), await git("commit", "-qm", msg)) };
}

const apply = async (dir: string, ...extra: string[]) => {
  const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json", ...extra]);
  expect(r.exitCode, r.stderr).toBe(0);
  return reportOf(r.stdout) as Report;
};
/** `tag` moved to a new index of the base image's amd64 and arm64 images: a new digest under the same tag. */
async function moveToNewIndex(tag: string) {
  const raw = JSON.parse((await docker(["buildx", "imagetools", "inspect", "--raw", env!.baseImage])).stdout) as {
    manifests: { digest: string; platform: { architecture: string } }[];
  };
  const repoName = env!.baseImage.slice(0, env!.baseImage.lastIndexOf(":"));
  const sources = raw.manifests.filter((m) => ["amd64", "arm64"].includes(m.platform.architecture)).map((m) => `${repoName}@${m.digest}`);
  expect((await docker(["buildx", "imagetools", "create", "--tag", tag, ...sources])).exitCode).toBe(0);
}
const statuses = (r: Report) => Object.fromEntries(r.images.map((i) => [i.name, i.status]));

describe.skipIf(!env)("incremental applies", () => {
  test("no-op, ignored files, a leaf, a base, a moved external base: exactly what changed is built", async () => {
    const ns = namespace("incr");
    const external = `${env!.registry}/${ns}/external:1`;
    expect((await docker(["buildx", "imagetools", "create", "--tag", external, env!.baseImage])).exitCode).toBe(0);
    const { dir, commit } = await monorepo(ns, external);
    const tag = (image: string) => `${env!.registry}/${ns}/${image}:1.0`;

    const first = await apply(dir);
    expect(statuses(first)).toEqual({ base: "published", app: "published", other: "published" });
    const digests = async () => Object.fromEntries(await Promise.all(["base", "app", "other"].map(async (i) => [i, (await platformsOf(tag(i))).digest])));
    const d1 = await digests();

    // nothing changed (a new commit that touches no input): no build process at all
    writeFileSync(join(dir, "README.md"), "docs\n");
    await commit("docs");
    const noop = await apply(dir);
    expect(statuses(noop)).toEqual({ base: "up-to-date", app: "up-to-date", other: "up-to-date" });
    expect(noop.steps.filter((s) => ["bake", "build", "push", "verify", "test"].includes(s.kind))).toEqual([]);

    // a file the context's .dockerignore excludes
    appendFileSync(join(dir, "app/notes/todo.md"), "more\n");
    expect(statuses(await apply(dir))).toEqual({ base: "up-to-date", app: "up-to-date", other: "up-to-date" });
    expect(await digests()).toEqual(d1);

    // a leaf: only its tags move
    writeFileSync(join(dir, "app/app.txt"), "app v2\n");
    const leaf = await apply(dir, "--explain");
    expect(statuses(leaf)).toEqual({ base: "up-to-date", app: "published", other: "up-to-date" });
    expect(leaf.plan.images.find((i) => i.name === "app")!.changed).toEqual(["context"]);
    const d2 = await digests();
    expect(d2.base).toBe(d1.base);
    expect(d2.other).toBe(d1.other);
    expect(d2.app).not.toBe(d1.app);
    const run = await docker(["run", "--rm", "--pull", "always", "--platform", "linux/arm64", tag("app"), "cat", "/base.txt", "/app.txt"]);
    expect(run.stdout).toBe("base v1\napp v2");

    // a base: it and exactly its dependents
    writeFileSync(join(dir, "base/base.txt"), "base v2\n");
    const base = await apply(dir);
    expect(statuses(base)).toEqual({ base: "published", app: "published", other: "up-to-date" });
    expect(base.plan.images.find((i) => i.name === "app")!.changed).toEqual(["contexts"]);
    const d3 = await digests();
    expect(d3.other).toBe(d1.other);

    // an external base whose tag moved: its dependents rebuild
    // the same images in a new index (two platforms only): a new digest under the same tag
    await moveToNewIndex(external);
    const moved = await apply(dir);
    expect(statuses(moved)).toEqual({ base: "up-to-date", app: "up-to-date", other: "published" });
    // the bases compared are named, with the digests they hold now
    expect(moved.plan.images.find((i) => i.name === "other")!.changed).toEqual([expect.stringMatching(/^bases \(now .+@sha256:[a-f0-9]{64}\)$/)]);
    expect(moved.plan.images.find((i) => i.name === "other")!.changed![0]).toContain(`${external}@sha256:`);

    // --rebuild ignores what the tags hold
    expect(statuses(await apply(dir, "--rebuild"))).toEqual({ base: "unchanged", app: "unchanged", other: "unchanged" });
  }, 300_000);
  // Found by review: an image read by COPY --from or a docker-image:// context was hashed as written (or
  // not at all), so its moved tag left the image "up to date" with the old content.
  test("an image read besides FROM (COPY --from, a docker-image:// context): its moved tag rebuilds what reads it", async () => {
    const ns = namespace("incr-read");
    const external = `${env!.registry}/${ns}/tool:1`;
    expect((await docker(["buildx", "imagetools", "create", "--tag", external, env!.baseImage])).exitCode).toBe(0);
    const dir = repo({
      "multiarch.yaml": `version: 1
platforms: [linux/amd64, linux/arm64]
registries: { local: { url: "${env!.registry}/${ns}", insecure: true } }
defaults: { tags: ["1.0"] }
images:
  copier: { context: copier }
  reader: { context: reader, contexts: { tool: "docker-image://${external}" } }
`,
      "copier/Dockerfile": `FROM ${env!.baseImage}\nCOPY --from=${external} /bin/busybox /tool\n`,
      "reader/Dockerfile": `FROM ${env!.baseImage}\nCOPY --from=tool /bin/busybox /tool\n`,
    });
    expect(statuses(await apply(dir))).toEqual({ copier: "published", reader: "published" });
    expect(statuses(await apply(dir))).toEqual({ copier: "up-to-date", reader: "up-to-date" });
    await moveToNewIndex(external);
    const moved = await apply(dir);
    expect(statuses(moved)).toEqual({ copier: "published", reader: "published" });
    for (const image of ["copier", "reader"])
      expect(moved.plan.images.find((i) => i.name === image)!.changed).toEqual([expect.stringContaining(`${external}@sha256:`)]);
  }, 300_000);
});
