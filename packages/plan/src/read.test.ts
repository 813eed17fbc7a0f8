import { describe, expect, test } from "vitest";
import { PLAN_VERSION } from "./format.ts";
import { asPlan } from "./plan-views.ts";
import { parsePlanFile } from "./read.ts";
import type { ArchPlan } from "./schema.ts";

const strategy = { requested: "auto", chosen: "bake", reason: "docker driver", ociLayout: true } as const;
const arch: ArchPlan = {
  version: PLAN_VERSION,
  platform: "linux/arm64",
  images: [],
  spec: "../multiarch.yaml",
  cwd: "..",
  strategy,
  steps: [
    { id: "bake:linux-arm64", kind: "bake", commands: [], inputs: [], produces: [] },
    { id: "push:a", kind: "push", commands: [], inputs: [], produces: [] },
    { id: "push:b", kind: "push", commands: [], inputs: [], produces: [] },
  ],
  secrets: [{ env: "TOKEN" }],
};

describe("plan files", () => {
  test("another version is refused naming both versions", () => {
    expect(parsePlanFile({ version: 1 })).toEqual({ ok: false, problems: [`written as plan version 1; this multiarch reads version ${PLAN_VERSION}`] });
    expect(parsePlanFile(null)).toMatchObject({ ok: false });
  });

  test("a per-arch plan reads back whole and runs with the full plan's strategy decisions", () => {
    const read = parsePlanFile(JSON.parse(JSON.stringify(arch)));
    expect(read).toEqual({ ok: true, plan: arch });
    const p = asPlan(arch);
    expect(p.strategy).toMatchObject({ chosen: "bake", ociLayout: true });
    expect(p.stages.map((s) => [s.name, s.steps.length])).toEqual([
      ["bake", 1],
      ["push", 2],
    ]);
    expect(p.secrets).toEqual([{ env: "TOKEN" }]);
  });

  test("a platform not in canonical form is refused: plans carry only what the one parser makes", () => {
    const r = parsePlanFile({ ...arch, platform: "linux/aarch64" });
    expect(r.ok ? [] : r.problems).toEqual([expect.stringMatching(/^platform: /)]);
  });

  test("unknown keys and wrong types are named by path", () => {
    const r = parsePlanFile({ ...arch, steps: [{ id: 1 }] });
    expect(!r.ok && r.problems[0]).toMatch(/^steps\.0\.id: /);
    expect(parsePlanFile({ ...arch, extra: true })).toMatchObject({ ok: false });
  });
});
