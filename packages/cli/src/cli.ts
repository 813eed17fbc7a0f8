// argv -> exit code. The only place that decides what is printed and how the process ends.
// Command modules load lazily, so `validate` never pays for the executor and `--help` for nothing.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { closest } from "@multiarch/plan/suggest";
import pkg from "../package.json" with { type: "json" };
import { type CommandDef, EXIT, JSON_VERSION, type OptionSpec, type Outcome, type Values } from "./context.ts";
import { type Io, printDiagnostics } from "./format.ts";

const common: Record<string, OptionSpec> = {
  file: { type: "string", short: "f", value: "FILE", description: "spec file (default: multiarch.yaml here or in a folder above)" },
  json: { type: "boolean", description: "print one JSON document on stdout (schemas/report.schema.json); text goes to stderr" },
  help: { type: "boolean", short: "h", description: "this help" },
};
const set: OptionSpec = {
  type: "string",
  multiple: true,
  value: "IMAGE.KEY=VALUE",
  description:
    "override the spec for one image, or * for all (repeatable; as bake's --set): args.NAME, labels.NAME, annotations.NAME, tags, platforms, cache.type|mode|registry|dir|shared|ignoreError, attest.provenance|sbom; recorded in the plan",
};
const selection: Record<string, OptionSpec> = {
  out: { type: "string", short: "o", value: "DIR", description: "output folder (default: .multiarch next to the spec)" },
  strategy: { type: "string", value: "S", description: "auto (default: from the spec, else by what the engine can do), bake, manifest" },
  image: { type: "string", multiple: true, value: "NAME", description: "only this image and what it builds FROM (repeatable); dependencies are not published" },
  group: { type: "string", multiple: true, value: "NAME", description: "only the images of this group (repeatable; with --image: both)" },
  platform: {
    type: "string",
    multiple: true,
    commaList: true,
    value: "P",
    description: "only this platform (repeatable, or P,Q as docker's --platform), e.g. linux/arm64; a subset is never published",
  },
  load: { type: "boolean", description: "build, verify and test, then load the images for this machine's platform into the engine; publish nothing" },
  "no-publish": { type: "boolean", description: "everything up to publish (build, push staging refs, verify, test); no user tag moves" },
  "no-push": {
    type: "boolean",
    description: "build each image as an OCI archive (DIR/oci), verify and test it here; no registry, no credentials (pull requests)",
  },
  since: { type: "string", value: "REF", description: "only images whose inputs differ from what commit REF would build, and their dependents" },
};
const metadataFile: OptionSpec = {
  type: "string",
  value: "FILE",
  description: "write per image the index digest, each platform's digest and the tags holding it (bake's metadata keys); also GITHUB_OUTPUT under Actions",
};
const reportFile: OptionSpec = {
  type: "string",
  value: "FILE",
  description: "write a self-contained HTML report (per image and platform, a timeline, tags), on failure too",
};
const EXIT_CODES = `Exit codes: 0 success, 1 spec or usage error (nothing run), 2 a build, push, login or test failed,
3 verification failed, 4 the engine cannot run the plan, 5 another run of this spec holds the lock,
70 internal error, 130 interrupted (children stopped; the report lists each tag that had already moved).`;

