import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { githubWorkflow, gitlabPipeline, INSTALLS, type Install, PINNABLE_ACTIONS } from "@multiarch/compiler";
import { makeDir } from "@multiarch/executor";
import { type Diagnostic, diag } from "@multiarch/spec";
import pkg from "../../package.json" with { type: "json" };
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { displayPath } from "../format.ts";
import { loadSpecOf } from "../run/load-spec.ts";

const PROVIDERS = { github: ".github/workflows/multiarch.yml", gitlab: ".gitlab-ci.yml" } as const;

/** owner/name of the repository holding action.yml, from the package's repository URL. */
export const ACTION_REPO = pkg.repository.url.replace(/^.*github\.com\//, "").replace(/\.git$/, "");

/** The repository's own package manager when its root package.json lists @multiarch/cli; else none. */
export function workspaceOf(root: string): "pnpm" | "npm" | undefined {
  let manifest: { dependencies?: object; devDependencies?: object };
  try {
    manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  } catch {
    return undefined;
  }
  if (!(["dependencies", "devDependencies"] as const).some((k) => manifest[k] && "@multiarch/cli" in manifest[k])) return undefined;
  return existsSync(join(root, "pnpm-lock.yaml")) ? "pnpm" : "npm";
}

export default async function ci({ values, io, positionals }: CommandContext<"ci">): Promise<Outcome> {
  const provider = positionals[0];
  if (positionals.length !== 1 || (provider !== "github" && provider !== "gitlab"))
    return {
      exit: EXIT.usage,
      message: `${provider === undefined ? "say which CI" : positionals.length > 1 ? "name one CI" : `no generator for ${provider}`}: multiarch ci github, or multiarch ci gitlab`,
    };
  const asked = values.install;
  if (asked !== undefined && !(INSTALLS as readonly unknown[]).includes(asked))
    return { exit: EXIT.usage, message: `--install must be one of ${INSTALLS.join(", ")}` };
  if (asked === "action" && provider === "gitlab") return { exit: EXIT.usage, message: "--install action is GitHub's; on GitLab use npx or workspace" };
  // GitHub's alone: GitLab's pipeline publishes from $CI_DEFAULT_BRANCH, and uses no actions
  if (provider === "gitlab" && values.branch !== undefined)
    return { exit: EXIT.usage, message: "--branch is GitHub's: GitLab's pipeline publishes from the project's default branch ($CI_DEFAULT_BRANCH)" };
  if (provider === "gitlab" && values.pin?.length) return { exit: EXIT.usage, message: "--pin pins GitHub actions: GitLab's pipeline uses none" };
  const pins: Record<string, string> = {};
  for (const p of values.pin ?? []) {
    const m = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40})$/.exec(p);
    if (!m) return { exit: EXIT.usage, message: `--pin ${p}: write OWNER/ACTION@COMMIT, the full 40-character commit` };
    // an action the workflow never uses (a typo: actions/chekout) would pin nothing, and leave the real one unpinned
    if (!PINNABLE_ACTIONS.includes(m[1]!))
      return { exit: EXIT.usage, message: `--pin ${m[1]}: the workflow uses no such action; it may use ${[...PINNABLE_ACTIONS].sort().join(", ")}` };
    pins[m[1]!] = m[2]!;
  }
  const loaded = loadSpecOf(values, io);
  if (!loaded.ok) return { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings };
  const spec = loaded.spec;
  const workspace = workspaceOf(spec.root);
  const install = (asked as Install | undefined) ?? (workspace ? "workspace" : provider === "github" ? "action" : "npx");
  if (install === "workspace" && !workspace)
    return { exit: EXIT.usage, message: `--install workspace: ${displayPath(join(spec.root, "package.json"), io.cwd)} does not list @multiarch/cli` };
  const specPath = relative(spec.root, spec.file).split(sep).join("/");
  // GitHub expands ${{ … }} in a run: line before any shell reads it, and no quoting escapes it
  if (provider === "github" && specPath.includes("${{"))
    return { exit: EXIT.usage, message: `the spec's path ${specPath} holds \${{, which GitHub would run as an expression: rename the folder` };
  const opts = {
    specPath,
    install,
    version: pkg.version,
    actionRepo: ACTION_REPO,
    ...(workspace ? { packageManager: workspace } : {}),
    ...(values.branch !== undefined ? { defaultBranch: values.branch } : {}),
    pins,
  };
  const text = provider === "github" ? githubWorkflow(spec, opts) : gitlabPipeline(spec, opts);
  const out = values.out !== undefined ? resolve(io.cwd, values.out) : join(spec.root, PROVIDERS[provider]);
  if (existsSync(out) && !values.force) return { exit: EXIT.usage, message: `${displayPath(out, io.cwd)} exists; pass --force to replace it` };
  makeDir(dirname(out));
  writeFileSync(out, text);
  const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
  io.stderr.write(`wrote ${displayPath(out, io.cwd)} (${lines} lines, multiarch installed by ${install})\n`);
  // a credential or signing key read from a file: the pipeline passes variables and secrets, it creates no file
  const uncreated = (at: Pick<Diagnostic, "file" | "line" | "col">, what: string, file: string, hint: string) =>
    diag("path-missing", at, `${what} from ${file}, which the generated pipeline does not create`, { hint, severity: "warning" });
  const fromFiles = [
    ...spec.registries.flatMap((r) =>
      [r.username, r.password].flatMap((c) =>
        c?.file
          ? [
              uncreated(
                r.at,
                `registry ${r.name} reads a credential`,
                c.file,
                "read it from an env variable (username: { env: NAME }), which the pipeline passes from CI's variables and secrets",
              ),
            ]
          : [],
      ),
    ),
    // the private key signs in the merge job; committing it would give it to everyone who can read the repository
    ...(spec.sign?.mode === "key" && spec.sign.key.file
      ? [
          uncreated(
            spec.sign.at,
            "sign: the merge job reads the private key",
            spec.sign.key.file,
            "read it from a secret: key: { env: COSIGN_KEY } (the key's PEM text), which the pipeline passes like COSIGN_PASSWORD",
          ),
        ]
      : []),
  ];
  // the pipeline runs on git tags too; tags made from variables alone publish the variable's value there
  const byVariables = spec.images.filter(
    (i) => i.publish && i.tags.some((t) => !t.each && t.uses.length > 0) && !i.tags.some((t) => /\bgit\.tag\b/.test(t.source)),
  );
  if (byVariables.length)
    io.stderr.write(
      `note: on a git tag's run the pipeline tags ${byVariables.map((i) => i.name).join(", ")} from the spec's variables (CI variables, else their defaults), not from the git tag: to publish v2.0.0 as 2.0.0, write tags from it, e.g. "{{semver git.tag "{{version}}"}}" (README: Tag rules)\n`,
    );
  return { exit: EXIT.ok, warnings: [...loaded.warnings, ...fromFiles], data: { files: [out] } };
}
