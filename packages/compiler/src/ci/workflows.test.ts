// What the generated pipelines pass to multiarch: the spec's variables, signing's secrets and token, and
// the spec's path as one word; which runs publish at once; the QEMU they install; the gha cache's token.
import type { Spec } from "@multiarch/spec";
import { expect, test } from "vitest";
import { parse } from "yaml";
import { specRepo } from "../testing/spec-repo.ts";
import { type CiOptions, githubWorkflow, gitlabPipeline } from "./workflows.ts";

const spec = (extra: string): Spec =>
  specRepo(
    `version: 1\nregistries: { ghcr: { url: ghcr.io/acme } }\nvariables:\n  version: { env: VERSION, default: "0.1.0" }\n  channel: { env: CHANNEL }\nimages:\n  app: { context: app, tags: ["{{version}}"] }\n${extra}`,
    { CHANNEL: "x", COSIGN_KEY: "k", COSIGN_PASSWORD: "p", COSIGN_PUB: "pub" },
  );
const opts: CiOptions = { specPath: "multiarch.yaml", install: "npx", version: "1.2.3", actionRepo: "acme/multiarch" };
type Step = { uses?: string; run?: string; with?: Record<string, string> };
type Job = {
  env?: Record<string, string>;
  permissions: Record<string, string>;
  steps: Step[];
  script?: string[];
  before_script?: string[];
  resource_group?: string;
};
type Workflow = { jobs: Record<string, Job>; concurrency: { group: string; "cancel-in-progress": string } };
const github = (s: Spec, o: Partial<CiOptions> = {}) => parse(githubWorkflow(s, { ...opts, ...o })) as Workflow;

test("GitHub: the spec's variables come from the repository's variables, an unset one keeps the spec's default", () => {
  const { jobs } = github(spec(""));
  for (const job of Object.values(jobs)) {
    expect(job.env).toMatchObject({ VERSION: "${{ vars.VERSION || '0.1.0' }}", CHANNEL: "${{ vars.CHANNEL }}" });
  }
});

test("signing with a key: its secrets where the merge signs, cosign installed there; keyless: the OIDC token", () => {
  const key = github(spec("sign: { key: { env: COSIGN_KEY }, password: { env: COSIGN_PASSWORD }, publicKey: { env: COSIGN_PUB } }\n")).jobs;
  expect(key.merge!.env).toMatchObject({ COSIGN_KEY: "${{ secrets.COSIGN_KEY }}", COSIGN_PASSWORD: "${{ secrets.COSIGN_PASSWORD }}" });
  expect(key.check!.env).not.toHaveProperty("COSIGN_KEY"); // pull requests get no secret
  expect(key.merge!.steps.map((s) => s.uses ?? "")).toContainEqual(expect.stringMatching(/^sigstore\/cosign-installer@/));
  const keyless = github(
    spec(
      "sign: { keyless: { issuer: https://token.actions.githubusercontent.com, identity: https://github.com/acme/app/.github/workflows/multiarch.yml@refs/heads/main } }\n",
    ),
  ).jobs;
  expect(keyless.merge!.permissions).toMatchObject({ "id-token": "write" });
  expect(keyless.check!.permissions).not.toHaveProperty("id-token");
  expect(keyless.shard!.permissions).not.toHaveProperty("id-token"); // shards push, the merge signs
  const gitlab = parse(
    gitlabPipeline(spec("sign: { keyless: { issuer: https://gitlab.com, identity: https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main } }\n"), opts),
  ) as Record<string, Job & { id_tokens?: unknown }>;
  expect(gitlab.merge!.id_tokens).toEqual({ SIGSTORE_ID_TOKEN: { aud: "sigstore" } });
  expect(gitlab.merge!.script![0]).toContain("apk add --no-cache cosign");
});

test("a spec path with a space is one word of the command line", () => {
  const s = spec("");
  const run = github(s, { specPath: "my dir/multiarch.yaml" }).jobs.shard!.steps.find((st) => st.run?.includes(" apply "))!.run!;
  expect(run).toContain("apply -f 'my dir/multiarch.yaml' --shard");
  const gitlab = parse(gitlabPipeline(s, { ...opts, specPath: "my dir/multiarch.yaml" })) as Record<string, Job>;
  expect(gitlab.merge!.script!.at(-1)).toContain("merge -f 'my dir/multiarch.yaml' --from 'my dir/.multiarch/shards'");
});

/**
 * A workflow value as GitHub evaluates it for these `github` context values: one `${{ }}` expression of
 * github.NAME, quoted strings, ==, && and || (which yield an operand, as in JavaScript), or text around them.
 */