export const COMMANDS: Record<string, CommandDef> = {
  validate: {
    summary: "check multiarch.yaml and report every problem with its line",
    about: `Checks everything plan checks: YAML, schema, platforms, references, templates, paths, dependencies,
and the environment (variables, git facts, rendered tags, secret sources). Runs no docker command.
Prints FILE:LINE:COL: message with a hint and the lines around it.`,
    options: { ...common, set, static: { type: "boolean", description: "only what the file itself says: no environment, no git (for editors)" } },
    footer: "Exit codes: 0 valid (warnings may be printed), 1 invalid.",
    load: () => import("./commands/validate.ts"),
  },
  plan: {
    summary: "write the bake file, plan.json and per-arch plans; print a summary",
    about: `Compiles the spec into exactly what apply will run, and writes into DIR:
  docker-bake.json          buildx bake file: one target per image, group "default"
  docker-bake.publish.json  override that points pushes at staging tags (registry images)
  plan.json                 stages of steps, each a program and an argument array
  plans/<os>-<arch>.json    each platform's share, for a native machine of that arch`,
    options: { ...common, ...selection, set },
    footer: "Exit codes: 0 written, 1 spec or usage error (nothing written), 5 an apply of this spec is running.",
    load: () => import("./commands/plan.ts"),
  },
  apply: {
    summary: "plan, then build, push, verify, test and publish",
    about: `Compiles the spec (or reads a saved plan) and runs it:
  login    docker login for registries with credentials (password through stdin)
  build    docker buildx bake (or per-arch docker build), pushing staging refs only
  verify   each index this run pushed (by digest) must hold exactly the requested platforms
  test     the image's test.run on every platform, from the verified digest
  publish  user tags point at the verified index, one at a time, latest last
All or nothing by default: a failure stops the run before publish, and no image is published.
--continue: a failed image holds back only itself and the images built FROM it (skipped); every other
image is built, verified, tested and published, and the exit code still says what failed. A run
narrowed by --platform, --no-publish or --load publishes nothing. Before building, each image's inputs
are hashed (Dockerfile, context after .dockerignore, build definition, base image digests,
dependencies) and compared with what its tags hold: an image whose tags all hold its inputs' result is
"up to date" and runs nothing.`,
    options: {
      ...common,
      ...selection,
      set,
      plan: { type: "string", value: "FILE", description: "run a plan.json or plans/<platform>.json written by multiarch plan" },
      concurrency: { type: "string", value: "N", description: "builds and pushes at once (default: cores); reads, tests and tags run at least 8 wide" },
      rebuild: { type: "boolean", description: "build every image, even those whose tags already hold the result of their inputs" },
      continue: {
        type: "boolean",
        description: "publish every image whose build, checks and tests passed, and whose image: dependencies did, when others fail (default: all or nothing)",
      },
      shard: {
        type: "string",
        multiple: true,
        commaList: true,
        value: "P",
        description: "build, push and check only platform P's share (repeatable, or P,Q) and write DIR/shards/<P>.json for multiarch merge; no tag moves",
      },
      "metadata-file": metadataFile,
      report: reportFile,
      explain: { type: "boolean", description: "say per image why it is up to date, reused or built (which inputs changed)" },
      timings: {
        type: "boolean",
        description: "print where the time went: reading the spec, the engine, hashing inputs, registry reads, then build, push, verify, test, publish",
      },
      "dry-run": { type: "boolean", description: "print the commands, run nothing" },
      verbose: { type: "boolean", short: "v", description: "stream the engine's output (secrets redacted)" },
    },
    footer: EXIT_CODES,
    load: () => import("./commands/apply.ts"),
  },
  merge: {
    summary: "put the shards of several machines (apply --shard) together and publish",
    about: `Reads the shard files that apply --shard wrote on each machine, checks they belong to this spec's
plan at this commit and cover every planned platform of every image, then per image and registry:
  merge    docker buildx imagetools create of the per-platform images, by digest, under the staging tag
  verify   the index holds exactly the planned platforms, each the very image its shard pushed
  publish  user tags point at the verified index, one at a time, latest last
A missing or foreign shard moves no tag and names what is missing.`,
    options: {
      ...common,
      out: selection.out!,
      from: { type: "string", multiple: true, value: "PATH", description: "shard files or folders holding them (repeatable; default: DIR/shards)" },
      set: { ...set, description: "the --set overrides the shards were built with (their plan must be the same)" },
      concurrency: { type: "string", value: "N", description: "steps at once (default: cores; light steps at least 8)" },
      "metadata-file": metadataFile,
      report: reportFile,
      "dry-run": { type: "boolean", description: "print the commands, run nothing" },
      verbose: { type: "boolean", short: "v", description: "stream the engine's output (secrets redacted)" },
    },
    footer: EXIT_CODES,
    load: () => import("./commands/merge.ts"),
  },
  promote: {
    summary: "point the spec's tags for a version at that version's index (roll back), or copy it between registries",
    positionals: "VERSION",
    about: `Renders the spec's tags with its version variable set to VERSION (tags made from git.* are left out:
they name a build) and, without building anything, per image and repository:
  verify     the index VERSION's tag holds (the first tag that is not latest) has exactly the planned platforms
  signature  with sign: in the spec, it carries a signature the spec's key verifies (an unsigned one is refused)
  copy       --from/--to: docker buildx imagetools create of that index, by digest, into the --to registry;
             verified there to be the very same index, then signed there
  publish    as apply: each tag to the verified digest, one at a time, latest last; tags that already
             hold it are left alone
After a bad 1.5.0, \`multiarch promote 1.4.2\` moves latest, 1 and 1.4 back to 1.4.2's index.`,
    options: {
      ...common,
      from: { type: "string", value: "REGISTRY", description: "copy from this registry of the spec (with --to), e.g. staging" },
      to: { type: "string", value: "REGISTRY", description: "into this registry of the spec, and move its tags there (with --from)" },
      variable: { type: "string", value: "NAME", description: "the variable VERSION is given to (default: version)" },
      image: { type: "string", multiple: true, value: "NAME", description: "only this image (repeatable; default: every published image)" },
      concurrency: { type: "string", value: "N", description: "steps at once (default: cores; light steps at least 8)" },
      "dry-run": { type: "boolean", description: "print the commands, run nothing" },
      verbose: { type: "boolean", short: "v", description: "stream the tools' output (secrets redacted)" },
    },
    footer: EXIT_CODES,
    load: () => import("./commands/promote.ts"),
  },
  graph: {
    summary: "draw the images, their platforms and registries, and what builds FROM what",
    about: `Prints the spec's images as nodes (platforms, registries; internal images dashed, groups as boxes) and
its image: links as edges. Mermaid renders in GitHub markdown as it is; dot for Graphviz; json for tools.`,
    options: {
      file: common.file!,
      format: { type: "string", value: "F", description: "mermaid (default), dot, or json" },
      image: selection.image!,
      group: selection.group!,
      json: common.json!,
      help: common.help!,
    },
    footer: "Exit codes: 0 printed, 1 spec or usage error.",
    load: () => import("./commands/graph.ts"),
  },
  doctor: {
    summary: "check this machine can apply the spec (docker, buildx, QEMU, builder, registries, base images)",
    about: `Checks, each ok / warning / failed with what was found and the fix: the docker CLI (>= 19.03) and
engine (which DOCKER_HOST / context), buildx (experimental mode on old CLIs), the kernel (>= 4.8),
binfmt_misc and a QEMU handler with the F flag for every foreign platform the spec asks for (and QEMU's
version, update-binfmts >= 2.1.7), the builder (exists, driver, platforms, what strategy auto picks), each
registry (reachable over its scheme, credentials present and accepted; never printed), each external
base image (offers every platform its image asks for), cosign when the spec signs, and Dockerfiles that
compile under emulation or write an architecture into a download URL.
--fix makes the safe, local repairs and says each command first: mount binfmt_misc, register the
installed QEMU handlers with the F flag, create the builder the spec defines. It never installs packages.`,
    options: { ...common, fix: { type: "boolean", description: "make the safe, local repairs (each said before it runs), then check again" } },
    footer: "Exit codes: 0 the spec can be applied here (warnings may be printed), 1 a check failed (or a spec error).",
    load: () => import("./commands/doctor.ts"),
  },
  inspect: {
    summary: "show the platforms, digests and sizes a pushed image holds (--expect for CI)",
    positionals: "REF",
    about: `Reads REF over the registry API (no engine needed; docker's stored credentials are used) and prints
each platform's image with its digest and size (manifest, config and layers), attestations apart.
--expect linux/amd64,linux/arm64 exits 3 unless the image holds exactly those platforms; --key cosign.pub
exits 3 unless cosign verifies REF's signature with that key (transparency log not required).`,
    options: {
      expect: { type: "string", value: "P,Q", description: "the platforms the image must hold, exactly (exit 3 otherwise)" },
      key: {
        type: "string",
        value: "KEY",
        description: "also check REF carries a cosign signature this public key verifies (a path, or env://NAME); exit 3 otherwise",
      },
      insecure: { type: "boolean", description: "plain HTTP to this registry (loopback registries always are)" },
      json: common.json!,
      help: common.help!,
    },
    footer: "Exit codes: 0 read (and as expected), 1 usage error, 2 cannot be read, 3 not the expected platforms.",
    load: () => import("./commands/inspect.ts"),
  },
  import: {
    summary: "write a multiarch.yaml from a bake file (docker buildx bake --print)",
    positionals: "[TARGET|GROUP]...",
    about: `Takes bake's own arguments, runs docker buildx bake --print with them (variables, functions, inherits
and matrix resolved by buildx) and writes an equivalent multiarch.yaml: shared platforms, args and labels
lifted into defaults, target: contexts as image: links, untagged targets that others build FROM (or
output=type=cacheonly) as internal images, registries and repositories factored out of the tags, groups
kept. What it cannot carry is printed as a warning and listed at the top of the file.`,
    options: {
      file: { type: "string", short: "f", multiple: true, value: "FILE", description: "bake file (repeatable; default: bake's own lookup)" },
      set: { type: "string", multiple: true, value: "K=V", description: "override a target value, as bake --set (repeatable)" },
      out: { type: "string", short: "o", value: "PATH", description: "where to write the spec (default: multiarch.yaml here)" },
      force: { type: "boolean", description: "replace an existing file" },
      json: common.json!,
      help: common.help!,
    },
    footer: "Exit codes: 0 written, 1 usage error, 2 written but it does not validate yet (edit it), 4 bake --print failed.",
    load: () => import("./commands/import.ts"),
  },
  ci: {
    summary: "write a CI workflow: a native job per platform (apply --shard), then a merge job",
    positionals: "github|gitlab",
    about: `Writes the CI configuration that builds each planned platform on its own native runner (QEMU only
where none exists; 32-bit arm on an arm64 runner). Pull/merge requests build, verify and test each
platform and push nothing (apply --no-push: no secret needed, forks work). The default branch and tags
push each platform with apply --shard, upload the shard files, and merge them in a last job with
multiarch merge, the only job that moves tags. Each job gets the least permissions (packages: write
for ghcr.io) and a timeout; credentials come from CI secrets and variables of the names the spec reads
(ghcr.io: the workflow's own token).
  github   .github/workflows/multiarch.yml
  gitlab   .gitlab-ci.yml (parallel: matrix, docker-in-docker)`,
    options: {
      file: common.file!,
      out: { type: "string", short: "o", value: "PATH", description: "where to write it (default: the provider's usual path in the repository)" },
      install: {
        type: "string",
        value: "HOW",
        description:
          "how jobs get multiarch: workspace (the repository's devDependency), npx (the npm package), action (GitHub: this repository's action); default: workspace when package.json lists @multiarch/cli, else action on GitHub, npx on GitLab",
      },
      branch: { type: "string", value: "NAME", description: "GitHub: the default branch, which publishes (default: main)" },
      pin: { type: "string", multiple: true, value: "ACTION@SHA", description: "use this commit of an action instead of its major version (repeatable)" },
      force: { type: "boolean", description: "replace an existing file" },
      json: common.json!,
      help: common.help!,
    },
    footer: "Exit codes: 0 written, 1 spec or usage error (nothing written).",
    load: () => import("./commands/ci.ts"),
  },
};

