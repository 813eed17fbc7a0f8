// issue 25, item 4: merge --from the folder apply --shard --out DIR wrote (plan files beside shards/).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planIdentity } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { run } from "../cli.ts";
import { memoryIo } from "../testing/io.ts";
import { repoWithSpec } from "../testing/repo.ts";

const PLATFORMS = ["linux/amd64", "linux/arm64"];

describe("merge --from", () => {
  test("the folder apply --shard --out DIR wrote: its shards/ are read, files that are not shards skipped with a note", async () => {
    const dir = repoWithSpec(
      `version: 1\nplatforms: [${PLATFORMS.join(", ")}]\nregistries: { r: { url: "127.0.0.1:5999/merge-from", insecure: true } }\nimages:\n  app: { context: app, tags: [v1] }\n`,
    );
    const out = join(dir, "artifacts");
    const planned = memoryIo(dir);
    // apply's plan: its images carry their input hashes, which the shards must have built from
    expect(await run(["apply", "--strategy", "bake", "-o", out, "--dry-run", "--json"], planned), planned.err()).toBe(0);
    const plan = JSON.parse(planned.out()).plan;
    const ref = plan.images[0].refs[0];
    mkdirSync(join(out, "shards"));
    PLATFORMS.forEach((platform, i) => {
      const digest = `sha256:${String(i).repeat(64)}`;
      const shard = {
        version: 1,
        identity: { plan: planIdentity(plan), commit: "none" },
        platform,
        images: { app: { inputHash: plan.images[0].inputHash, tests: "none", refs: { [ref.name]: { staging: ref.staging, digest, manifest: digest } } } },
      };
      writeFileSync(join(out, "shards", `${platform.replace("/", "-")}.json`), JSON.stringify(shard));
    });
    writeFileSync(join(out, "notes.json"), "not json at all");
    const io = memoryIo(dir);
    const exit = await run(["merge", "-o", out, "--from", out, "--dry-run"], io);
    expect(io.err()).not.toContain("is not a shard file");
    expect(exit, io.err()).toBe(0);
    expect(io.err()).toMatch(/note: skipped \d+ file\(s\) that are not shards: .*artifacts\/docker-bake\.json/);
    expect(io.err()).toContain("artifacts/notes.json");
    expect(io.out()).toContain(`${ref.name}@sha256:${"1".repeat(64)}`);
  });

  test("a file that claims to be a shard and is broken still stops the merge", async () => {
    const dir = repoWithSpec("version: 1\nimages:\n  app: { context: app }\n");
    mkdirSync(join(dir, "in"));
    writeFileSync(join(dir, "in/linux-amd64.json"), JSON.stringify({ version: 7, identity: {} }));
    const io = memoryIo(dir);
    expect(await run(["merge", "--from", "in", "--dry-run"], io)).toBe(1);
    expect(io.err()).toContain("in/linux-amd64.json is not a shard file");
    expect(io.err()).toContain("written as shard version 7");
  });

  test("a --from path that does not exist is refused, not read as no shards", async () => {
    const dir = repoWithSpec("version: 1\nimages:\n  app: { context: app }\n");
    mkdirSync(join(dir, "in"));
    const io = memoryIo(dir);
    expect(await run(["merge", "--from", "in", "--from", "typo", "--dry-run"], io)).toBe(1);
    expect(io.err()).toContain("--from typo: no such file or folder");
  });
});