function evaluate(value: string, ctx: Record<string, string>): unknown {
  const js = (e: string) => new Function(`return (${e.replace(/github\.(\w+)/g, (_, k: string) => JSON.stringify(ctx[k] ?? "")).replaceAll("==", "===")})`)();
  const whole = /^\$\{\{(.+)\}\}$/.exec(value);
  return whole ? js(whole[1]!) : value.replace(/\$\{\{(.+?)\}\}/g, (_, e: string) => String(js(e)));
}

test("GitHub: every publishing run of the repository in one group, never cancelled; each pull request its own, cancelled", () => {
  const { concurrency } = github(spec(""));
  const run = (event_name: string, ref: string, file = "multiarch.yml") => {
    const ctx = { event_name, ref, workflow_ref: `acme/app/.github/workflows/${file}@${ref}` };
    return { group: evaluate(concurrency.group, ctx), cancel: evaluate(concurrency["cancel-in-progress"], ctx) };
  };
  // a tag pushed on the default branch's commit: both runs move latest, so they take turns
  const main = run("push", "refs/heads/main");
  expect(run("push", "refs/tags/v1.0")).toEqual(main);
  expect(main.cancel).toBe(false);
  const pr = run("pull_request", "refs/pull/1/merge");
  expect(pr.cancel).toBe(true);
  expect(pr.group).not.toBe(main.group);
  expect(run("pull_request", "refs/pull/2/merge").group).not.toBe(pr.group);
  // another spec's generated workflow never cancels this one's check of the same pull request
  expect(run("pull_request", "refs/pull/1/merge", "images.yml").group).not.toBe(pr.group);
});

test("GitLab: merge jobs, which move tags, run one at a time across the project's pipelines; builds do not wait", () => {
  const gitlab = parse(gitlabPipeline(spec(""), opts)) as Record<string, Job>;
  expect(gitlab.merge!.resource_group).toBe("multiarch-publish");
  expect(gitlab.shard!.resource_group).toBeUndefined();
  expect(gitlab.check!.resource_group).toBeUndefined();
});

test("QEMU: GitHub and GitLab install one pinned binfmt release, never a floating tag", () => {
  const s = spec("");
  const jobs = github(s).jobs;
  const images = ["check", "shard"].map((j) => jobs[j]!.steps.find((st) => st.uses?.startsWith("docker/setup-qemu-action@"))?.with?.image);
  expect(images[0]).toMatch(/^tonistiigi\/binfmt:qemu-v\d+\.\d+\.\d+$/);
  expect(images[1]).toBe(images[0]);
  const gitlab = parse(gitlabPipeline(s, opts)) as Record<string, Job>;
  const install = gitlab[".multiarch"]!.before_script!.find((l) => l.includes("binfmt"));
  expect(install).toContain(`docker run --privileged --rm ${images[0]} --install "$QEMU"`);
});

test("GitHub: a gha cache used from a run: step gets the runner's cache token exported first; the action has it", () => {
  const runtime = (s: Spec, o: Partial<CiOptions>) => {
    const jobs = github(s, o).jobs;
    return Object.fromEntries(
      Object.entries(jobs).map(([name, job]) => {
        const at = job.steps.findIndex((st) => st.uses?.startsWith("crazy-max/ghaction-github-runtime@"));
        const apply = job.steps.findIndex((st) => (st.run ?? st.with?.command ?? "").includes("apply"));
        return [name, at < 0 ? "none" : at < apply ? "before apply" : "after apply"];
      }),
    );
  };
  const gha = spec("defaults: { cache: { type: gha } }\n");
  const exported = { check: "before apply", shard: "before apply", merge: "none" };
  expect(runtime(gha, { install: "npx" })).toEqual(exported);
  expect(runtime(gha, { install: "workspace", packageManager: "pnpm" })).toEqual(exported);
  expect(runtime(spec("defaults: { cache: { type: local, from: ['type=gha,scope=main'] } }\n"), { install: "npx" })).toEqual(exported);
  const none = { check: "none", shard: "none", merge: "none" };
  expect(runtime(gha, { install: "action" })).toEqual(none);
  expect(runtime(spec("defaults: { cache: { type: local } }\n"), { install: "npx" })).toEqual(none);
  // pinned by commit like every other action
  const sha = "b".repeat(40);
  expect(githubWorkflow(gha, { ...opts, pins: { "crazy-max/ghaction-github-runtime": sha } })).toContain(`uses: crazy-max/ghaction-github-runtime@${sha}`);
});
