// CI workflows that build each platform on a native runner (apply --shard) and merge the shards
// (multiarch merge), generated from the spec. Pure: spec in, file text out.
//
// What a platform engineer asks of them: pull/merge requests build, verify and test every platform and
// push nothing (no registry secret, so forks work); pushes, the merge and tag moves happen only on the
// default branch and on tags; each job gets the least permissions it needs and a timeout.
import { type Platform, platformParts, platformSlug } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import type * as Yaml from "yaml";

/** The yaml library, loaded when a workflow is written (require: synchronous; plan and validate never load it). */
const stringify = (value: unknown, options: Yaml.CreateNodeOptions & Yaml.ToStringOptions): string =>
  (require("yaml") as typeof Yaml).stringify(value, options);

/** Native GitHub-hosted runners per architecture; 32-bit arm runs under QEMU on an arm64 runner. */
const GITHUB_RUNNERS: Record<string, { runner: string; qemu: boolean }> = {
  amd64: { runner: "ubuntu-24.04", qemu: false },
  "386": { runner: "ubuntu-24.04", qemu: true },
  arm64: { runner: "ubuntu-24.04-arm", qemu: false },
  // many arm64 server CPUs cannot execute 32-bit arm code: emulate rather than assume
  arm: { runner: "ubuntu-24.04-arm", qemu: true },
};
const OTHER = { runner: "ubuntu-24.04", qemu: true };
/** GitLab.com's hosted runners by tag; the same emulation rule. */
const GITLAB_RUNNERS: Record<string, string> = { arm64: "saas-linux-small-arm64", arm: "saas-linux-small-arm64" };
const GITLAB_DEFAULT_RUNNER = "saas-linux-small-amd64";

/** The current major release of each action; `--pin ACTION@SHA` replaces one by a commit. */
const ACTIONS = {
  checkout: "actions/checkout@v6",
  setupNode: "actions/setup-node@v6",
  setupQemu: "docker/setup-qemu-action@v4",
  upload: "actions/upload-artifact@v6",
  download: "actions/download-artifact@v7",
  cosign: "sigstore/cosign-installer@v3",
  // exports the runner's ACTIONS_* variables (the cache's URL and token) to the job's `run:` steps
  runtime: "crazy-max/ghaction-github-runtime@v4",
} as const;

/** The actions `--pin` may name (OWNER/ACTION): any other would pin nothing. */
export const PINNABLE_ACTIONS: readonly string[] = Object.values(ACTIONS).map((a) => a.slice(0, a.indexOf("@")));

/** Docker's images for a GitLab job: the CLI (with buildx) and the engine as a service. */
const GITLAB_IMAGES = { cli: "docker:28-cli", engine: "docker:28-dind" } as const;

/**
 * The QEMU emulators an emulated platform's job installs, one release on GitHub and GitLab: a floating
 * tag would change the emulator under a rebuild of the same commit.
 */
const BINFMT_IMAGE = "tonistiigi/binfmt:qemu-v10.2.3";

/**
 * How multiarch gets onto the runner: the repository's own devDependency (workspace), the npm package
 * run by npx, or (GitHub) this repository's action, which needs nothing installed.
 */
export type Install = "workspace" | "npx" | "action";
export const INSTALLS: readonly Install[] = ["workspace", "npx", "action"];

export interface CiOptions {
  /** The spec's path relative to the repository root, forward slashes. */
  specPath: string;
  install: Install;
  /** The CLI's version: what npx and the action run, so the pipeline runs the multiarch that wrote it. */
  version: string;
  /** owner/name of the repository holding action.yml. */
  actionRepo: string;
  /** workspace: the repository's package manager (its lockfile). */
  packageManager?: "pnpm" | "npm";
  /** GitHub: the branch pushes publish from (GitLab reads $CI_DEFAULT_BRANCH). */
  defaultBranch?: string;
  /** Action (owner/name) -> commit, replacing the major version tag. */
  pins?: Readonly<Record<string, string>>;
}

const platformsOf = (spec: Spec): Platform[] => [...new Map(spec.images.flatMap((i) => i.platforms).map((p) => [p, p])).values()];

/** Where `apply --shard` writes its shard files, relative to the repository root. */
const shardDirOf = (specPath: string): string => `${specPath.includes("/") ? specPath.slice(0, specPath.lastIndexOf("/") + 1) : ""}.multiarch/shards`;

const GHCR = "ghcr.io";

