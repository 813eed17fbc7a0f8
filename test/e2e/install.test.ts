// The CLI package works in somebody else's repository: packed, installed, and run from node_modules/.bin.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect, test } from "vitest";
import { ROOT } from "./helpers.ts";

test("pack, install into a fresh project, run multiarch validate and plan", async () => {
  const out = mkdtempSync(join(tmpdir(), "multiarch-pack-"));
  await execa("pnpm", ["pack", "--pack-destination", out], { cwd: join(ROOT, "packages/cli") });
  const tarball = readdirSync(out).find((f) => f.endsWith(".tgz"))!;
  const project = mkdtempSync(join(tmpdir(), "multiarch-user-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true }));
  // the bundle has no runtime dependencies, so this needs no registry
  await execa("npm", ["install", "--no-audit", "--no-fund", "--offline", "--save-dev", join(out, tarball)], { cwd: project });
  mkdirSync(join(project, ".git"));
  mkdirSync(join(project, "app"));
  writeFileSync(join(project, "app/Dockerfile"), "FROM scratch\n");
  writeFileSync(join(project, "multiarch.yaml"), "version: 1\nimages:\n  app:\n    context: app\n");
  const bin = join(project, "node_modules/.bin/multiarch");
  const validate = await execa(bin, ["validate"], { cwd: project, reject: false });
  expect(validate.exitCode, String(validate.stderr)).toBe(0);
  expect(String(validate.stdout)).toContain("valid: multiarch.yaml (1 image)");
  const plan = await execa(bin, ["plan", "--strategy", "bake", "--json"], { cwd: project, reject: false });
  expect(plan.exitCode, String(plan.stderr)).toBe(0);
  expect(JSON.parse(String(plan.stdout)).plan.images[0].archive).toBe(".multiarch/oci/app.tar");
});
