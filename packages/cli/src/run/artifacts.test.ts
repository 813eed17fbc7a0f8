// found by a review: links committed under .multiarch/ made plan delete and overwrite files outside the
// repository (.multiarch/plans -> a folder of the user's: its files were removed as stale plans)
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { run } from "../cli.ts";
import { memoryIo } from "../testing/io.ts";
import { repoWithSpec } from "../testing/repo.ts";

const SPEC = 'version: 1\nregistries: { r: { url: "127.0.0.1:5999/x", insecure: true } }\nimages:\n  app: { context: app }\n';

/** A folder outside the repository with a file the user cares about. */
function victim(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-victim-"));
  writeFileSync(join(dir, "id_rsa"), "secret\n");
  return { dir, file: join(dir, "id_rsa") };
}

const plan = async (dir: string, ...args: string[]) => {
  const io = memoryIo(dir);
  return { exit: await run(["plan", "--strategy", "bake", ...args], io), err: io.err() };
};

describe("the output folder follows no link", () => {
  test("a link for plans/, a file or the OCI archives' folder: refused or replaced, nothing outside touched", async () => {
    const v = victim();
    const dir = repoWithSpec(SPEC);
    mkdirSync(join(dir, ".multiarch"));
    symlinkSync(v.dir, join(dir, ".multiarch/plans"));
    const refused = await plan(dir);
    expect(refused.exit).toBe(4);
    expect(refused.err).toContain(".multiarch/plans: a symbolic link, which multiarch follows nowhere in its own folder");
    expect(readFileSync(v.file, "utf8")).toBe("secret\n");
    // found by the re-test: the refusal left the spec's lock behind
    expect(existsSync(join(dir, ".multiarch/multiarch.yaml.lock"))).toBe(false);

    const w = victim();
    const other = repoWithSpec(SPEC);
    mkdirSync(join(other, ".multiarch"));
    symlinkSync(w.file, join(other, ".multiarch/docker-bake.json"));
    expect((await plan(other)).exit).toBe(0);
    expect(readFileSync(w.file, "utf8")).toBe("secret\n");
    expect(lstatSync(join(other, ".multiarch/docker-bake.json")).isFile()).toBe(true);

    const oci = repoWithSpec(SPEC);
    mkdirSync(join(oci, ".multiarch"));
    symlinkSync(w.dir, join(oci, ".multiarch/oci"));
    expect((await plan(oci, "--no-push")).exit).toBe(4);
  });

  // found by the re-test: a linked .multiarch/shards was refused only after the shard was built and pushed
  test("apply --shard refuses a link for shards/ before anything runs", async () => {
    const v = victim();
    const dir = repoWithSpec(SPEC);
    mkdirSync(join(dir, ".multiarch"));
    symlinkSync(v.dir, join(dir, ".multiarch/shards"));
    const io = memoryIo(dir);
    expect(await run(["apply", "--strategy", "bake", "--shard", "linux/amd64", "--dry-run"], io)).toBe(4);
    expect(io.err()).toContain(".multiarch/shards: a symbolic link");
    expect(io.out()).not.toContain("docker buildx bake");
  });

  test("a link for .multiarch itself is refused; -o naming a link is the user's choice", async () => {
    const v = victim();
    const dir = repoWithSpec(SPEC);
    symlinkSync(v.dir, join(dir, ".multiarch"));
    const refused = await plan(dir);
    expect(refused.exit).toBe(4);
    expect(refused.err).toContain(".multiarch is a symbolic link");
    expect(existsSync(join(v.dir, "plan.json"))).toBe(false);
    const out = mkdtempSync(join(tmpdir(), "multiarch-out-"));
    symlinkSync(out, join(dir, "out-link"));
    expect((await plan(dir, "-o", join(dir, "out-link"))).exit).toBe(0);
    expect(existsSync(join(out, "plan.json"))).toBe(true);
  });
});

// found by a review: two specs of one folder applied at once wrote one .multiarch, and one run's bake read
// the other's bake file (one image's content published under the other's name, exit 0)
test("a run whose output folder another run of another spec writes is refused with exit 5, naming both", async () => {
  const spec = (ns: string) => `version: 1\nplatforms: [linux/amd64]\nregistries:\n  r: { url: 127.0.0.1:5000/${ns} }\nimages:\n  app: { context: app }\n`;
  const dir = repoWithSpec(spec("one"));
  writeFileSync(join(dir, "other.yaml"), spec("two"));
  const { acquireOutputLock } = await import("@multiarch/executor");
  const held = acquireOutputLock(join(dir, ".multiarch"), join(dir, "multiarch.yaml"));
  expect(held.ok).toBe(true);
  try {
    const io = memoryIo(dir, { DOCKER_HOST: "unix:///nonexistent.sock" });
    expect(await run(["plan", "-f", "other.yaml", "--strategy", "bake"], io)).toBe(5);
    expect(io.err()).toContain("another run (of multiarch.yaml) writes .multiarch, this run's output folder (pid");
    expect(io.err()).toContain("wait for it to finish, or give this run a folder of its own with -o DIR");
    // with a folder of its own, it runs
    expect(await run(["plan", "-f", "other.yaml", "--strategy", "bake", "-o", "out-other"], memoryIo(dir))).toBe(0);
  } finally {
    if (held.ok) held.release();
  }
});