const HELP = `multiarch: one multiarch.yaml in, multi-arch images out.

Usage: multiarch <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(10)}${c.summary}`)
  .join("\n")}

Run multiarch <command> --help (or multiarch help <command>) for its options.
${EXIT_CODES}`;

const flagOf = (name: string, o: OptionSpec) => `${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` ${o.value}` : ""}`;

export function commandHelp(name: string): string {
  const cmd = COMMANDS[name]!;
  const usage = `multiarch ${name} ${cmd.positionals ? `${cmd.positionals} ` : ""}${Object.entries(cmd.options)
    .filter(([n]) => n !== "help")
    .map(([n, o]) => `[--${n}${o.value ? ` ${o.value}` : ""}]${o.multiple ? "..." : ""}`)
    .join(" ")}`;
  const flags = Object.entries(cmd.options).map(([n, o]) => [flagOf(n, o), o.description] as const);
  const width = Math.max(...flags.map(([f]) => f.length)) + 2;
  return [`usage: ${usage}`, "", cmd.about, "", ...flags.map(([f, d]) => `  ${f.padEnd(width)}${d}`), ...(cmd.footer ? ["", cmd.footer] : [])].join("\n");
}

/**
 * -o=DIR as --out=DIR: parseArgs reads a short option's "=value" as a value starting with "=" (a folder
 * named "=", a file "=x"). Only before "--", and only for short options that take a value.
 */
function splitShortEquals(args: readonly string[], options: Record<string, OptionSpec>): string[] {
  const end = args.indexOf("--");
  return args.flatMap((a, i) => {
    const m = (end === -1 || i < end) && /^-([A-Za-z])=(.*)$/s.exec(a);
    return m && Object.values(options).some((o) => o.short === m[1] && o.type === "string") ? [`-${m[1]}`, m[2]!] : [a];
  });
}

/** Comma lists (--platform linux/amd64,linux/arm64) as the repeated flag. */
function splitCommaLists(values: Values, options: Record<string, OptionSpec>): Values {
  const out = { ...values };
  for (const [n, o] of Object.entries(options)) {
    const v = out[n];
    if (o.commaList && Array.isArray(v)) out[n] = v.flatMap((x) => x.split(",").map((p) => p.trim())); // an empty item stays, to be refused as a platform
  }
  return out;
}

/** node's parseArgs messages name its internals; say what the user typed and what would work. */
function usageMessage(e: unknown, options: Record<string, OptionSpec>): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  const flag = /'(-{1,2}[^' ,]+)/.exec(msg)?.[1];
  const name = flag?.replace(/^-+/, "");
  const known = name ? Object.entries(options).find(([n, o]) => n === name || o.short === name) : undefined;
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && known) {
    const [n, o] = known;
    return o.type === "string" ? `--${n} needs a value: ${flagOf(n, o).trim()}` : `--${n} takes no value`;
  }
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && name) {
    const guess = closest(name, Object.keys(options));
    return `unknown option ${flag}${guess ? `; did you mean --${guess}?` : ""}`;
  }
  if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${/'([^']*)'/.exec(msg)?.[1] ?? ""}; options start with --`.trim();
  return msg.split("\n")[0]!;
}

