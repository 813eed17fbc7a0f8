// multiarch ci github|gitlab: valid for their CI, least privilege, pull/merge requests push nothing, and
// multiarch installed the way the repository can have it. (test/e2e/ci-*.test.ts run them.)
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import pkg from "../package.json" with { type: "json" };
import { actionRun } from "./action.ts";
import { run } from "./cli.ts";
import { memoryIo } from "./testing/io.ts";

// a WebAssembly build of action-validator: GitHub's workflow and action schemas, checked offline
const validator = createRequire(import.meta.url)("@action-validator/core") as {
  validateWorkflow(src: string): { errors: unknown[] };
  validateAction(src: string): { errors: unknown[] };
};
const ROOT = resolve(import.meta.dirname, "../../..");
const EXAMPLES = join(ROOT, "examples");

function checkout(example: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-ci-"));
  cpSync(join(EXAMPLES, example), dir, { recursive: true, filter: (s) => !s.includes(".multiarch") });
  mkdirSync(join(dir, ".git"));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

/** Writes the pipeline of `dir`'s spec with these arguments; returns its text. */
async function generate(dir: string, args: string[]): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), "multiarch-ci-out-")), "ci.yml");
  const io = memoryIo(dir);
  const code = await run(["ci", ...args, "-o", out], io);
  expect(code, io.err()).toBe(0);
  return readFileSync(out, "utf8");
}

const withRegistry = (dir: string, line: string) => {
  const f = join(dir, "multiarch.yaml");
  writeFileSync(f, readFileSync(f, "utf8").replace(/registries:\n/, `registries:\n${line}\n`));
  return dir;
};