/** Whether an image writes or reads a GitHub Actions cache (its own, or one of `cache.from`). */
const usesGhaCache = (spec: Spec): boolean => spec.images.some((i) => i.cache?.type === "gha" || i.cache?.from.some((f) => /^type=gha(,|$)/.test(f)));

/** A GitHub Actions expression. */
const expr = (e: string): string => `\${{ ${e} }}`;

/**
 * The environment each job passes to multiarch: the variables the spec reads, each from where CI keeps
 * it. ghcr.io takes the workflow's own token; a registry's username is a variable, passwords and build
 * secrets are secrets. Build secrets are needed by every build; registry credentials only where it pushes.
 */
function githubEnv(spec: Spec, pushes: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  // the spec's variables are the repository's variables (vars.NAME); an unset one keeps the spec's default
  for (const v of spec.variables) {
    if (v.env === undefined || v.map !== undefined || v.value !== undefined) continue;
    env[v.env] = expr(v.default !== undefined ? `vars.${v.env} || '${v.default.replaceAll("'", "''")}'` : `vars.${v.env}`);
  }
  if (pushes)
    for (const r of spec.registries) {
      const ghcr = r.host === GHCR;
      if (r.username?.env) env[r.username.env] = ghcr ? expr("github.actor") : expr(`vars.${r.username.env}`);
      if (r.password?.env) env[r.password.env] = ghcr ? expr("secrets.GITHUB_TOKEN") : expr(`secrets.${r.password.env}`);
    }
  // a signing key and its password are secrets of the jobs that push (the merge signs; apply --shard
  // signs nothing and reads neither)
  if (pushes && spec.sign?.mode === "key")
    for (const c of [spec.sign.key, spec.sign.password, spec.sign.publicKey]) if (c?.env) env[c.env] = expr(`secrets.${c.env}`);
  for (const s of spec.images.flatMap((i) => i.secrets)) if (s.env) env[s.env] = expr(`secrets.${s.env}`);
  return env;
}

/**
 * A job's permissions: reading the repository, writing packages where a registry is ghcr.io. Keyless
 * signing adds `id-token: write` (the OIDC token cosign signs with) to the job that signs, the merge.
 */
function githubPermissions(spec: Spec, pushes: boolean, signs = false): Record<string, string> {
  return {
    contents: "read",
    ...(pushes && spec.registries.some((r) => r.host === GHCR) ? { packages: "write" } : {}),
    ...(signs && spec.sign?.mode === "keyless" ? { "id-token": "write" } : {}),
  };
}