/** A command's words after its name, read through its option table (throws parseArgs' errors). */
export function parseCommandArgs(cmd: CommandDef, args: readonly string[]): { values: Values; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(cmd.options).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  const parsed = parseArgs({
    args: splitShortEquals(args, cmd.options),
    options: options as NonNullable<ParseArgsConfig["options"]>,
    strict: true,
    allowPositionals: cmd.positionals !== undefined,
  });
  return { values: splitCommaLists(parsed.values as Values, cmd.options), positionals: parsed.positionals };
}

export async function run(argv: readonly string[], io: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const [first, ...rest] = argv;
  const json = argv.includes("--json");
  const name = first === "help" && rest[0] && !rest[0].startsWith("-") ? rest[0] : first;
  const finish = (command: string, o: Outcome): number => {
    if (json) {
      const doc = {
        version: JSON_VERSION,
        command,
        ok: o.exit === 0,
        exitCode: o.exit,
        ...(o.message ? { message: o.message } : {}),
        errors: o.errors ?? [],
        warnings: o.warnings ?? [],
        ...o.data,
      };
      io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    }
    printDiagnostics([...(o.errors ?? []), ...(o.warnings ?? [])], io);
    if (o.message) io.stderr.write(`multiarch ${command}: ${o.message}\n`);
    return o.exit;
  };
  if (name === undefined || name === "-h" || name === "--help" || (name === "help" && first === name)) {
    io.stdout.write(`${HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-V") {
    io.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    const guess = closest(name, Object.keys(COMMANDS));
    if (!json) io.stderr.write(`${HELP}\n\n`);
    return finish(name, { exit: EXIT.usage, message: `unknown command "${name}"${guess ? `; did you mean ${guess}?` : ""}` });
  }
  if (first === "help") {
    io.stdout.write(`${commandHelp(name)}\n`);
    return EXIT.ok;
  }
  let values: Values;
  let positionals: string[] = [];
  try {
    ({ values, positionals } = parseCommandArgs(cmd, rest));
  } catch (e) {
    if (!json) io.stderr.write(`usage: multiarch ${name} [options]; multiarch ${name} --help lists them\n`);
    return finish(name, { exit: EXIT.usage, message: usageMessage(e, cmd.options) });
  }
  if (values.help) {
    io.stdout.write(`${commandHelp(name)}\n`);
    return EXIT.ok;
  }
  try {
    const mod = await cmd.load();
    return finish(name, await mod.default({ values, io, signal, json, positionals }));
  } catch (e) {
    return finish(name, {
      exit: EXIT.internal,
      message: `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\nThis is a bug in multiarch; please report it with the command you ran.`,
    });
  }
}
