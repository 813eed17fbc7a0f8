import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadSpec } from "@multiarch/spec";
import { changedInputFiles, contextFiles, filesDigest, gatherInputs } from "./input-facts.ts";

const contextDigest = (...a: Parameters<typeof contextFiles>) => filesDigest(contextFiles(...a));

function ctx(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-ctx-"));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

describe("contextDigest", () => {
  test("contents count, ignored files do not, timestamps never", () => {
    const files = { "a.txt": "a", "src/b.js": "b", "logs/x.log": "1", ".dockerignore": "logs\n*.tmp\n" };
    const one = ctx(files);
    const d = contextDigest(one, join(one, ".dockerignore"));
    expect(contextDigest(ctx(files), join(one, ".dockerignore"))).toBe(d);
    const ignored = ctx({ ...files, "logs/x.log": "2", "c.tmp": "new" });
    expect(contextDigest(ignored, join(ignored, ".dockerignore"))).toBe(d);
    const changed = ctx({ ...files, "src/b.js": "b2" });
    expect(contextDigest(changed, join(changed, ".dockerignore"))).not.toBe(d);
  });

  // found by a review: a 3 GiB file in a context ended apply with an internal error (readFileSync's limit)
  test("a file over 2 GiB is hashed, as its contents", () => {
    const dir = ctx({ "big.bin": "" });
    // sparse: no disk used, zeros when read
    truncateSync(join(dir, "big.bin"), 2 ** 31 + 5);
    const [, big] = contextFiles(dir).find(([p]) => p === "big.bin")!;
    // sha256sum of a file of as many zeros
    expect(big).toBe("644\u000068bdfcb656af3067b8110b5cc839b4e12b180ef11e86011b8df4a709fe2c2f67");
  }, 30_000);

  // found by a re-test: with context: ., every run rewrote .multiarch inside the context: never up to date,
  // and two shards of one checkout hashed differently (merge refused them)
  test("multiarch's output folder in the context is no input", () => {
    const files = { Dockerfile: "FROM scratch\n", "app.txt": "a" };
    const before = ctx({ ...files, ".multiarch/plan.json": "{}" });
    const d = contextDigest(before, join(before, ".dockerignore"), [join(before, ".multiarch")]);
    const after = ctx({ ...files, ".multiarch/plan.json": '{"other": 1}', ".multiarch/plans/x.json": "{}" });
    expect(contextDigest(after, join(after, ".dockerignore"), [join(after, ".multiarch")])).toBe(d);
    // a folder of the same name deeper down is the image's, and counts
    const nested = ctx({ ...files, "sub/.multiarch/x": "1" });
    expect(contextDigest(nested, join(nested, ".dockerignore"), [join(nested, ".multiarch")])).not.toBe(d);
  });

  test("exceptions re-include files inside ignored folders", () => {
    const files = { "docs/keep.md": "k", "docs/drop.md": "d", ".dockerignore": "docs\n!docs/keep.md\n" };
    const base = ctx(files);
    const d = contextDigest(base, join(base, ".dockerignore"));
    const dropChanged = ctx({ ...files, "docs/drop.md": "d2" });
    expect(contextDigest(dropChanged, join(dropChanged, ".dockerignore"))).toBe(d);
    const keepChanged = ctx({ ...files, "docs/keep.md": "k2" });
    expect(contextDigest(keepChanged, join(keepChanged, ".dockerignore"))).not.toBe(d);
  });

  test("permission bits and symlink targets are inputs", () => {
    const a = ctx({ "run.sh": "echo" });
    chmodSync(join(a, "run.sh"), 0o644);
    const before = contextDigest(a);
    chmodSync(join(a, "run.sh"), 0o755);
    expect(contextDigest(a)).not.toBe(before);
    // COPY keeps every permission bit: a file only its owner may read is another image
    chmodSync(join(a, "run.sh"), 0o600);
    const privateFile = contextDigest(a);
    expect(privateFile).not.toBe(before);
    chmodSync(join(a, "run.sh"), 0o644);
    expect(contextDigest(a)).toBe(before);
    mkdirSync(join(a, "conf"), { mode: 0o755 });
    const withFolder = contextDigest(a);
    chmodSync(join(a, "conf"), 0o700);
    expect(contextDigest(a)).not.toBe(withFolder);
    const l = ctx({ "t.txt": "t" });
    symlinkSync("t.txt", join(l, "link"));
    const withLink = contextDigest(l);
    const m = ctx({ "t.txt": "t" });
    symlinkSync("other", join(m, "link"));
    expect(contextDigest(m)).not.toBe(withLink);
  });
});

// found by a review: an oci-layout:// context counted by its ref alone, so a new image written into the
// layout (under the same tag) rebuilt nothing
test("an OCI layout context: what its folder holds is an input", async () => {
  const repo = ctx({ "app/Dockerfile": "FROM scratch\n", "layout/index.json": '{"manifests":[]}', "layout/oci-layout": "{}" });
  mkdirSync(join(repo, ".git"));
  writeFileSync(join(repo, "multiarch.yaml"), 'version: 1\nimages:\n  app: { context: app, contexts: { l: "oci-layout://layout:v1" } }\n');
  const loaded = loadSpec(join(repo, "multiarch.yaml"));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const facts = async () => (await gatherInputs(loaded.spec, loaded.spec.images, new Map(), {})).facts.app!.contexts.l;
  const before = await facts();
  expect(before).toBeDefined();
  writeFileSync(join(repo, "layout/index.json"), '{"manifests":[{"digest":"sha256:x"}]}');
  expect(await facts()).not.toBe(before);
});

// found by a failure-scenario review: a file edited after the hashing and before BuildKit read the context
// was built into an image labelled with the old files' hash
test("changedInputFiles: what differs from the files as hashed, named from the spec's folder", async () => {
  const repo = ctx({
    "app/Dockerfile": "FROM scratch\nCOPY . /\n",
    "app/a.txt": "a",
    "app/.dockerignore": "notes/\n",
    "shared/s.txt": "s",
    "multiarch.yaml": "version: 1\nimages:\n  app: { context: app, contexts: { shared: ./shared } }\n",
  });
  mkdirSync(join(repo, ".git"));
  const loaded = loadSpec(join(repo, "multiarch.yaml"));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const { spec } = loaded;
  const app = spec.images[0]!;
  const { files } = await gatherInputs(spec, spec.images, new Map(), {});
  const before = files.get("app")!;
  expect(changedInputFiles(spec, app, before)).toEqual([]);
  // ignored files and multiarch's own output folder are no inputs; timestamps are none either
  mkdirSync(join(repo, "app/notes"));
  writeFileSync(join(repo, "app/notes/todo.md"), "x");
  mkdirSync(join(repo, ".multiarch"));
  writeFileSync(join(repo, ".multiarch/plan.json"), "{}");
  writeFileSync(join(repo, "app/a.txt"), "a");
  expect(changedInputFiles(spec, app, before)).toEqual([]);
  writeFileSync(join(repo, "app/a.txt"), "edited");
  writeFileSync(join(repo, "app/new.txt"), "n");
  chmodSync(join(repo, "shared/s.txt"), 0o600);
  expect(changedInputFiles(spec, app, before)).toEqual(["app/a.txt", "app/new.txt", "shared/s.txt"]);
  writeFileSync(join(repo, "app/Dockerfile"), "FROM scratch\n");
  expect(changedInputFiles(spec, app, before)).toContain("app/Dockerfile");
});