/** A word of a shell command line, quoted when it holds anything but plain path characters. */
const shellWord = (w: string): string => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`);

const uses = (action: string, pins: CiOptions["pins"]): string => {
  const name = action.slice(0, action.indexOf("@"));
  const pin = pins?.[name];
  return pin ? `${name}@${pin}` : action;
};

export function githubWorkflow(spec: Spec, opts: CiOptions): string {
  const branch = opts.defaultBranch ?? "main";
  const include = platformsOf(spec).map((p) => {
    const r = GITHUB_RUNNERS[platformParts(p).arch] ?? OTHER;
    return { platform: p, slug: platformSlug(p), runner: r.runner, qemu: r.qemu };
  });
  const pin = (a: string) => uses(a, opts.pins);
  const action = pin(`${opts.actionRepo}@v${opts.version}`);
  const cli =
    opts.install === "npx" ? `npx --yes @multiarch/cli@${opts.version}` : opts.packageManager === "npm" ? "npx --no-install multiarch" : "pnpm exec multiarch";
  const install =
    opts.install === "action"
      ? []
      : [
          { uses: pin(ACTIONS.setupNode), with: { "node-version": 24 } },
          ...(opts.install === "workspace" ? [{ run: opts.packageManager === "npm" ? "npm ci" : "corepack enable && pnpm install --frozen-lockfile" }] : []),
        ];
  // one multiarch command: a step of the action, or a command line
  const multiarch = (id: string | undefined, command: "apply" | "merge", args: string[], inputs: Record<string, string>) =>
    opts.install === "action"
      ? { ...(id ? { id } : {}), uses: action, with: { command, file: opts.specPath, ...inputs, ...(args.length ? { args: args.join(" ") } : {}) } }
      : {
          ...(id ? { id } : {}),
          run: [cli, command, "-f", shellWord(opts.specPath), ...Object.entries(inputs).map(([k, v]) => `--${k} ${v}`), ...args].join(" "),
        };
  const checkout = { uses: pin(ACTIONS.checkout), with: { "persist-credentials": false } };
  const qemu = { uses: pin(ACTIONS.setupQemu), if: "matrix.qemu", with: { image: BINFMT_IMAGE } };
  // the gha cache reads the runner's ACTIONS_RUNTIME_TOKEN and cache URL, which GitHub gives actions
  // but not `run:` steps: multiarch run as a command line needs them exported (the action has them)
  const runtime = opts.install !== "action" && usesGhaCache(spec) ? [{ uses: pin(ACTIONS.runtime) }] : [];
  const matrixJob = (pushes: boolean) => ({
    "runs-on": expr("matrix.runner"),
    "timeout-minutes": 60,
    permissions: githubPermissions(spec, pushes),
    strategy: { "fail-fast": pushes, matrix: { include } },
    ...(Object.keys(githubEnv(spec, pushes)).length ? { env: githubEnv(spec, pushes) } : {}),
  });
  const ghcrLogin = spec.registries.some((r) => r.host === GHCR && !r.username)
    ? [
        {
          name: "log in to ghcr.io with the workflow's token",
          run: 'echo "$GHCR_TOKEN" | docker login ghcr.io --username "$GHCR_USER" --password-stdin',
          env: { GHCR_USER: expr("github.actor"), GHCR_TOKEN: expr("secrets.GITHUB_TOKEN") },
        },
      ]
    : [];
  const shardDir = shardDirOf(opts.specPath);
  const workflow = {
    name: "multiarch",
    on: { push: { branches: [branch], tags: ["*"] }, pull_request: null },
    // jobs say what they need; nothing else is granted
    permissions: {},
    // every publishing run of the repository in one group, never cancelled: a tag and the default branch's
    // push of the same commit take turns moving shared tags (latest). Each pull request (of this workflow
    // file) has its own group, where a newer push cancels the older run.
    concurrency: {
      group: expr("github.event_name == 'pull_request' && github.workflow_ref || 'multiarch-publish'"),
      "cancel-in-progress": expr("github.event_name == 'pull_request'"),
    },
    jobs: {
      check: {
        name: `check ${expr("matrix.platform")}`,
        if: "github.event_name == 'pull_request'",
        ...matrixJob(false),
        steps: [checkout, ...install, qemu, ...runtime, multiarch(undefined, "apply", ["--no-push"], { platform: expr("matrix.platform") })],
      },
      shard: {
        name: `shard ${expr("matrix.platform")}`,
        if: "github.event_name != 'pull_request'",
        ...matrixJob(true),
        steps: [
          checkout,
          ...install,
          qemu,
          ...runtime,
          ...ghcrLogin,
          multiarch(undefined, "apply", [], { shard: expr("matrix.platform") }),
          {
            uses: pin(ACTIONS.upload),
            with: { name: `shard-${expr("matrix.slug")}`, path: `${shardDir}/${expr("matrix.slug")}.json`, "if-no-files-found": "error", "retention-days": 1 },
          },
        ],
      },
      merge: {
        needs: "shard",
        "runs-on": "ubuntu-24.04",
        "timeout-minutes": 30,
        permissions: githubPermissions(spec, true, true),
        ...(Object.keys(githubEnv(spec, true)).length ? { env: githubEnv(spec, true) } : {}),
        // what was published, for jobs that sign or attest it (bake's metadata keys)
        outputs: { metadata: expr("steps.merge.outputs.metadata") },
        steps: [
          checkout,
          ...install,
          ...ghcrLogin,
          // the merge signs what it publishes
          ...(spec.sign ? [{ uses: pin(ACTIONS.cosign) }] : []),
          { uses: pin(ACTIONS.download), with: { pattern: "shard-*", path: `${expr("runner.temp")}/shards`, "merge-multiple": true } },
          multiarch("merge", "merge", opts.install === "action" ? [] : ["--metadata-file", `${expr("runner.temp")}/multiarch-metadata.json`], {
            from: `${expr("runner.temp")}/shards`,
          }),
        ],
      },
    },
  };
  return `# Generated by \`multiarch ci github --install ${opts.install}\` from ${opts.specPath}; generate it again after changing platforms.
