// --since REF: only images whose inputs differ from what REF's commit would build, and their dependents.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { run } from "../cli.ts";
import { memoryIo } from "../testing/io.ts";

function repo(): { dir: string; commit: (files: Record<string, string>) => void } {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-since-"));
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" },
    });
  const commit = (files: Record<string, string>) => {
    for (const [p, c] of Object.entries(files)) {
      mkdirSync(join(dir, p, ".."), { recursive: true });
      writeFileSync(join(dir, p), c);
    }
    git("add", ".");
    git("commit", "-qm", "x");
  };
  git("init", "-q");
  commit({
    "multiarch.yaml":
      'version: 1\nregistries: { r: { url: "localhost:5000/x" } }\nimages:\n  base: { context: base }\n  app: { context: app, contexts: { base: "image:base" } }\n  other: { context: other }\n',
    "base/Dockerfile": "FROM scratch\nCOPY b /b\n",
    "base/b": "1",
    "app/Dockerfile": "FROM base\nCOPY a /a\n",
    "app/a": "1",
    "other/Dockerfile": "FROM scratch\nCOPY o /o\n",
    "other/o": "1",
  });
  return { dir, commit };
}

async function planSince(dir: string, ref: string) {
  const io = memoryIo(dir);
  const exit = await run(["plan", "--strategy", "bake", "--since", ref, "--json"], io);
  return { exit, doc: JSON.parse(io.out()) as { plan?: { images: { name: string; notPublished?: string }[] }; changed?: string[]; message?: string } };
}

describe("--since", () => {
  test("a changed leaf alone; a changed base with its dependents; nothing changed: nothing to do", async () => {
    const r = repo();
    r.commit({ "app/a": "2" });
    const leaf = await planSince(r.dir, "HEAD~1");
    expect(leaf.exit).toBe(0);
    // base comes along as app's dependency, not published
    expect(leaf.doc.plan!.images.map((i) => [i.name, Boolean(i.notPublished)])).toEqual([
      ["base", true],
      ["app", false],
    ]);
    r.commit({ "base/b": "2" });
    const base = await planSince(r.dir, "HEAD~1");
    expect(base.doc.plan!.images.map((i) => [i.name, Boolean(i.notPublished)])).toEqual([
      ["base", false],
      ["app", false],
    ]);
    const none = await planSince(r.dir, "HEAD");
    expect(none.exit).toBe(0);
    expect(none.doc).toMatchObject({ changed: [], message: expect.stringContaining("nothing to do") });
  });

  // found by a review: "no image's inputs changed" when some had, but none that --image named
  test("--image naming none of what changed says which changed", async () => {
    const r = repo();
    r.commit({ "app/a": "2" });
    const io = memoryIo(r.dir);
    expect(await run(["plan", "--strategy", "bake", "--since", "HEAD~1", "--image", "other", "--json"], io)).toBe(0);
    expect(JSON.parse(io.out()).message).toBe("none of other changed since HEAD~1: nothing to do; changed, but not asked for with --image: app");
  });

  test("an unknown commit is a usage error", async () => {
    const r = repo();
    expect((await planSince(r.dir, "nope")).exit).toBe(1);
  });
});
