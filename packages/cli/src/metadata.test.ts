import type { Report } from "@multiarch/executor";
import { describe, expect, test } from "vitest";
import { githubOutputLines, metadataOf } from "./metadata.ts";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const check = { digest: d("i"), manifests: { "linux/amd64": d("a"), "linux/arm64": d("b") }, found: [], missing: [], extra: [], mismatched: [], ok: true };
const step = (id: string, image: string, extra: Partial<Report["steps"][number]> = {}): Report["steps"][number] => ({
  id,
  kind: "verify",
  image,
  status: "ok",
  startMs: 0,
  durationMs: 1,
  attempts: 1,
  ...extra,
});
const report: Report = {
  ok: false,
  exitCode: 2,
  durationMs: 10,
  steps: [step("verify:web@hub", "web", { check }), step("verify:api@hub", "api", { status: "failed" })],
  images: [
    { name: "web", platforms: ["linux/amd64", "linux/arm64"], digest: d("i"), tags: ["r/web:1", "r/web:latest"], durationMs: 1, status: "published" },
    { name: "api", platforms: ["linux/amd64"], tags: ["r/api:1"], durationMs: 1, status: "failed" },
    { name: "db.v2", platforms: ["linux/amd64"], digest: d("u"), tags: ["r/db:1"], durationMs: 0, status: "up-to-date" },
  ],
  tags: [
    { image: "web", ref: "r/web:1", status: "moved", digest: d("i") },
    { image: "web", ref: "r/web:latest", status: "unchanged", digest: d("i") },
    { image: "web", ref: "q:5000/web:1", status: "moved", digest: d("i") },
    { image: "api", ref: "r/api:1", status: "not-moved" },
  ],
  staged: [],
};

describe("metadata for CI", () => {
  test("per image: bake's keys, each platform's digest, the repositories holding the index; failed images hold nothing", () => {
    const meta = metadataOf(report);
    expect(meta.web).toEqual({
      "containerimage.digest": d("i"),
      "image.name": "r/web:1,r/web:latest,q:5000/web:1",
      "multiarch.status": "published",
      "multiarch.platforms": { "linux/amd64": d("a"), "linux/arm64": d("b") },
      "multiarch.repositories": { "r/web": d("i"), "q:5000/web": d("i") },
    });
    expect(meta.api).toEqual({ "image.name": "", "multiarch.status": "failed", "multiarch.repositories": {} });
    // up to date: its tags already hold its digest
    expect(meta["db.v2"]).toMatchObject({ "image.name": "r/db:1", "multiarch.repositories": { "r/db": d("u") } });
  });

  test("GITHUB_OUTPUT: the document on one line, digest and tags per image under names GitHub accepts", () => {
    const lines = githubOutputLines(metadataOf(report)).trimEnd().split("\n");
    expect(JSON.parse(lines[0]!.slice("metadata=".length))).toEqual(metadataOf(report));
    expect(lines).toContain(`digest-web=${d("i")}`);
    expect(lines).toContain("tags-api=");
    expect(lines).toContain(`digest-db_v2=${d("u")}`);
    expect(lines.some((l) => l.startsWith("digest="))).toBe(false); // several images: no bare digest
    const one = githubOutputLines(metadataOf({ ...report, images: [report.images[0]!] }));
    expect(one).toContain(`\ndigest=${d("i")}\n`);
  });
});