# Pull requests: each platform builds, verifies and tests on a native runner and pushes nothing.
# Pushes to ${branch} and tags: each platform is pushed by \`multiarch apply --shard\` (no tag moves), then the
# merge job puts the shards together by digest and moves every tag at once.
${stringify(workflow, { lineWidth: 0, aliasDuplicateObjects: false }).replace("pull_request: null", "pull_request:")}`;
}

export function gitlabPipeline(spec: Spec, opts: CiOptions): string {
  const cli =
    opts.install === "workspace"
      ? opts.packageManager === "npm"
        ? "npx --no-install multiarch"
        : "pnpm exec multiarch"
      : `npx --yes @multiarch/cli@${opts.version}`;
  const matrix = platformsOf(spec).map((p) => {
    const r = GITHUB_RUNNERS[platformParts(p).arch] ?? OTHER;
    // QEMU: the architecture binfmt installs a handler for, empty where the runner is native
    return {
      PLATFORM: p,
      SLUG: platformSlug(p),
      RUNNER: GITLAB_RUNNERS[platformParts(p).arch] ?? GITLAB_DEFAULT_RUNNER,
      QEMU: r.qemu ? platformParts(p).arch : "",
    };
  });
  // never in a merge request's pipeline, whatever else it sets
  const publishing = [
    { if: '$CI_PIPELINE_SOURCE != "merge_request_event" && $CI_COMMIT_TAG' },
    { if: '$CI_PIPELINE_SOURCE != "merge_request_event" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' },
  ];
  const shardDir = shellWord(shardDirOf(opts.specPath));
  const specPath = shellWord(opts.specPath);
  const pipeline = {
    workflow: { rules: [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }, { if: "$CI_COMMIT_TAG" }, { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" }] },
    stages: ["build", "merge"],
    ".multiarch": {
      image: GITLAB_IMAGES.cli,
      services: [GITLAB_IMAGES.engine],
      // the docker image's entrypoint points DOCKER_HOST at the service over TLS when this is set
      variables: { DOCKER_TLS_CERTDIR: "/certs" },
      timeout: "1h",
      before_script: [
        // the docker image has no Node; a runner that has one (a shell runner) keeps its own
        "command -v node >/dev/null || apk add --no-cache nodejs npm",
        ...(opts.install === "workspace" ? [opts.packageManager === "npm" ? "npm ci" : "corepack enable && pnpm install --frozen-lockfile"] : []),
        `if [ -n "$QEMU" ]; then docker run --privileged --rm ${BINFMT_IMAGE} --install "$QEMU"; fi`,
      ],
    },
    check: {
      extends: ".multiarch",
      stage: "build",
      rules: [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }],
      interruptible: true,
      parallel: { matrix },
      tags: ["$RUNNER"],
      script: [`${cli} apply -f ${specPath} --platform "$PLATFORM" --no-push`],
    },
    shard: {
      extends: ".multiarch",
      stage: "build",
      rules: publishing,
      parallel: { matrix },
      tags: ["$RUNNER"],
      script: [`${cli} apply -f ${specPath} --shard "$PLATFORM"`],
      artifacts: { paths: [`${shardDirOf(opts.specPath)}/$SLUG.json`], expire_in: "1 day" },
    },
    merge: {
      extends: ".multiarch",
      stage: "merge",
      needs: ["shard"],
      rules: publishing,
      // one merge at a time in the project: a tag's pipeline and the default branch's do not move shared
      // tags (latest) at once; the shards before it still build in parallel
      resource_group: "multiarch-publish",
      // the merge signs what it publishes: cosign from Alpine's packages, keyless with GitLab's OIDC token
      ...(spec.sign?.mode === "keyless" ? { id_tokens: { SIGSTORE_ID_TOKEN: { aud: "sigstore" } } } : {}),
      script: [
        ...(spec.sign ? ["command -v cosign >/dev/null || apk add --no-cache cosign"] : []),
        `${cli} merge -f ${specPath} --from ${shardDir} --metadata-file multiarch-metadata.json`,
      ],
      artifacts: { paths: ["multiarch-metadata.json"] },
    },
  };
  return `# Generated by \`multiarch ci gitlab --install ${opts.install}\` from ${opts.specPath}; generate it again after changing platforms.
# Merge requests: each platform builds, verifies and tests on a native runner and pushes nothing.
# The default branch and tags: each platform is pushed by \`multiarch apply --shard\` (no tag moves), then the
# merge job puts the shards together by digest and moves every tag at once. Registry credentials come from
# CI/CD variables of the names the spec reads.
${stringify(pipeline, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
