// issue 24, item 4: the conventions docker users type: --flag=value and -f=value for every option, comma lists
// where docker's own flag takes one.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, expectTypeOf, test } from "vitest";
import { fileSystemError, parseCommandArgs, run } from "./cli.ts";
import { type CommandName, OPTIONS, type OptionTable, type PlanShape, type Values } from "./options.ts";
import { memoryIo } from "./testing/io.ts";
import { repoWithSpec } from "./testing/repo.ts";

const valued = (Object.entries(OPTIONS) as [CommandName, OptionTable][]).flatMap(([command, options]) =>
  Object.entries(options)
    .filter(([, o]) => o.type === "string")
    .map(([name, o]) => ({ command, name, short: o.short, multiple: o.multiple === true })),
);

describe("option values", () => {
  test("each command's values are typed from its table: a string, a list when repeatable, a boolean (tsc checks this)", () => {
    expectTypeOf<Values<"apply">["platform"]>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<Values<"apply">["concurrency"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Values<"apply">["dry-run"]>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<Values<"import">["file"]>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<Values<"plan">["file"]>().toEqualTypeOf<string | undefined>();
    // an option a command does not have is not among its values
    expectTypeOf<Values<"graph">>().not.toHaveProperty("platform");
    // what the compile path may read: the plan-shaping options alone
    expectTypeOf<PlanShape>().toHaveProperty("since");
    expectTypeOf<PlanShape>().not.toHaveProperty("dry-run");
  });

  test.each(valued)("$command --$name=VALUE and -short=VALUE read VALUE", ({ command, name, short, multiple }) => {
    const value = "linux/arm64=x";
    const want = multiple ? [value] : value;
    const read = (args: string[]) => (parseCommandArgs(command, args).values as Record<string, unknown>)[name];
    expect(read([`--${name}=${value}`])).toEqual(want);
    expect(read([`--${name}`, value])).toEqual(want);
    if (short) {
      expect(read([`-${short}=${value}`])).toEqual(want);
      expect(read([`-${short}`, value])).toEqual(want);
    }
  });

  test("-o=DIR writes to DIR, not to a folder named =; -f=FILE reads FILE", async () => {
    const dir = repoWithSpec("version: 1\nimages:\n  app: { context: app }\n", "spec.yaml");
    const io = memoryIo(dir);
    expect(await run(["plan", "-f=spec.yaml", "-o=out", "--strategy=bake"], io), io.err()).toBe(0);
    expect(existsSync(join(dir, "out/plan.json"))).toBe(true);
    expect(existsSync(join(dir, "="))).toBe(false);
  });

  test('-o "" and -f "" are refused: an empty path would be the current folder (plan wrote its files there)', async () => {
    for (const args of [
      ["plan", "-o", ""],
      ["validate", "-f", ""],
      ["plan", "--out="],
    ]) {
      const io = memoryIo("/nowhere");
      expect(await run(args, io)).toBe(1);
      expect(io.err()).toMatch(/--(out|file) needs a path, not an empty value/);
    }
  });

  test("an option of one value given twice is refused (the last one won, silently); --json before the command is the command's", async () => {
    const io = memoryIo("/nowhere");
    expect(await run(["validate", "-f", "a.yaml", "--file", "b.yaml"], io)).toBe(1);
    expect(io.err()).toContain("--file was given twice; it takes one value");
    // repeatable options stay repeatable
    expect(() => parseCommandArgs("plan", ["--platform", "linux/amd64", "--platform", "linux/arm64", "--image", "a", "--image", "b"])).not.toThrow();
    const json = memoryIo("/nowhere");
    expect(await run(["--json", "validate", "-f", "/nowhere/multiarch.yaml"], json)).toBe(1);
    expect(JSON.parse(json.out())).toMatchObject({ command: "validate", ok: false });
  });

  test("--platform and --shard take comma lists, as docker's --platform does", () => {
    expect(parseCommandArgs("plan", ["--platform", "linux/amd64,linux/arm64", "--platform=linux/riscv64"]).values.platform).toEqual([
      "linux/amd64",
      "linux/arm64",
      "linux/riscv64",
    ]);
    expect(parseCommandArgs("apply", ["--shard", "linux/amd64, linux/arm64"]).values.shard).toEqual(["linux/amd64", "linux/arm64"]);
    // an empty item is kept, to be refused as a platform rather than read as "no platform"
    expect(parseCommandArgs("plan", ["--platform", "linux/amd64,"]).values.platform).toEqual(["linux/amd64", ""]);
    // a list option that is not a platform keeps its commas
    expect(parseCommandArgs("import", ["--set", "app.args.A=b,c"]).values.set).toEqual(["app.args.A=b,c"]);
  });

  test("plan --platform linux/amd64,linux/arm64 plans both", async () => {
    const dir = repoWithSpec("version: 1\nplatforms: [linux/amd64, linux/arm64, linux/riscv64]\nimages:\n  app: { context: app }\n");
    const io = memoryIo(dir);
    expect(await run(["plan", "--strategy", "bake", "--platform", "linux/amd64,linux/arm64", "--json"], io), io.err()).toBe(0);
    expect(JSON.parse(io.out()).plan.images[0].platforms).toEqual(["linux/amd64", "linux/arm64"]);
    const empty = memoryIo(dir);
    expect(await run(["plan", "--strategy", "bake", "--platform", "linux/amd64,"], empty)).toBe(1);
    expect(empty.err()).toContain("--platform");
  });
});

// found by a review: each of these said something untrue or unhelpful
describe("usage mistakes say what was typed", () => {
  test("--json alone, a value starting with -, an unknown CI, a bake file given as a plan", async () => {
    const dir = repoWithSpec("version: 1\nimages:\n  app: { context: app }\n");
    const said = async (args: string[]) => {
      const io = memoryIo(dir);
      const exit = await run(args, io);
      return { exit, out: io.out(), err: io.err() };
    };
    const bare = await said(["--json"]);
    expect(bare.exit).toBe(1);
    expect(JSON.parse(bare.out)).toMatchObject({ command: "", message: expect.stringContaining("no command given") });
    expect((await said(["apply", "--concurrency", "-1"])).err).toContain("--concurrency was given a value starting with -: write it --concurrency=VALUE");
    expect((await said(["ci", "bitbucket"])).err).toContain("no generator for bitbucket: multiarch ci github, or multiarch ci gitlab");
    expect(await run(["plan", "--strategy", "bake"], memoryIo(dir))).toBe(0);
    const bake = await said(["apply", "--plan", join(dir, ".multiarch/docker-bake.json")]);
    expect(bake.exit).toBe(1);
    expect(bake.err).toContain("not a plan file (it has no version)");
  });
});

// found by a review: the README's synopses had drifted from --help (apply lacked --group and -o, merge -o,
// --concurrency and -v, promote --concurrency and --verbose, ci --json)
test("the README's synopses are the commands' --help usage lines", async () => {
  const readme = readFileSync(join(import.meta.dirname, "../../../README.md"), "utf8");
  const at = readme.indexOf("```\nmultiarch validate [");
  const block = readme
    .slice(at + 4, readme.indexOf("```", at + 4))
    .trim()
    .split("\n");
  const usage = await Promise.all(
    block.map(async (line) => {
      const io = memoryIo("/");
      await run([line.split(" ")[1]!, "--help"], io);
      return io
        .out()
        .split("\n")[0]!
        .replace(/^usage: /, "");
    }),
  );
  expect(block).toEqual(usage);
  expect(block.map((l) => l.split(" ")[1]).sort()).toEqual(Object.keys(OPTIONS).sort());
});

// found by a review: apply --dry-run in a read-only checkout failed on .multiarch with no way out named
test("an output folder this user may not write names -o, when -o was not given", () => {
  const denied = Object.assign(new Error("EACCES: permission denied, mkdir '/ro/.multiarch'"), { code: "EACCES", syscall: "mkdir", path: "/ro/.multiarch" });
  expect(fileSystemError(denied, true)).toBe("cannot mkdir /ro/.multiarch: permission denied (EACCES); pass -o DIR to write the plan's files elsewhere");
  expect(fileSystemError(denied, false)).toBe("cannot mkdir /ro/.multiarch: permission denied (EACCES)");
});

// found by a review: a full disk during a write was an internal error with a stack trace (node's ENOSPC from
// write() names no path)
test("a full disk is exit 4's sentence, with or without a path", () => {
  const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });
  expect(fileSystemError(full)).toBe("cannot write: no space left on device (ENOSPC)");
  expect(fileSystemError(Object.assign(full, { path: "/o/docker-bake.json" }))).toBe("cannot write /o/docker-bake.json: no space left on device (ENOSPC)");
});

