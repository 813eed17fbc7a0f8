// What the generated pipelines pass to multiarch: the spec's variables, signing's secrets and token, and
// the spec's path as one word.
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
type Job = { env?: Record<string, string>; permissions: Record<string, string>; steps: { uses?: string; run?: string }[]; script?: string[] };
const github = (s: Spec, o: Partial<CiOptions> = {}) => parse(githubWorkflow(s, { ...opts, ...o })) as { jobs: Record<string, Job> };

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