describe("multiarch ci github", () => {
  test("valid; PRs check every platform on native runners and push nothing; pushes shard and merge", async () => {
    const text = await generate(join(EXAMPLES, "quickstart"), ["github"]);
    expect(validator.validateWorkflow(text).errors).toEqual([]);
    const wf = parse(text);
    const include = [
      { platform: "linux/amd64", slug: "linux-amd64", runner: "ubuntu-24.04", qemu: false },
      { platform: "linux/arm64", slug: "linux-arm64", runner: "ubuntu-24.04-arm", qemu: false },
      { platform: "linux/arm/v7", slug: "linux-arm-v7", runner: "ubuntu-24.04-arm", qemu: true },
    ];
    expect(wf.jobs.check.strategy.matrix.include).toEqual(include);
    expect(wf.jobs.shard.strategy.matrix.include).toEqual(include);
    // pull requests: only the check job, which pushes nothing and reads no secret
    expect(wf.jobs.check.if).toBe("github.event_name == 'pull_request'");
    expect(wf.jobs.check.steps.at(-1).with).toMatchObject({ command: "apply", platform: "${{ matrix.platform }}", args: "--no-push" });
    expect(JSON.stringify(wf.jobs.check)).not.toContain("secrets.");
    expect(wf.jobs.shard.if).toBe("github.event_name != 'pull_request'");
    expect(wf.on.push).toEqual({ branches: ["main"], tags: ["*"] });
    expect(wf.jobs.merge.needs).toBe("shard");
    // least privilege, timeouts, and only PR runs cancelled by a newer one
    expect(wf.permissions).toEqual({});
    for (const job of Object.values(wf.jobs) as { permissions: object; "timeout-minutes": number }[]) {
      expect(job.permissions).toEqual({ contents: "read" });
      expect(job["timeout-minutes"]).toBeGreaterThan(0);
    }
    expect(wf.concurrency["cancel-in-progress"]).toBe("${{ github.event_name == 'pull_request' }}");
    // the action of this very version; every other action at its current major
    const uses = [...text.matchAll(/uses: (\S+)/g)].map((m) => m[1]!);
    expect(uses.filter((u) => u.startsWith("multiarch/multiarch@"))).toEqual(Array(3).fill(`multiarch/multiarch@v${pkg.version}`));
    expect(uses.filter((u) => !u.startsWith("multiarch/")).every((u) => /@v\d+$/.test(u))).toBe(true);
    // refuses to overwrite without --force
    const out = join(mkdtempSync(join(tmpdir(), "multiarch-ci-")), "wf.yml");
    expect(await run(["ci", "github", "-o", out], memoryIo(join(EXAMPLES, "quickstart")))).toBe(0);
    expect(await run(["ci", "github", "-o", out], memoryIo(join(EXAMPLES, "quickstart")))).toBe(1);
    expect(await run(["ci", "github", "-o", out, "--force"], memoryIo(join(EXAMPLES, "quickstart")))).toBe(0);
  });

  test("credentials: ghcr.io takes github.actor and GITHUB_TOKEN with packages: write; others vars and secrets, only where pushing", async () => {
    const dir = withRegistry(
      checkout("quickstart"),
      [
        "  hub: { url: docker.io/acme, username: { env: HUB_USER }, password: { env: HUB_TOKEN } }",
        "  gh: { url: ghcr.io/acme, username: { env: GH_USER }, password: { env: GH_TOKEN } }",
      ].join("\n"),
    );
    const wf = parse(await generate(dir, ["github"]));
    // the spec's variables (the quickstart's VERSION) are the repository's variables, in every job
    const vars = { VERSION: "${{ vars.VERSION || '0.1.0' }}" };
    const env = {
      ...vars,
      HUB_USER: "${{ vars.HUB_USER }}",
      HUB_TOKEN: "${{ secrets.HUB_TOKEN }}",
      GH_USER: "${{ github.actor }}",
      GH_TOKEN: "${{ secrets.GITHUB_TOKEN }}",
    };
    expect(wf.jobs.shard.env).toEqual(env);
    expect(wf.jobs.merge.env).toEqual(env);
    expect(wf.jobs.check.env).toEqual(vars);
    expect(wf.jobs.shard.permissions).toEqual({ contents: "read", packages: "write" });
    expect(wf.jobs.merge.permissions).toEqual({ contents: "read", packages: "write" });
    expect(wf.jobs.check.permissions).toEqual({ contents: "read" });
  });

  test("ghcr.io without credentials in the spec: a login with the workflow's token before pushing", async () => {
    const dir = withRegistry(checkout("quickstart"), "  gh: { url: ghcr.io/acme }");
    const wf = parse(await generate(dir, ["github"]));
    const login = wf.jobs.shard.steps.find((s: { run?: string }) => s.run?.includes("docker login ghcr.io"));
    expect(login.env).toEqual({ GHCR_USER: "${{ github.actor }}", GHCR_TOKEN: "${{ secrets.GITHUB_TOKEN }}" });
    expect(JSON.stringify(wf.jobs.check)).not.toContain("docker login");
  });

  test("a registry credential read from a file is a warning: the pipeline creates no file", async () => {
    const dir = withRegistry(
      checkout("quickstart", { "quay-user": "u" }),
      "  quay: { url: quay.io/acme, username: { file: quay-user }, password: { env: QUAY_PW } }",
    );
    const io = memoryIo(dir, { QUAY_PW: "x" });
    expect(await run(["ci", "github", "-o", join(mkdtempSync(join(tmpdir(), "multiarch-ci-out-")), "ci.yml")], io), io.err()).toBe(0);
    expect(io.err()).toContain("registry quay reads a credential from quay-user, which the generated pipeline does not create");
  });

  // found by a review: the spec's path went into run: lines, where GitHub expands ${{ }} before the shell
  test("a spec path holding ${{ is refused for GitHub", async () => {
    const dir = checkout("quickstart");
    const nested = join(dir, "d${{ github.event.head_commit.message }}");
    mkdirSync(nested);
    cpSync(join(dir, "multiarch.yaml"), join(nested, "multiarch.yaml"));
    cpSync(join(dir, "hello"), join(nested, "hello"), { recursive: true });
    const io = memoryIo(dir);
    expect(await run(["ci", "github", "-f", join(nested, "multiarch.yaml"), "-o", join(mkdtempSync(join(tmpdir(), "multiarch-ci-out-")), "ci.yml")], io)).toBe(
      1,
    );
    expect(io.err()).toContain("which GitHub would run as an expression");
  });

  // found by a review: a key file signs in the merge job, which has none, and ci said nothing; the line count
  // was one too many; a tag push published the variable's default (0.1.0), not the git tag, unsaid
  test("a signing key read from a file is a warning too; the line count is the file's; tags not read from the git tag are noted", async () => {
    const dir = checkout("quickstart", { "cosign.pub": "k" });
    writeFileSync(join(dir, "multiarch.yaml"), `${readFileSync(join(dir, "multiarch.yaml"), "utf8")}sign:\n  key: { file: cosign.key }\n`);
    const out = join(mkdtempSync(join(tmpdir(), "multiarch-ci-out-")), "ci.yml");
    const io = memoryIo(dir);
    expect(await run(["ci", "github", "-o", out], io), io.err()).toBe(0);
    expect(io.err()).toContain("sign: the merge job reads the private key from cosign.key, which the generated pipeline does not create");
    expect(io.err()).toContain(`(${readFileSync(out, "utf8").split("\n").length - 1} lines,`);
    expect(io.err()).toContain("note: on a git tag's run the pipeline tags hello from the spec's variables");
  });

  test("--install: workspace by default where package.json lists @multiarch/cli; npx; --pin by commit; --branch", async () => {
    const dir = checkout("quickstart", {
      "package.json": JSON.stringify({ devDependencies: { "@multiarch/cli": "^0.1.0" } }),
      "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    });
    const ws = parse(await generate(dir, ["github"]));
    const runs = ws.jobs.shard.steps.map((s: { run?: string }) => s.run).filter(Boolean);
    expect(runs).toEqual(["corepack enable && pnpm install --frozen-lockfile", "pnpm exec multiarch apply -f multiarch.yaml --shard ${{ matrix.platform }}"]);
    const sha = "a".repeat(40);
    const npx = await generate(dir, ["github", "--install", "npx", "--pin", `actions/checkout@${sha}`, "--branch", "trunk"]);
    expect(npx).toContain(`npx --yes @multiarch/cli@${pkg.version} merge -f multiarch.yaml --from \${{ runner.temp }}/shards`);
    expect(npx).toContain(`uses: actions/checkout@${sha}`);
    expect(parse(npx).on.push.branches).toEqual(["trunk"]);
    const io = memoryIo(join(EXAMPLES, "quickstart"));
    expect(await run(["ci", "github", "--install", "workspace"], io)).toBe(1);
    expect(io.err()).toContain("does not list @multiarch/cli");
    expect(await run(["ci", "github", "--pin", "actions/checkout@v6"], memoryIo(dir))).toBe(1);
    // found by a review: a pin of an action the workflow does not use, and GitHub's options on GitLab, did nothing
    const typo = memoryIo(dir);
    expect(await run(["ci", "github", "--pin", `actions/chekout@${sha}`, "-o", "w.yml"], typo)).toBe(1);
    expect(typo.err()).toContain("--pin actions/chekout: the workflow uses no such action; it may use actions/checkout");
    for (const flag of [
      ["--branch", "trunk"],
      ["--pin", `actions/checkout@${sha}`],
    ]) {
      const gl = memoryIo(dir);
      expect(await run(["ci", "gitlab", ...flag, "-o", "g.yml"], gl)).toBe(1);
      expect(gl.err()).toContain(`${flag[0]} `);
    }
  });
});

describe("multiarch ci gitlab", () => {
  test("valid shape: no variables under default, engine set up per job, MRs push nothing, merge only on the default branch and tags", async () => {
    const p = parse(await generate(checkout("monorepo"), ["gitlab"]));
    expect(p.default).toBeUndefined();
    expect(p.check.parallel.matrix.map((m: { PLATFORM: string }) => m.PLATFORM)).toEqual(["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    expect(p.check.parallel.matrix.map((m: { QEMU: string }) => m.QEMU)).toEqual(["", "", "arm"]);
    expect(p.check.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    expect(p.check.script[0]).toMatch(/apply -f multiarch.yaml --platform "\$PLATFORM" --no-push$/);
    const publishing = [
      { if: '$CI_PIPELINE_SOURCE != "merge_request_event" && $CI_COMMIT_TAG' },
      { if: '$CI_PIPELINE_SOURCE != "merge_request_event" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' },
    ];
    expect(p.shard.rules).toEqual(publishing);
    expect(p.merge.rules).toEqual(publishing);
    expect(p.merge.needs).toEqual(["shard"]);
    expect(p[".multiarch"].services).toHaveLength(1);
    expect(p[".multiarch"].before_script.join("\n")).toMatch(/tonistiigi\/binfmt:qemu-v\d+\.\d+\.\d+ --install/); // a release, not latest
    expect(p.merge.script[0]).toBe(
      `npx --yes @multiarch/cli@${pkg.version} merge -f multiarch.yaml --from .multiarch/shards --metadata-file multiarch-metadata.json`,
    );
  });

  test("apply --no-push (the MR/PR check) and --shard (the publishing jobs) exclude each other", async () => {
    const io = memoryIo(join(EXAMPLES, "quickstart"));
    expect(await run(["apply", "--shard", "linux/amd64", "--no-push"], io)).toBe(1);
    expect(io.err()).toContain("--no-push pushes nothing: pick one");
  });

  test("--install action is GitHub's", async () => {
    const io = memoryIo(join(EXAMPLES, "quickstart"));
    expect(await run(["ci", "gitlab", "--install", "action"], io)).toBe(1);
    expect(io.err()).toContain("--install action is GitHub's");
  });
});

describe("the GitHub Action", () => {
  test("action.yml is valid; inputs become one command line, with a metadata file for apply and merge", () => {
    // the validator's schema predates node24 (the runner's current Node for actions): check the rest
    const action = readFileSync(join(ROOT, "action.yml"), "utf8");
    expect(action).toContain("using: node24");
    expect(validator.validateAction(action.replace("using: node24", "using: node20")).errors).toEqual([]);
    expect(parse(action).runs.main).toBe("action/dist/action.js");
    const r = actionRun(
      {
        INPUT_COMMAND: "apply",
        INPUT_FILE: "ci/multiarch.yaml",
        INPUT_SHARD: "linux/amd64, linux/arm64",
        INPUT_ARGS: "--image app  --verbose",
        RUNNER_TEMP: "/tmp/r",
      },
      "/work",
    );
    expect(r).toEqual({
      ok: true,
      argv: [
        "apply",
        "--file",
        "ci/multiarch.yaml",
        "--shard",
        "linux/amd64",
        "--shard",
        "linux/arm64",
        "--image",
        "app",
        "--verbose",
        "--metadata-file",
        "/tmp/r/multiarch-metadata.json",
      ],
      cwd: "/work",
      metadataFile: "/tmp/r/multiarch-metadata.json",
    });
    expect(actionRun({ "INPUT_WORKING-DIRECTORY": "sub", INPUT_COMMAND: "validate" }, "/work")).toEqual({ ok: true, argv: ["validate"], cwd: "/work/sub" });
    expect(actionRun({ INPUT_COMMAND: "rm -rf" }, "/work")).toMatchObject({ ok: false });
  });
});