// found by a review: apply with TMPDIR naming a folder that does not exist was an internal error (exit 70)
test("a temporary folder that does not exist, or is a file, is exit 4's sentence, naming TMPDIR", () => {
  const mkdtempError = (code: string, why: string, dir: string) =>
    Object.assign(new Error(`${code}: ${why}, mkdtemp '${dir}/multiarch-run-XXXXXX'`), { code, syscall: "mkdtemp", path: `${dir}/multiarch-run-XXXXXX` });
  expect(fileSystemError(mkdtempError("ENOENT", "no such file or directory", "/nonexistent"))).toBe(
    "cannot mkdtemp /nonexistent/multiarch-run-XXXXXX: no such file or directory (ENOENT); its folder, the temporary folder (TMPDIR), does not exist",
  );
  expect(fileSystemError(mkdtempError("ENOTDIR", "not a directory", "/etc/hostname"))).toBe(
    "cannot mkdtemp /etc/hostname/multiarch-run-XXXXXX: not a directory (ENOTDIR); its folder is the temporary folder (TMPDIR)",
  );
});

// found by a re-test: Ctrl-C during inspect of a registry that does not answer waited 44 s, then exit 2
test("inspect stops on Ctrl-C: exit 130 at once", async () => {
  const { createServer } = await import("node:net");
  const sockets: import("node:net").Socket[] = [];
  const server = createServer((s) => sockets.push(s)); // accepts, never answers
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as import("node:net").AddressInfo).port;
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 300);
  const t0 = performance.now();
  const io = memoryIo("/");
  try {
    expect(await run(["inspect", `127.0.0.1:${port}/x:1`, "--json"], io, stop.signal)).toBe(130);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(JSON.parse(io.out())).toMatchObject({ exitCode: 130 });
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});
