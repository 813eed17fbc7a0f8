// issue 24, item 1: the options that shape a plan are marked in the option table (shapesPlan), and apply
// --plan refuses exactly those. Here: what the compile path reads at run time is what is marked.
import { describe, expect, test } from "vitest";
import { OPTIONS, type PlanShape, planShaping } from "../options.ts";
import { memoryIo } from "../testing/io.ts";
import { repoWithSpec } from "../testing/repo.ts";
import { compileAndWrite } from "./prepare.ts";

describe("plan-shaping options", () => {
  test("every option plan, apply and merge read while compiling is marked shapesPlan, and every marked one is read", async () => {
    const dir = repoWithSpec("version: 1\nimages:\n  app: { context: app }\n");
    const read = new Set<string>();
    const values = new Proxy<PlanShape>(
      { strategy: "bake" },
      {
        get: (target, key) => {
          if (typeof key === "string") read.add(key);
          return Reflect.get(target, key);
        },
      },
    );
    for (const command of ["plan", "apply", "merge"] as const) {
      const io = memoryIo(dir);
      const prepared = await compileAndWrite(values, io, { command, dryRun: true });
      if (prepared.ok) prepared.lock.release();
      expect(prepared.ok, io.err()).toBe(true);
    }
    const marked: string[] = planShaping(OPTIONS.apply);
    expect([...read].filter((k) => !marked.includes(k))).toEqual([]);
    expect(marked.filter((k) => !read.has(k))).toEqual([]);
  });

  test("apply --plan refuses each marked option by name", async () => {
    const { run } = await import("../cli.ts");
    const io = memoryIo(repoWithSpec("version: 1\nimages:\n  app: { context: app }\n"));
    expect(await run(["apply", "--plan", "plan.json", "--rebuild", "--since", "HEAD~1", "--no-push"], io)).toBe(1);
    expect(io.err()).toContain("--no-push, --since, --rebuild cannot change a saved plan");
  });
});
